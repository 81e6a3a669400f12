"""NoC@85/90: the incremental click refiner and the clicks-to-target count."""

from __future__ import annotations

import numpy as np

from core.segmentation.inference import predict_proba
from core.segmentation.noc import clicks_to_targets, noc
from core.segmentation.prompts import Click, ClickRefiner, refine_with_clicks
from tests.unit.test_segmentation import PRE, BrightIsForeground, _disk


def _image() -> np.ndarray:
    image = np.zeros((120, 160), np.float32)
    image[_disk(image.shape, (40, 40), 20)] = 1
    image[_disk(image.shape, (80, 120), 20)] = 1
    return image


def test_refiner_one_click_at_a_time_equals_refine_with_all_clicks() -> None:
    image = _image()
    prob = predict_proba(BrightIsForeground(), image, PRE)
    clicks = [Click(80, 120, positive=False), Click(100, 20, positive=True), Click(40, 40, positive=False)]
    refiner = ClickRefiner(prob, image, PRE)
    for c in clicks:
        refiner.add(c)
    assert np.array_equal(refiner.mask(), refine_with_clicks(prob, image, clicks, PRE))


def test_a_right_model_needs_no_click_and_a_miss_needs_some() -> None:
    image = _image()
    prob = predict_proba(BrightIsForeground(), image, PRE)
    both = _disk(image.shape, (40, 40), 20) | _disk(image.shape, (80, 120), 20)
    assert clicks_to_targets(prob, image, both, PRE) == {0.85: 0, 0.90: 0}
    one = _disk(image.shape, (40, 40), 20)  # the model also segments a blob that is not wanted
    needed = clicks_to_targets(prob, image, one, PRE)
    assert needed[0.85] is not None and 1 <= needed[0.85] <= needed[0.90]


def test_unreachable_target_counts_the_cap_and_a_failure() -> None:
    image = _image()
    truth = np.zeros(image.shape, bool)
    truth[::2, ::2] = True  # a checkerboard no click can reach at Dice .85
    out = noc(BrightIsForeground(), [("a", image, truth)], PRE, max_clicks=3)
    assert out["noc85"] == 3 and out["nof85"] == 1 and out["n"] == 1


def test_committed_segmentation_cards_carry_noc_rows() -> None:
    from core.registry import list_models
    from core.segmentation.noc import card_rows

    for spec in list_models("segmentation"):
        if spec.name in ("lungs-cxr", "opacity-cxr", "polyp-endoscopy"):
            rows = card_rows(spec.card.metrics)
            assert rows and all(0 <= r["NoC@85"] <= r["NoC@90"] <= 20 for r in rows), spec.name
