"""The GAN augmentation page in AppTest: sample -> gallery + downloads, errors, quality tab."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def gan_page(tmp_path, use_cards):
    from tests.unit.test_synthesis_helpers import write_tiny_generator

    write_tiny_generator(tmp_path / "cards")
    use_cards(tmp_path / "cards")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    at.switch_page("pages/gan_augmentation.py").run()
    return at


def test_page_samples_and_offers_downloads(gan_page):
    at = gan_page
    assert not at.exception
    at.selectbox(key="gan.model").set_value("tiny-cgan").run()
    at.selectbox(key="gan.label").set_value("pneumonia")
    at.number_input(key="gan.n").set_value(6)
    at.button(key="gan.generate").click().run()
    assert not at.exception and not at.error
    samples = at.session_state["gan.samples"]
    assert len(samples) == 6 and set(samples.names()) == {"pneumonia"}
    assert at.session_state["gan.distances"] is not None  # tiny-cgan ships a reference.npz
    keys = {d.key for d in at.get("download_button")}
    assert {"gan.dl_zip", "gan.dl_npz"} <= keys
    assert any("nearest training image" in c.value for c in at.caption)
    assert at.multiselect(key="gan.aug_kinds").value == ["flip", "rotation", "elastic", "intensity"]


def test_start_without_images_shows_an_error(gan_page):
    at = gan_page
    at.button(key="gan.train_start").click().run()
    assert not at.exception
    assert any("choose a zip" in e.value for e in at.error)
    assert any("Limits" in i.value for i in at.info)


def test_quality_tab_says_when_not_measured(gan_page):
    at = gan_page
    at.selectbox(key="gan.model_quality").set_value("tiny-cgan")
    at.run()
    assert not at.exception
    assert any("test fixture" in i.value for i in at.info)
    assert any("augmentation study has not been run" in i.value for i in at.info)


def _job_view_app() -> None:
    import streamlit as st

    from core.ui.gan.panel import job_view

    job_view(st.session_state["job_id"])


def test_finished_training_names_the_model_not_a_server_path():
    """Issue 20 item 6: the success message says the model's name and where to find it in the app."""
    from core.synthesis import jobs
    from tests.unit.test_synthesis_jobs import class_zip

    data = jobs.read_class_zip(class_zip(junk=False), size=32)
    job_id = jobs.create_job("audit-gan", data, size=32, minutes=1, steps=10)
    folder = jobs.jobs_root() / job_id
    model_dir = jobs.user_models_dir() / "audit-gan"
    jobs._write_status(folder, {"state": "finished", "step": 10, "message": "done", "model_dir": str(model_dir)})
    at = AppTest.from_function(_job_view_app, default_timeout=60)
    at.session_state["job_id"] = job_id
    at.run()
    assert not at.exception, at.exception
    text = " ".join(s.value for s in at.success) + " ".join(c.value for c in at.caption)
    assert "audit-gan" in text and "Sample & download" in text, text
    assert str(jobs.user_models_dir()) not in text and "/" not in " ".join(s.value for s in at.success), text


def test_downloads_say_they_hold_the_samples_shown(gan_page):
    """Issue 20 item 7: the zip holds what the gallery shows, and the page says so."""
    at = gan_page
    at.selectbox(key="gan.model").set_value("tiny-cgan").run()
    at.selectbox(key="gan.label").set_value("all")
    at.number_input(key="gan.n").set_value(5)
    at.number_input(key="gan.seed").set_value(3)
    at.button(key="gan.generate").click().run()
    assert not at.exception and not at.error
    labels = {d.key: d.proto.label for d in at.get("download_button")}
    assert "5 samples" in labels["gan.dl_zip"] and "5 samples" in labels["gan.dl_npz"], labels
    assert any("5 samples" in c.value and "seed 3" in c.value and "replaces" in c.value for c in at.caption)
    assert len(at.session_state["gan.samples"]) == 5



def test_gallery_hidden_when_the_request_changes(gan_page):
    """Issue 20 item 2: samples of an earlier request are not shown beside a changed request."""
    at = gan_page
    at.selectbox(key="gan.model").set_value("tiny-cgan").run()
    at.number_input(key="gan.n").set_value(4)
    at.button(key="gan.generate").click().run()
    assert {d.key for d in at.get("download_button")} >= {"gan.dl_zip"}
    at.number_input(key="gan.seed").set_value(9).run()
    assert not at.exception
    assert "gan.dl_zip" not in {d.key for d in at.get("download_button")}
    assert any("Inputs changed — run again" in w.value for w in at.warning)
