"""The task services the pages and commands call (``core.<task>.service``, ``core.system``):
one segmentation journey, checked against the pieces it is made of, and the other services'
contracts. Uses the committed models on a bundled example (a few seconds on a CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core import system
from core.imaging import load
from core.prognosis.examples import synthetic_beat
from core.segmentation import service as seg
from core.segmentation.inference import predict_proba, threshold_and_clean

REPO = Path(__file__).resolve().parents[2]
CXR = REPO / "examples" / "cxr_pneumocystis.png"  # 512 x 408 chest radiograph


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    return load(str(CXR)).frame(0)


def _need(*names: str) -> None:
    missing = set(names) - set(seg.model_names())
    if missing:
        pytest.skip(f"not registered: {missing}")


def test_segment_is_the_cards_threshold_over_the_models_probability(frame) -> None:
    _need("lungs-cxr")
    from core.cache import get_model
    from core.registry import get_spec

    spec = get_spec("lungs-cxr")
    prob = predict_proba(get_model("lungs-cxr"), frame, spec.preprocessing)
    result = seg.segment("lungs-cxr", frame)
    assert np.array_equal(result.mask, threshold_and_clean(prob, spec.preprocessing, spec.threshold))
    assert result.threshold == spec.threshold and result.within is None and result.severity is None
    assert result.label == seg.model_label("lungs-cxr") and 0.15 < result.area_fraction < 0.7


def test_within_restricts_opacity_to_the_lungs_and_measures_the_share(frame) -> None:
    _need("lungs-cxr", "opacity-cxr")
    free = seg.segment("opacity-cxr", frame, within=False)
    inside = seg.segment("opacity-cxr", frame)
    lungs = seg.segment("lungs-cxr", frame).mask
    assert free.region is None and inside.within == "lungs-cxr"
    assert np.array_equal(inside.region, lungs)
    assert np.array_equal(inside.mask, free.mask & lungs)
    assert inside.severity["share_of_lung_affected"] == pytest.approx(inside.mask.sum() / lungs.sum(), abs=1e-4)


def test_a_box_edits_inside_the_box_only(frame) -> None:
    _need("lungs-cxr")
    outside = np.zeros(frame.shape[:2], bool)
    outside[:10] = True  # a stripe above the box must stay; the box's rows are the model's answer
    box = (40.0, 60.0, 250.0, 380.0)  # x0, y0, x1, y1: the image's left lung field
    result = seg.segment("lungs-cxr", frame, box=box, outside=outside, within=False)
    inside = np.zeros_like(outside)
    inside[60:380, 40:250] = True
    assert np.array_equal(result.mask & ~inside, outside & ~inside)
    assert result.mask[inside].mean() > 0.2  # the lung inside the box was found
    assert not result.prob[~inside].any()  # the model ran on the box only


def test_the_segment_command_is_the_service(frame, tmp_path) -> None:
    _need("lungs-cxr")
    from core.cli import main

    out = tmp_path / "m.png"
    assert main(["segment", str(CXR), "--model", "lungs-cxr", "--out", str(out), "--box", "40,60,250,380",
                 "--click", "200,150,+"]) == 0
    from core.segmentation.prompts import Click

    expected = seg.segment("lungs-cxr", frame, box=(40, 60, 250, 380), clicks=[Click(200, 150, True)])
    assert np.array_equal(load(str(out)).frame(0) > 0, expected.mask)


def test_unknown_models_are_refused_with_the_valid_names() -> None:
    from core.errors import InputError

    with pytest.raises(InputError, match="valid"):
        seg.require_model("no-such-model")
    assert seg.model_label("no-such-model") is None


def test_system_summary_lists_the_registry_and_the_cache() -> None:
    from core import registry

    info = system.summary()
    assert [m["name"] for m in info["models"]] == [s.name for s in registry.list_models()]
    assert info["device"] and info["budget_bytes"] > 0 and info["held_bytes"] >= 0
    json.dumps(info)  # plain data


def test_the_synthetic_beat_is_reproducible_and_shows_the_abnormal_shape() -> None:
    normal, again, abnormal = synthetic_beat(96), synthetic_beat(96), synthetic_beat(96, infarction_like=True)
    assert normal.shape == (96,) and normal.dtype == np.float32 and np.array_equal(normal, again)
    t_wave = slice(int(0.6 * 96), int(0.7 * 96))
    assert normal[t_wave].mean() > 0.3 and abnormal[t_wave].mean() < 0  # upright vs inverted T wave


def test_classification_service_display_and_explanation(frame) -> None:
    from core.classification import service as cls

    names = [s.name for s in cls.models()]
    if "pneumonia-cxr" not in names:
        pytest.skip("pneumonia-cxr is not registered")
    image = load(str(CXR))
    gray = cls.display_gray(image, "pneumonia-cxr")
    assert max(gray.shape) == 448 and 0.0 <= gray.min() and gray.max() <= 1.0
    heat = cls.explanation(image, "pneumonia-cxr", cls.METHODS[0])
    assert heat.ndim == 2 and np.isfinite(heat).all()


def test_generate_is_reproducible_by_seed() -> None:
    from core.synthesis import service as syn

    names = [s.name for s in syn.generators()]
    if "pneumonia-cgan" not in names:
        pytest.skip("pneumonia-cgan is not registered")
    a = syn.generate("pneumonia-cgan", "all", n=4, seed=3)
    b = syn.generate("pneumonia-cgan", "all", n=4, seed=3)
    assert np.array_equal(a.images, b.images) and len(a) == 4
