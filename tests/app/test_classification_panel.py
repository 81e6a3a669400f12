"""The image-classification panel under Streamlit's AppTest: model card, example, explanation, errors."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

SCRIPT = """
from core.ui.classification.panel import render
render()
"""


def _app() -> AppTest:
    return AppTest.from_string(SCRIPT, default_timeout=180)


def test_panel_shows_models_card_and_disclaimer() -> None:
    at = _app().run()
    assert not at.exception, at.exception
    assert set(at.selectbox(key="cls.model").options) >= {"breast-us — malignant", "pneumonia-cxr — pneumonia"}
    assert any("not for diagnosis" in c.value for c in at.caption)
    assert any(m.label == "Validation AUC" for m in at.metric)


def test_example_is_classified_with_interval_flag_and_explanation() -> None:
    at = _app().run()
    at.selectbox(key="cls.model").set_value("pneumonia-cxr").run()
    at.radio(key="cls.source").set_value("Example").run()
    at.selectbox(key="cls.example").set_value("Chest X-ray (JPEG, paediatric pneumonia)").run()
    assert not at.exception, at.exception
    prob = next(m for m in at.metric if m.label == "P(pneumonia)")
    assert 0.0 <= float(prob.value) <= 1.0
    assert any("Interval (TTA 5–95%)" in md.value for md in at.markdown)
    assert any(w in md.value for md in at.markdown for w in ("Confident", "Low confidence"))  # the flag
    assert at.slider(key="cls.opacity").value == pytest.approx(0.45)
    at.radio(key="cls.method").set_value("Occlusion").run()
    at.slider(key="cls.opacity").set_value(0.8).run()
    assert not at.exception, at.exception


def test_working_image_is_used_and_bad_image_shows_error() -> None:
    from core.imaging import MedImage

    at = _app()
    at.session_state["medlens.working_image"] = MedImage(pixels=np.zeros((1, 2, 2), np.float32))
    at.session_state["medlens.working_image_name"] = "tiny.png"
    at.run()
    assert at.radio(key="cls.source").value == "Working image"
    assert not at.exception, at.exception
    assert any("too small" in e.value for e in at.error)


def test_colour_photo_gets_ood_warning() -> None:
    from core.imaging import MedImage

    rng = np.random.default_rng(0)
    photo = np.zeros((1, 64, 64, 3), np.float32)
    photo[..., 0] = 200 + rng.random((1, 64, 64)) * 50
    photo[..., 1] = 60 + rng.random((1, 64, 64)) * 40
    photo[..., 2] = 40
    at = _app()
    at.session_state["medlens.working_image"] = MedImage(pixels=photo, window=(127.5, 255.0))
    at.run()
    assert not at.exception, at.exception
    assert any("Out-of-distribution" in e.value for e in at.error)
    assert not any("Confident" in md.value for md in at.markdown) and not at.success  # OOD overrides it


def test_batch_result_hidden_when_its_inputs_change() -> None:
    """Issue 20 item 2: a batch table is not shown beside files or options it was not scored with."""
    from core.examples import list_examples

    examples = list_examples("classification")[:2]
    at = _app().run()
    at.selectbox(key="cls.model").set_value("pneumonia-cxr").run()
    at.file_uploader(key="cls.batch_files").set_value(
        [(e.file, e.path.read_bytes(), "application/octet-stream") for e in examples]).run()
    at.button(key="cls.score").click().run()
    assert not at.exception, at.exception
    assert any(b.key == "cls.download" for b in at.get("download_button"))
    at.checkbox(key="cls.batch_tta").check().run()
    assert not any(b.key == "cls.download" for b in at.get("download_button"))
    assert any("Inputs changed — run again" in w.value for w in at.warning)


def test_chest_xray_example_defaults_to_a_chest_model_and_marks_breast_us() -> None:
    at = _app().run()
    at.radio(key="cls.source").set_value("Example").run()
    at.selectbox(key="cls.example").set_value("Chest X-ray (JPEG, paediatric pneumonia)").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="cls.model").value == "pneumonia-cxr"
    assert not any(m.label == "P(malignant)" for m in at.metric)
    options = at.selectbox(key="cls.model").options
    assert any(o.startswith("breast-us") and "not for this image" in o for o in options), options
    at.selectbox(key="cls.model").set_value("breast-us").run()  # the user insists: warned, not switched back
    assert at.selectbox(key="cls.model").value == "breast-us"
    assert any("not for this image" in w.value for w in at.warning)
    assert not any("Confident" in md.value for md in at.markdown)


def test_ood_overrides_confident_wording() -> None:
    from types import SimpleNamespace

    from core.ui.classification.panel import confidence_wording

    confident_but_ood = SimpleNamespace(ood=True, ood_reason="colourful image", low_confidence=False,
                                        confidence_rule="")
    text = confidence_wording(confident_but_ood)
    assert "Out-of-distribution" in text and "Confident" not in text
    assert "Confident" in confidence_wording(SimpleNamespace(ood=False, ood_reason="", low_confidence=False,
                                                             confidence_rule=""))
