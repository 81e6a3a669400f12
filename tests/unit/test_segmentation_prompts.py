"""Box and click prompts, and the simulated-click protocol."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InputError
from core.segmentation.inference import predict_proba
from core.segmentation.metrics import dice_iou
from core.segmentation.prompts import Click, box_mask, box_proba, click_curve, refine_with_clicks, simulate_click
from tests.unit.test_segmentation import PRE, BrightIsForeground, _disk


def _two_blobs() -> np.ndarray:
    image = np.zeros((120, 160), np.float32)
    image[_disk(image.shape, (40, 40), 20)] = 1
    image[_disk(image.shape, (80, 120), 20)] = 1
    return image


def test_box_restricts_the_mask_to_the_box() -> None:
    image = _two_blobs()
    box = (10, 10, 75, 75)  # x0, y0, x1, y1 around the first blob only
    prob = box_proba(BrightIsForeground(), image, PRE, box)
    mask = box_mask(BrightIsForeground(), image, PRE, box)
    assert prob[:, 75:].max() == 0 and prob[75:, :].max() == 0
    assert mask[40, 40] and not mask[80, 120]
    assert dice_iou(mask, _disk(image.shape, (40, 40), 20))[0] > 0.9


def test_box_outside_the_image_is_an_input_error() -> None:
    with pytest.raises(InputError):
        box_proba(BrightIsForeground(), _two_blobs(), PRE, (500, 500, 600, 600))


def test_negative_click_removes_the_clicked_component() -> None:
    image = _two_blobs()
    prob = predict_proba(BrightIsForeground(), image, PRE)
    mask = refine_with_clicks(prob, image, [Click(80, 120, positive=False)], PRE)
    assert not mask[80, 120] and mask[40, 40]
    assert mask[_disk(image.shape, (80, 120), 18)].mean() < 0.05


def test_positive_click_adds_a_missed_region() -> None:
    image = _two_blobs()
    prob = predict_proba(BrightIsForeground(), image, PRE)
    prob[_disk(image.shape, (80, 120), 22)] = 0.05  # the "model" missed the second blob
    missed = refine_with_clicks(prob, image, [], PRE)
    added = refine_with_clicks(prob, image, [Click(80, 120, positive=True)], PRE)
    assert not missed[80, 120]
    assert added[_disk(image.shape, (80, 120), 15)].mean() > 0.9
    assert not added[5, 5], "the added region must stop at the blob's edge"


def test_click_outside_is_an_input_error() -> None:
    with pytest.raises(InputError):
        refine_with_clicks(np.zeros((10, 10)), np.zeros((10, 10)), [Click(20, 3)], PRE)


def test_simulated_click_is_at_the_centre_of_the_largest_error() -> None:
    truth = np.zeros((100, 100), bool)
    truth[20:60, 20:60] = True
    pred = np.zeros_like(truth)
    pred[80:84, 80:84] = True  # small false positive
    click = simulate_click(pred, truth)
    assert click.positive and 38 <= click.row <= 41 and 38 <= click.col <= 41
    assert simulate_click(truth, truth) is None


def test_click_curve_rises_with_clicks() -> None:
    image = _two_blobs()
    truth = image > 0.5

    class MissesRightBlob(BrightIsForeground):
        def forward(self, x):
            out = super().forward(x)
            out[..., :, out.shape[-1] // 2 :] = -10
            return out

    curve = click_curve(MissesRightBlob(), [("a", image, truth)], PRE)
    assert curve["dice_0_clicks"] < 0.8
    assert curve["dice_1_clicks"] > curve["dice_0_clicks"] + 0.1
    assert curve["dice_5_clicks"] >= curve["dice_1_clicks"] - 0.02
