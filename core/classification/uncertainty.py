"""Test-time-augmentation (TTA) uncertainty and the low-confidence rule.

The model sees ``views`` mild perturbations of the image (small shifts, zoom, rotation,
contrast; flips only where the card allows them), drawn by MONAI's random transforms. The spread of the calibrated
probabilities over the views is the interval shown to the user (``percentiles`` of the
views). Rule: the prediction is **low confidence** when that interval contains the decision
threshold, i.e. harmless perturbations could flip the label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from monai.transforms import (
    Compose,
    RandAdjustContrast,
    RandAffine,
    RandFlip,
    RandScaleIntensityFixedMean,
    RandShiftIntensity,
)
from monai.utils import convert_to_tensor

from core.classification.calibration import calibrated_probs
from core.registry import ModelSpec, Uncertainty

# Mild views a radiologist would call the same image: +-5 degrees, +-5% zoom with +-3% aspect,
# +-3% shift, gamma within exp(+-0.1), +-5% contrast around the mean, +-0.02 brightness.
ROTATE_DEG, ZOOM, ASPECT, SHIFT, LOG_GAMMA, CONTRAST, BRIGHTNESS = 5.0, 0.05, 0.03, 0.03, 0.1, 0.05, 0.02


@dataclass
class Interval:
    low: float
    high: float
    std: float


def settings(spec: ModelSpec) -> Uncertainty:
    """The card's TTA rule (views, interval percentiles, seed)."""
    return spec.card.uncertainty


def tta_transform(spec: ModelSpec, seed: int) -> Compose:
    """MONAI's random view of one ``(C, H, W)`` image in [0, 1], seeded (intervals are reproducible)."""
    h, w = spec.preprocessing.size
    steps = [
        RandAffine(prob=1.0, rotate_range=math.radians(ROTATE_DEG), scale_range=(ZOOM + ASPECT, ZOOM + ASPECT),
                   translate_range=(SHIFT * h, SHIFT * w), padding_mode="border", mode="bilinear"),
        RandAdjustContrast(prob=1.0, gamma=(math.exp(-LOG_GAMMA), math.exp(LOG_GAMMA))),
        RandScaleIntensityFixedMean(prob=1.0, factors=CONTRAST),
        RandShiftIntensity(prob=1.0, offsets=BRIGHTNESS),
    ]
    if spec.preprocessing.hflip_invariant:
        steps.append(RandFlip(prob=0.5, spatial_axis=1))
    transform = Compose(steps)
    transform.set_random_state(seed=seed)
    return transform


def tta_views(x01: torch.Tensor, spec: ModelSpec) -> list[torch.Tensor]:
    """``views`` batches like ``x01`` (``(N, C, H, W)`` in [0, 1]): the original, then random views."""
    transform = tta_transform(spec, settings(spec).seed)
    views = [x01]
    for _ in range(settings(spec).views - 1):
        views.append(torch.stack([convert_to_tensor(transform(image), track_meta=False).float().clamp(0, 1)
                                  for image in x01]))
    return views


def tta_probs(model: torch.nn.Module, batch: torch.Tensor, spec: ModelSpec) -> np.ndarray:
    """Calibrated P(positive) of ``views`` TTA views: ``(views, N)``; view 0 is the original."""
    mean, std = spec.preprocessing.mean, spec.preprocessing.std
    x01 = batch * std + mean
    n = batch.shape[0]
    views = tta_views(x01.cpu(), spec)
    stacked = ((torch.cat(views) - mean) / std).to(batch.device)
    with torch.no_grad():
        probs = calibrated_probs(model(stacked), spec)
    return probs.reshape(len(views), n)


def intervals(probs: np.ndarray, spec: ModelSpec) -> list[Interval]:
    """Per image: the percentile interval and std over the views."""
    lo_p, hi_p = settings(spec).percentiles
    low, high = np.percentile(probs, lo_p, axis=0), np.percentile(probs, hi_p, axis=0)
    std = probs.std(axis=0)
    return [Interval(float(a), float(b), float(s)) for a, b, s in zip(low, high, std)]


def tta_interval(model: torch.nn.Module, batch: torch.Tensor, spec: ModelSpec) -> Interval:
    """The interval of the first image of ``batch``."""
    return intervals(tta_probs(model, batch[:1], spec), spec)[0]


def is_low_confidence(prob: float, interval: Interval, spec: ModelSpec) -> bool:
    """True when the TTA interval contains the threshold (see module docstring)."""
    threshold = spec.threshold
    return bool(min(interval.low, prob) <= threshold <= max(interval.high, prob))


def rule_text(spec: ModelSpec) -> str:
    cfg = settings(spec)
    lo, hi = (f"{p:g}" for p in cfg.percentiles)
    return (
        f"low confidence when the {lo}th-{hi}th percentile interval of the calibrated probability over "
        f"{cfg.views} test-time augmentations contains the threshold"
    )
