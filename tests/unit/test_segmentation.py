"""core.segmentation: preprocessing, inference on any size, post-processing, metrics, severity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.registry import Preprocessing
from core.errors import InputError
from core.segmentation.inference import predict_proba, threshold_and_clean
from core.segmentation.metrics import dice_iou
from core.segmentation.postprocess import postprocess
from core.segmentation.preprocess import prepare, prepare_mask, to_channels
from core.segmentation.severity import severity_from_masks

PRE = Preprocessing(size=(32, 32), channels=1, normalisation="percentile", percentiles=(0.0, 100.0), threshold=0.5)


class BrightIsForeground(torch.nn.Module):
    """Stand-in network: logit = 20 * (mean channel - 0.5); bright pixels are foreground."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 20 * (x.mean(dim=1, keepdim=True) - 0.5) + 0 * self.dummy


def _disk(shape, centre, radius) -> np.ndarray:
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius**2


# ---------------------------------------------------------------- preprocessing


@pytest.mark.parametrize(
    "shape,channels,expected",
    [((20, 30), 1, 1), ((20, 30, 3), 1, 1), ((20, 30, 4), 3, 3), ((20, 30), 3, 3), ((20, 30, 1), 1, 1)],
)
def test_to_channels(shape, channels, expected) -> None:
    assert to_channels(np.ones(shape), channels).shape == (20, 30, expected)


def test_prepare_any_range_to_unit_interval_at_model_size() -> None:
    image = np.random.default_rng(0).normal(1000, 300, (300, 170)).astype(np.float32)  # HU-like
    out = prepare(image, PRE)
    assert out.shape == (1, 32, 32)
    assert out.min() >= 0 and out.max() <= 1


def test_prepare_rejects_non_images() -> None:
    with pytest.raises(InputError):
        prepare(np.ones((4, 5, 6, 7)), PRE)


def test_prepare_mask_stays_binary() -> None:
    mask = _disk((100, 80), (50, 40), 20)
    out = prepare_mask(mask, (32, 32))
    assert set(np.unique(out)) <= {0.0, 1.0} and out.sum() > 0


# ---------------------------------------------------------------- inference


@pytest.mark.parametrize("shape", [(50, 70), (97, 131, 3), (256, 256), (33, 400)])
def test_probability_map_at_original_size(shape) -> None:
    image = np.zeros(shape, np.float32)
    image[shape[0] // 4 : shape[0] // 2, shape[1] // 4 : shape[1] // 2] = 200
    prob = predict_proba(BrightIsForeground(), image, PRE)
    assert prob.shape == shape[:2]
    assert prob.dtype == np.float32 and prob.min() >= 0 and prob.max() <= 1
    assert prob[shape[0] * 3 // 8, shape[1] * 3 // 8] > 0.9 and prob[-1, -1] < 0.1


def test_flip_tta_is_equivariant_for_symmetric_model() -> None:
    image = np.zeros((40, 60), np.float32)
    image[10:30, 5:20] = 1
    plain = predict_proba(BrightIsForeground(), image, PRE)
    tta = predict_proba(BrightIsForeground(), image, PRE, tta=True)
    assert np.allclose(plain, tta, atol=1e-5)


def test_single_frame_stack_is_accepted() -> None:
    assert predict_proba(BrightIsForeground(), np.ones((1, 20, 20)), PRE).shape == (20, 20)


# ---------------------------------------------------------------- post-processing


def test_lungs_postprocess_keeps_two_largest_and_fills_holes() -> None:
    mask = np.zeros((100, 100), bool)
    mask[10:90, 5:45] = True
    mask[10:90, 55:95] = True
    mask[40:50, 20:30] = False  # a hole
    mask[0:3, 48:51] = True  # speck
    out = postprocess(mask, "lungs", {"components": 2})
    assert out[45, 25] and not out[1, 49]
    assert out.sum() == 2 * 80 * 40


def test_components_postprocess_drops_specks_but_keeps_clicked_ones() -> None:
    mask = _disk((200, 200), (100, 100), 40)
    mask[5, 5] = True
    assert not postprocess(mask, "components", {"min_fraction": 0.001})[5, 5]
    assert postprocess(mask, "components", {"min_fraction": 0.001}, keep_points=[(5, 5)])[5, 5]


def test_threshold_and_clean_uses_card_threshold() -> None:
    prob = np.full((10, 10), 0.6, np.float32)
    assert threshold_and_clean(prob, Preprocessing(threshold=0.5)).all()
    assert not threshold_and_clean(prob, Preprocessing(threshold=0.7)).any()


# ---------------------------------------------------------------- metrics


def test_dice_iou_values() -> None:
    a = np.zeros((10, 10), bool)
    b = np.zeros((10, 10), bool)
    a[:, :5] = True
    b[:, :4] = True
    dice, iou = dice_iou(a, b)
    assert dice == pytest.approx(2 * 40 / 90) and iou == pytest.approx(40 / 50)


def test_empty_truth_rule() -> None:
    empty = np.zeros((8, 8), bool)
    some = empty.copy()
    some[2, 2] = True
    assert dice_iou(empty, empty) == (1.0, 1.0)
    assert dice_iou(some, empty) == (0.0, 0.0)
    assert dice_iou(empty, some) == (0.0, 0.0)


# ---------------------------------------------------------------- severity


def test_severity_share_and_sides() -> None:
    lungs = np.zeros((100, 100), bool)
    lungs[10:90, 5:45] = True  # image left = patient's right lung
    lungs[10:90, 55:95] = True
    opacity = np.zeros_like(lungs)
    opacity[50:90, 5:45] = True  # half of the patient's right lung
    opacity[0:5, :] = True  # outside the lungs: ignored
    sev = severity_from_masks(lungs, opacity)
    assert sev.share == pytest.approx(0.25)
    assert sev.right_lung_share == pytest.approx(0.5) and sev.left_lung_share == pytest.approx(0.0)
    assert not sev.opacity_mask[0:5].any()
    assert sev.summary()["share_of_lung_affected"] == 0.25
