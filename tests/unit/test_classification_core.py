"""Classification building blocks on arrays the tests build (no trained weights needed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.classification import augment, calibration, explain, metrics
from core.classification.inference import colourfulness, resize01, to_gray01
from core.errors import InputError
from core.classification.data import cxr_patient_key, patient_split
from core.classification.training import one_cycle_lr


def _overconfident(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits of a calibrated model multiplied by 3 (over-confident), with their labels."""
    rng = np.random.default_rng(seed)
    margin = rng.normal(0, 1.5, n)
    labels = (rng.random(n) < 1 / (1 + np.exp(-margin))).astype(int)
    logits = np.stack([np.zeros(n), 3 * margin], 1)
    return logits, labels


def test_temperature_recovers_overconfidence_and_lowers_ece() -> None:
    logits, labels = _overconfident()
    t = calibration.fit_temperature(logits, labels)
    assert 2.5 < t < 3.5
    before = calibration.expected_calibration_error(calibration.softmax_positive(logits), labels)
    after = calibration.expected_calibration_error(calibration.softmax_positive(logits, t), labels)
    assert after < before / 2
    assert calibration.cross_fitted_ece(logits, labels) < before


def test_ece_is_zero_for_perfect_bins_and_large_for_wrong_ones() -> None:
    labels = np.array([0, 1] * 50)
    assert calibration.expected_calibration_error(np.full(100, 0.5), labels) == pytest.approx(0.0)
    assert calibration.expected_calibration_error(1.0 - labels, labels) == pytest.approx(1.0)


def test_balanced_threshold_ignores_class_balance() -> None:
    rng = np.random.default_rng(1)
    neg, pos = rng.normal(0.3, 0.08, 100), rng.normal(0.7, 0.08, 900)
    probs, labels = np.concatenate([neg, pos]), np.r_[np.zeros(100), np.ones(900)].astype(int)
    t = metrics.balanced_threshold(labels, probs)
    assert 0.4 < t < 0.6
    summary = metrics.summary(labels, probs, t, n_boot=200)
    assert summary["auc_95ci"][0] <= summary["auc"] <= summary["auc_95ci"][1]
    assert summary["acc_95ci"][0] <= summary["acc"] <= summary["acc_95ci"][1]


def test_confusion_counts() -> None:
    c = metrics.confusion(np.array([0, 0, 1, 1]), np.array([0.1, 0.9, 0.8, 0.2]), 0.5)
    assert c == {"tp": 1, "fp": 1, "tn": 1, "fn": 1}


@pytest.mark.parametrize(
    "name,key",
    [("IM-0115-0001.jpeg", "IM-0115"), ("IM-0117-0001-0002.jpeg", "IM-0117"),
     ("NORMAL2-IM-1427-0001.jpeg", "NORMAL2-IM-1427"), ("person23_bacteria_3.jpeg", "person23"),
     ("PNEUMONIA/person1000_virus_1681.jpeg", "person1000")],
)
def test_patient_key(name: str, key: str) -> None:
    assert cxr_patient_key(name) == key


def test_patient_split_keeps_patients_whole() -> None:
    keys = [f"person{i // 3}" for i in range(300)]
    labels = np.array([(i // 3) % 2 for i in range(300)])
    val = patient_split(keys, labels, 0.2, seed=0)
    train_keys = {k for k, v in zip(keys, val) if not v}
    val_keys = {k for k, v in zip(keys, val) if v}
    assert not train_keys & val_keys
    assert 0.15 < val.mean() < 0.25
    assert set(labels[val]) == {0, 1}


def test_patient_split_on_real_file_names(shared_data) -> None:
    root = shared_data / "cxr_pneumonia" / "train"
    files = sorted(p.name for p in (root / "NORMAL").glob("*.jpeg")) + sorted(p.name for p in (root / "PNEUMONIA").glob("*.jpeg"))
    labels = np.array([0] * len(list((root / "NORMAL").glob("*.jpeg"))) + [1] * len(list((root / "PNEUMONIA").glob("*.jpeg"))))
    keys = [cxr_patient_key(f) for f in files]
    assert len(set(keys)) == 2846  # as the README counts
    val = patient_split(keys, labels, 0.15, seed=0)
    assert not {k for k, v in zip(keys, val) if v} & {k for k, v in zip(keys, val) if not v}


def test_to_gray01_handles_common_inputs() -> None:
    gray8 = np.tile(np.arange(256, dtype=np.uint8), (8, 1))
    out = to_gray01(gray8)
    assert out.pixels.min() == 0 and out.pixels.max() == 1 and out.colourfulness == 0
    rgb = np.stack([gray8] * 3, -1)
    assert np.allclose(to_gray01(rgb).pixels, out.pixels, atol=1e-5)
    twelve_bit = np.linspace(0, 4095, 64 * 64).reshape(64, 64)
    assert to_gray01(twelve_bit).pixels.max() == pytest.approx(1.0)
    stack = np.zeros((3, 16, 16), np.float32)
    assert to_gray01(stack).pixels.shape == (16, 16)


def test_to_gray01_uses_medimage_window() -> None:
    from core.imaging import MedImage

    image = MedImage(pixels=np.full((1, 8, 8), 1000.0, np.float32), window=(1000.0, 400.0), modality="CR")
    assert to_gray01(image).pixels.mean() == pytest.approx(0.5)


@pytest.mark.parametrize("bad", [np.zeros((2, 2)), np.zeros(10), np.array([["a"]]), np.zeros((5, 5, 5, 5, 5))])
def test_to_gray01_rejects_non_images(bad) -> None:
    with pytest.raises(InputError):
        to_gray01(bad)


def test_colourfulness_separates_colour_from_gray() -> None:
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
    gray = np.repeat(colour[..., :1], 3, -1)
    assert colourfulness(colour) > 0.2 and colourfulness(gray) == pytest.approx(0.0)


def test_resize_squashes_to_size() -> None:
    assert resize01(np.random.rand(100, 60).astype(np.float32), (28, 28)).shape == (28, 28)


def test_augment_is_seeded_and_in_range() -> None:
    x = torch.rand(4, 1, 32, 32)
    params = augment.AugmentParams(rotate_deg=10, scale=0.1, translate=0.05, hflip=True, gamma=0.2, contrast=0.2,
                                   brightness=0.05, lowres_p=0.5, noise=0.02)
    a = augment.augment(x, params, torch.Generator().manual_seed(3))
    b = augment.augment(x, params, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.min() >= 0 and a.max() <= 1 and not torch.equal(a, x)


def test_one_cycle_lr_shape() -> None:
    assert one_cycle_lr(1.0, 0.0) < one_cycle_lr(1.0, 0.15) == pytest.approx(1.0)
    assert one_cycle_lr(1.0, 1.0) == pytest.approx(1e-3)


def test_gradcam_and_occlusion_on_a_small_network() -> None:
    from models.classification_nets import ClassifierResNet

    torch.manual_seed(0)
    model = ClassifierResNet(widths=[8, 8, 16, 16], stem_stride=1, max_pool=False, small_stem=True).eval()
    x = torch.rand(2, 1, 28, 28)
    hooks_before = sum(len(m._forward_hooks) + len(m._backward_hooks) for m in model.modules())
    for method in explain.METHODS:
        maps = explain.explain(model, x, method)
        assert maps.shape == (2, 28, 28) and maps.min() >= 0 and maps.max() <= 1
    assert sum(len(m._forward_hooks) + len(m._backward_hooks) for m in model.modules()) == hooks_before


def test_overlay_blends_by_opacity() -> None:
    gray = np.zeros((20, 20), np.float32)
    heat = np.ones((10, 10), np.float32)
    assert explain.overlay(gray, heat, 0.0).max() == 0
    assert explain.overlay(gray, heat, 1.0).shape == (20, 20, 3)
    assert explain.overlay(gray, heat, 1.0)[..., 0].mean() > 100
