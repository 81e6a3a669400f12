"""Test-time-augmentation (TTA) uncertainty and the low-confidence rule.

The model sees ``views`` mild perturbations of the image (small shifts, zoom, rotation,
contrast; flips only where the card allows them). The spread of the calibrated
probabilities over the views is the interval shown to the user (``percentiles`` of the
views). Rule: the prediction is **low confidence** when that interval contains the decision
threshold, i.e. harmless perturbations could flip the label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.classification.augment import AugmentParams, augment
from core.classification.calibration import calibrated_probs
from core.registry import ModelSpec, Uncertainty

TTA_PARAMS = dict(rotate_deg=5.0, scale=0.05, aspect=0.03, translate=0.03, gamma=0.1, contrast=0.05, brightness=0.02)


@dataclass
class Interval:
    low: float
    high: float
    std: float


def settings(spec: ModelSpec) -> Uncertainty:
    """The card's TTA rule (views, interval percentiles, seed)."""
    return spec.card.uncertainty


def tta_params(spec: ModelSpec) -> AugmentParams:
    return AugmentParams(hflip=spec.preprocessing.hflip_invariant, **TTA_PARAMS)


def tta_probs(model: torch.nn.Module, batch: torch.Tensor, spec: ModelSpec) -> np.ndarray:
    """Calibrated P(positive) of ``views`` TTA views: ``(views, N)``; view 0 is the original."""
    cfg = settings(spec)
    mean, std = spec.preprocessing.mean, spec.preprocessing.std
    generator = torch.Generator().manual_seed(cfg.seed)
    x01 = batch * std + mean
    n = batch.shape[0]
    views = [x01] + [augment(x01, tta_params(spec), generator) for _ in range(cfg.views - 1)]
    stacked = (torch.cat(views) - mean) / std
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
