"""Segmentation page under AppTest: opens, resumes a labeling session, edits with undo,
segments with a registered model, says plainly when there is none, shows bad input as an error."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.imaging import MedImage
from core.labeling import LabelingStore, Workspace

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDLENS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MEDLENS_DB_URL", raising=False)
    return tmp_path


def _page() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180).run()
    at.switch_page("pages/segmentation.py").run()
    assert not at.exception, at.exception
    return at


def _pixels(at: AppTest, label: str = "lung") -> int:
    for caption in at.caption:
        match = re.search(rf"{label}: (\d+) px", caption.value)
        if match:
            return int(match.group(1))
    raise AssertionError("no pixel count shown: " + " | ".join(c.value for c in at.caption))


def _seed_session(data_dir: Path) -> int:
    """A session with one image and a square lung mask, as a previous visit left it."""
    store = LabelingStore()
    session = store.create_session("Seeded", ["lung", "opacity"], annotator="ana")
    pixels = np.zeros((1, 64, 80), np.float32)
    pixels[0, 10:40, 10:40] = 100.0
    image_id = store.add_image(session.id, MedImage(pixels=pixels, spacing=(0.5, 0.5), name="phantom"), "phantom.png")
    ws = Workspace(store, session, image_id)
    mask = np.zeros((64, 80), bool)
    mask[10:40, 10:40] = True
    ws.edit("lung", 0, mask, "brush")
    store.update_session(session.id, current_image=image_id)
    store.close()
    return image_id


def _fake_spec(name: str, label: str):
    """A registered-looking segmentation spec (nothing is loaded: the tests replace ``service.segment``)."""
    from core.registry import Card, ModelSpec, Preprocessing

    return ModelSpec(card=Card(name=name, task="segmentation", architecture="monai_unet", arch_args={},
                               preprocessing=Preprocessing(size=(64, 64)), labels=("background", label)))


def test_page_opens_and_asks_for_an_image(data_dir):
    at = _page()
    assert at.title[0].value == "Segmentation"
    assert any("Open an image to start" in i.value for i in at.info)


def test_resumes_the_last_session_and_edits_with_undo(data_dir):
    _seed_session(data_dir)
    at = _page()
    assert _pixels(at) == 900
    rows = at.dataframe[0].value
    assert float(rows.iloc[0]["area (mm²)"]) == 900 * 0.25
    assert float(rows.iloc[0]["mean intensity"]) == 100.0
    at.button(key="seg.op.grow 1 px").click().run()
    assert not at.exception, at.exception
    assert _pixels(at) == 900 + 4 * 30
    at.button(key="seg.undo").click().run()
    assert _pixels(at) == 900
    at.button(key="seg.redo").click().run()
    assert _pixels(at) == 1020
    # a new browser session (reload) finds the same state in the store
    again = _page()
    assert _pixels(again) == 1020
    assert any("2 edit(s) applied" in c.value for c in again.caption)


def test_says_plainly_when_no_segmentation_model_is_registered(data_dir, monkeypatch):
    from core.segmentation import service

    _seed_session(data_dir)
    monkeypatch.setattr(service, "list_models", lambda task=None: [])
    at = _page()
    assert any("No segmentation model is registered" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key == "seg.segment"]
    assert _pixels(at) == 900  # editing still works


def test_open_example_and_segment(data_dir):
    from core.registry import list_models, reload

    reload()
    if "lungs-cxr" not in [s.name for s in list_models("segmentation")]:
        pytest.skip("lungs-cxr is not registered")
    at = _page()
    at.selectbox(key="seg.example").select("Chest X-ray (PNG, adult PA)").run()
    at.button(key="seg.open_example").click().run()
    assert not at.exception, at.exception
    assert _pixels(at) == 0
    at.selectbox(key="seg.model").select("lungs-cxr").run()
    assert any("Clicks to reach Dice .85 / .90" in c.value for c in at.caption)  # NoC from the card
    at.button(key="seg.segment").click().run()
    assert not at.exception, at.exception
    share = _pixels(at) / (512 * 408)
    assert 0.1 < share < 0.7, share
    assert any("Lungs" in m.value and "right" in m.value for m in at.markdown)


def test_bad_session_form_shows_an_error(data_dir):
    at = _page()
    form_inputs = [t for t in at.sidebar.text_input if t.label == "Labels (comma-separated)"]
    form_inputs[0].set_value(" , ")
    submit = [b for b in at.sidebar.button if "Create session" in str(b.label)]
    submit[0].click().run()
    assert not at.exception, at.exception
    assert any("at least one label" in e.value for e in at.error)


def test_working_image_is_added_only_with_a_click(data_dir):
    from core.ui.state import WORKING_IMAGE, WORKING_IMAGE_NAME

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    pixels = np.zeros((2, 30, 40), np.float32)
    pixels[:, 5:10, 5:10] = 50
    at.session_state[WORKING_IMAGE] = MedImage(pixels=pixels, name="vol")
    at.session_state[WORKING_IMAGE_NAME] = "volume.nii"
    at.run()
    at.switch_page("pages/segmentation.py").run()
    assert not at.exception, at.exception
    store = LabelingStore()
    assert not any(store.list_images(s.id) for s in store.list_sessions())  # nothing added without a click
    store.close()
    at.button(key="seg.add_working").click().run()
    assert not at.exception, at.exception
    assert any("volume.nii" in c.value for c in at.caption)
    assert at.button(key="seg.copy_next")  # volume tools for the 2 frames (the viewer scrolls them)
    assert LabelingStore().list_images(1)[0].name == "volume.nii"


def test_status_and_next_unfinished_image(data_dir):
    first = _seed_session(data_dir)
    store = LabelingStore()
    session = store.latest_session()
    second = store.add_image(session.id, MedImage(pixels=np.ones((1, 20, 20), np.float32)), "second.png")
    store.close()
    at = _page()
    at.radio(key=f"seg.status.{first}.in progress").set_value("done").run()
    assert not at.exception, at.exception
    at.button(key="seg.next").click().run()
    assert any("second.png" in c.value for c in at.caption)
    check = LabelingStore()
    assert check.get_image_record(first).status == "done"
    position = check.position(session.id, "local")  # where this user is now (nobody else moves)
    assert position is not None and position.image_id == second
    check.close()


def test_segment_into_a_label_the_session_lacks_adds_it(data_dir, monkeypatch):
    from core.segmentation import service

    _seed_session(data_dir)
    spec = _fake_spec("polyp-fake", "polyp")
    monkeypatch.setattr(service, "list_models", lambda task=None: [spec])
    monkeypatch.setattr(service, "require_spec", lambda name, task: spec)
    found = np.zeros((64, 80), bool)
    found[5:15, 50:70] = True
    monkeypatch.setattr(service, "segment",
                        lambda model, image, **kw: service.Segmentation(found.astype(np.float32), found, 0.5, model, "polyp"))
    at = _page()
    at.button(key="seg.segment").click().run()
    assert not at.exception, at.exception
    assert _pixels(at, "polyp") == 200 and _pixels(at, "lung") == 900
    assert at.session_state["seg.label"] == "polyp" and at.session_state["seg.goto_label"] == "polyp"
    store = LabelingStore()
    assert store.latest_session().labels == ["lung", "opacity", "polyp"]
    store.close()


def test_volume_copy_to_next_slice_and_run_on_all_slices(data_dir, monkeypatch):
    from core.segmentation import service

    store = LabelingStore()
    session = store.create_session("CT", ["lung", "opacity"])
    pixels = np.zeros((3, 40, 50), np.float32)
    image_id = store.add_image(session.id, MedImage(pixels=pixels, spacing=(1.0, 1.0), name="ct"), "ct.dcm")
    ws = Workspace(store, session, image_id)
    ws.edit("lung", 0, np.pad(np.ones((10, 10), bool), ((5, 25), (5, 35))), "brush")
    store.update_session(session.id, current_image=image_id)
    store.close()

    spec = _fake_spec("lungs-fake", "lung")
    monkeypatch.setattr(service, "list_models", lambda task=None: [spec])
    monkeypatch.setattr(service, "require_spec", lambda name, task: spec)
    calls = []

    def fake_segment(model, image, **kw):
        calls.append(model)
        mask = np.zeros((40, 50), bool)
        mask[:4, :5] = True
        return service.Segmentation(mask.astype(np.float32), mask, 0.5, model, "lung")

    monkeypatch.setattr(service, "segment", fake_segment)
    at = _page()
    assert at.session_state["seg.frame"] == 0 and _pixels(at) == 100
    at.button(key="seg.copy_next").click().run()
    assert not at.exception, at.exception
    assert at.session_state["seg.goto_frame"] == 1 and at.session_state["seg.frame"] == 1 and _pixels(at) == 100
    at.button(key="seg.run_all").click().run()
    assert not at.exception, at.exception
    assert len(calls) == 3 and _pixels(at) == 20
    check = LabelingStore()
    assert [int(m.sum()) for m in check.load_masks(image_id, ["lung"])["lung"]] == [20, 20, 20]
    assert check.latest_session().current_frame == 1
    check.close()
    assert _page().session_state["seg.frame"] == 1  # a reload resumes on that slice


def test_create_and_switch_labeling_sessions(data_dir):
    _seed_session(data_dir)
    at = _page()
    assert _pixels(at) == 900
    name = [t for t in at.sidebar.text_input if t.label == "Name"][0]
    name.set_value("Second")
    [t for t in at.sidebar.text_input if t.label == "Labels (comma-separated)"][0].set_value("polyp")
    [b for b in at.sidebar.button if "Create session" in str(b.label)][0].click().run()
    assert not at.exception, at.exception
    assert any("Open an image to start" in i.value for i in at.info)  # the new session is empty
    picker = at.sidebar.selectbox(key="seg.session_select")
    assert "Second" in picker.format_func(picker.value)
    assert any("Seeded" in o for o in picker.options)
    picker.select(1).run()  # the seeded session's id
    assert not at.exception, at.exception
    assert _pixels(at) == 900


def _probability_app() -> None:
    import streamlit as st

    from core.ui.segmentation import mask_editor

    ws = st.session_state["fake_ws"]
    st.session_state["prob"] = mask_editor._probability(ws, "lung", 0, st.session_state["model_now"])


def test_click_prompts_use_the_probabilities_of_the_model_picked_now(monkeypatch):
    """Issue 20 item 2: a probability map cached for one model is not reused after the model changes."""
    from types import SimpleNamespace

    import core.segmentation.service as seg_service

    calls = []

    def fake_probability(model, image):
        calls.append(model)
        return np.full((4, 4), 0.9 if model == "model-a" else 0.1, np.float32)

    monkeypatch.setattr(seg_service, "probability", fake_probability)
    ws = SimpleNamespace(probs={}, image=SimpleNamespace(frame=lambda f: np.zeros((4, 4), np.float32)))
    at = AppTest.from_function(_probability_app, default_timeout=60)
    at.session_state["fake_ws"] = ws
    at.session_state["model_now"] = "model-a"
    at.run()
    at.run()  # same model: the cached map
    assert not at.exception, at.exception
    assert calls == ["model-a"]
    at.session_state["model_now"] = "model-b"
    at.run()
    assert not at.exception, at.exception
    assert calls == ["model-a", "model-b"] and float(at.session_state["prob"].max()) == np.float32(0.1)


def test_model_picker_defaults_to_a_fitting_model_and_warns_on_a_mismatch(data_dir):
    """Issue 17 item 3: a chest X-ray lung model is not the default on an endoscopy frame, is marked,
    and picking it anyway shows a warning."""
    from core.registry import list_models, reload

    reload()
    names = [s.name for s in list_models("segmentation")]
    if not {"lungs-cxr", "polyp-endoscopy"} <= set(names):
        pytest.skip("lungs-cxr / polyp-endoscopy are not registered")
    store = LabelingStore()
    session = store.create_session("Lungs", ["lung"])
    image_id = store.add_image(session.id, MedImage(pixels=np.zeros((1, 32, 32), np.float32), modality="ES"), "colon.dcm")
    store.update_session(session.id, current_image=image_id)
    store.close()
    at = _page()
    picker = at.selectbox(key="seg.model")
    assert picker.value == "polyp-endoscopy-lite0"  # not lungs-cxr, though the session's label is "lung"
    assert "not for this image" in picker.format_func("lungs-cxr")
    assert not any("not for this image" in w.value for w in at.warning)
    picker.select("lungs-cxr").run()
    assert not at.exception, at.exception
    assert any("lungs-cxr is not for this image" in w.value for w in at.warning)


def test_a_lung_model_run_in_a_lesion_session_adds_and_shows_lung(data_dir, monkeypatch):
    """Issue 17 item 3: the model's label joins the session and the viewer is sent to it (drawn and
    measured), though the session was created with another label."""
    from core.segmentation import service

    store = LabelingStore()
    session = store.create_session("Lesions", ["lesion"])
    image_id = store.add_image(session.id, MedImage(pixels=np.zeros((1, 40, 50), np.float32)), "cxr.png")
    store.update_session(session.id, current_image=image_id)
    store.close()
    spec = _fake_spec("lungs-fake", "lung")
    monkeypatch.setattr(service, "list_models", lambda task=None: [spec])
    monkeypatch.setattr(service, "require_spec", lambda name, task: spec)
    found = np.zeros((40, 50), bool)
    found[5:15, 5:25] = True
    monkeypatch.setattr(service, "segment",
                        lambda model, image, **kw: service.Segmentation(found.astype(np.float32), found, 0.5, model, "lung"))
    at = _page()
    at.button(key="seg.segment").click().run()
    assert not at.exception, at.exception
    assert _pixels(at, "lung") == 200
    assert at.session_state["seg.label"] == "lung" and at.session_state["seg.goto_label"] == "lung"
    check = LabelingStore()
    assert check.latest_session().labels == ["lesion", "lung"]
    check.close()


def test_team_panel_shows_agreement_side_by_side_and_the_audit(data_dir):
    image_id = _seed_session(data_dir)  # "local" drew a 30x30 square
    store = LabelingStore()
    session = store.latest_session()
    other = np.zeros((64, 80), bool)
    other[10:40, 25:55] = True  # half of it overlaps
    Workspace(store, session, image_id, user="ben").paint("lung", 0, other, description="brush")
    at = _page()
    assert not at.exception, at.exception
    tables = {tuple(t.value.columns) : t.value for t in at.dataframe}
    dice = tables[("label", "Dice")]
    assert abs(float(dice[dice["label"] == "lung"]["Dice"].iloc[0]) - 0.5) < 1e-3
    assert any("Session agreement: mean Dice" in c.value for c in at.caption)
    audit = tables[("when (UTC)", "who", "what", "detail")]
    assert {"local", "ben"} <= set(audit["who"])


def test_consensus_zip_by_majority_vote_or_staple(data_dir):
    """Four annotators: two outline the whole square, two only its core. The consensus zip holds
    the core by majority vote (2-2 ties are out) and the whole square by STAPLE."""
    import io
    import json
    import zipfile

    from PIL import Image

    image_id = _seed_session(data_dir)  # "local" drew the 30x30 square at [10:40, 10:40]
    store = LabelingStore()
    session = store.latest_session()
    square = store.load_masks(image_id, ["lung"])["lung"][0]
    core = np.zeros_like(square)
    core[15:35, 15:35] = True
    Workspace(store, session, image_id, user="ben").paint("lung", 0, square)
    for name in ("cleo", "dan"):
        Workspace(store, session, image_id, user=name).paint("lung", 0, core)
    at = _page()
    found = {}
    for method in ("majority vote", "STAPLE"):
        at.radio(key="seg.consensus_method").set_value(method).run()
        at.button(key="seg.consensus").click().run()
        assert not at.exception, at.exception
        with zipfile.ZipFile(io.BytesIO(at.session_state["seg.consensus_zip"])) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            folder = manifest["images"][0]["folder"]
            found[method] = np.asarray(Image.open(io.BytesIO(zf.read(f"{folder}/masks/lung.png")))) > 0
            assert method in json.dumps(manifest)
    assert np.array_equal(found["majority vote"], core)
    assert np.array_equal(found["STAPLE"], square)
