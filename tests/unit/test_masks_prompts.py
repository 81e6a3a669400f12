"""Box and click prompts from the canvas become undoable edits (synthetic probability maps,
so no trained segmentation model is needed)."""

from __future__ import annotations

import numpy as np
import pytest

from core.registry import Preprocessing
from core.imaging import MedImage
from core.labeling import LabelingStore, Workspace


@pytest.fixture
def ws(tmp_path):
    store = LabelingStore(tmp_path / "l.sqlite")
    session = store.create_session("s", ["lesion"])
    pixels = np.zeros((1, 60, 80), np.float32)
    pixels[0, 20:40, 30:50] = 200.0
    image_id = store.add_image(session.id, MedImage(pixels=pixels), "p")
    yield Workspace(store, session, image_id)
    store.close()


@pytest.fixture
def fake_model(monkeypatch):
    """A registered-looking segmentation model name; nothing is loaded or run."""
    from core.registry import Card, ModelSpec
    from core.segmentation import service

    spec = ModelSpec(card=Card(name="fake-seg", task="segmentation", architecture="monai_unet", arch_args={},
                               labels=("background", "other"), preprocessing=Preprocessing(threshold=0.5)))
    monkeypatch.setattr(service, "require_spec", lambda name, task: spec)
    monkeypatch.setattr(service, "list_models", lambda task=None: [spec])
    monkeypatch.setattr(service, "get_model", lambda name, device=None: None)
    return "fake-seg"


def _disc(hw, centre, radius):
    rows, cols = np.mgrid[0:hw[0], 0:hw[1]]
    return (np.hypot(rows - centre[0], cols - centre[1]) <= radius).astype(np.float32)


def test_box_prompt_resegments_inside_the_box_only(ws, fake_model, monkeypatch):
    from core.segmentation import service
    from core.ui.segmentation import mask_editor

    before = np.zeros((60, 80), bool)
    before[0:5, 0:80] = True  # outside the box: must stay
    before[25:30, 0:20] = True  # inside the box: replaced by the model's answer
    ws.edit("lesion", 0, before, "brush")
    monkeypatch.setattr(service, "box_proba", lambda model, image, prep, box, **kw: _disc((60, 80), (30, 40), 8))
    box = {"id": "b1", "kind": "box", "label": "lesion", "frame": 0, "box": [0, 20, 60, 40]}  # image x 0..60, y 20..40
    message = mask_editor._apply_prompt(ws, box, fake_model)
    assert message is None
    after = ws.masks.get("lesion", 0)
    inside = np.zeros((60, 80), bool)
    inside[20:40, 0:60] = True
    assert np.array_equal(after & ~inside, before & ~inside)
    assert np.array_equal(after & inside, (_disc((60, 80), (30, 40), 8) >= 0.5) & inside)
    ws.undo()
    assert np.array_equal(ws.masks.get("lesion", 0), before)


def test_positive_and_negative_clicks_refine_the_probability_map(ws, fake_model):
    from core.ui.segmentation import mask_editor

    ws.probs[("lesion", 0)] = np.full((60, 80), 0.2, np.float32)  # the model saw nothing
    click = {"id": "c1", "kind": "click", "label": "lesion", "frame": 0, "point": [40.5, 30.5], "positive": True}
    mask_editor._apply_prompt(ws, click, fake_model)
    grown = ws.masks.get("lesion", 0).copy()
    assert grown[30, 40] and 20 < grown.sum() < 60 * 80 / 2  # a region around the click, not everything
    mask_editor._apply_prompt(ws, {**click, "id": "c2", "positive": False}, fake_model)
    assert not ws.masks.get("lesion", 0)[30, 40]
    assert len(ws.clicks[("lesion", 0)]) == 2 and ws.masks.history.position == 2


def test_prompts_without_a_model_ask_for_one(ws, monkeypatch):
    from core.segmentation import service
    from core.ui.segmentation import mask_editor

    monkeypatch.setattr(service, "list_models", lambda task=None: [])
    click = {"id": "c1", "kind": "click", "label": "lesion", "frame": 0, "point": [10, 10], "positive": True}
    message = mask_editor._apply_prompt(ws, click, None)
    assert "need a segmentation model" in message
    assert not ws.masks.history.can_undo


@pytest.mark.parametrize("prompt", [
    {"id": "x", "kind": "box", "label": "lesion", "frame": 0, "box": ["a", 1, 2, 3]},
    {"id": "x", "kind": "box", "label": "lesion", "frame": "zero", "box": [0, 0, 5, 5]},
    {"id": "x", "kind": "click", "label": "lesion", "frame": 0, "point": [float("nan"), 3]},
    {"id": "x", "kind": "click", "label": "lesion", "frame": 0},
    {"id": "x", "kind": "click", "label": "nope", "frame": 0, "point": [1, 1]},
])
def test_malformed_prompts_from_the_browser_are_refused_plainly(ws, fake_model, prompt):
    from core.ui.segmentation import mask_editor

    message = mask_editor._apply_prompt(ws, prompt, fake_model)
    assert isinstance(message, str) and "\n" not in message
    assert not ws.masks.history.can_undo
