"""Out-of-distribution warning: is this image unlike the model's training modality?

Two checks, either one flags the image:
1. colour: the training images are gray (X-ray, ultrasound); an input whose colourfulness
   (Hasler-Suesstrunk) exceeds ``colour_threshold`` is a photograph of something else
   (endoscopy, dermatology) whatever the model thinks of its luminance;
2. features: the Mahalanobis distance of the model's globally pooled features of all four
   residual stages (``model.embed``) from the training images' (mean and Ledoit-Wolf shrunk
   precision stored as model buffers) exceeds ``distance_threshold``, the 99th percentile of
   the validation images' distances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.covariance import LedoitWolf

from core.registry import ModelSpec, OodRule


@dataclass
class OODCheck:
    flag: bool
    reason: str
    score: float
    colourfulness: float


def has_statistics(model: torch.nn.Module) -> bool:
    precision = getattr(model, "ood_precision", None)
    return hasattr(model, "embed") and precision is not None and bool(torch.any(precision != 0))


def distances(model: torch.nn.Module, batch: torch.Tensor) -> np.ndarray:
    """Mahalanobis distance of each image's features from the training features."""
    with torch.no_grad():
        feats = model.embed(batch).double()
        diff = feats - model.ood_mean.double()
        d2 = torch.einsum("ni,ij,nj->n", diff, model.ood_precision.double(), diff)
    return d2.clamp_min(0).sqrt().cpu().numpy()


def fit_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and Ledoit-Wolf shrunk precision of training features (N, D)."""
    estimator = LedoitWolf().fit(np.asarray(features, dtype=np.float64))
    return estimator.location_, estimator.precision_


def settings(spec: ModelSpec) -> OodRule:
    """The card's OOD rule (colourfulness and feature-distance thresholds)."""
    return spec.card.ood


def check(model: torch.nn.Module, batch: torch.Tensor, gray, spec: ModelSpec) -> OODCheck:
    """Flag one image (``batch`` of one, ``gray`` its ``GrayImage``) as out of distribution."""
    cfg = settings(spec)
    colour = float(getattr(gray, "colourfulness", 0.0))
    score = float(distances(model, batch[:1])[0]) if has_statistics(model) else float("nan")
    reasons = []
    if colour > cfg.colour_threshold:
        reasons.append(f"colour image (colourfulness {colour:.2f} > {cfg.colour_threshold:.2f})")
    if np.isfinite(score) and score > cfg.distance_threshold:
        reasons.append(f"unlike the training images (feature distance {score:.1f} > {cfg.distance_threshold:.1f})")
    return OODCheck(bool(reasons), "; ".join(reasons), score, colour)


def flag_many(model: torch.nn.Module, batch: torch.Tensor, colours: np.ndarray, spec: ModelSpec) -> dict[str, np.ndarray]:
    """Vectorised flags for a batch: colour, feature and combined."""
    cfg = settings(spec)
    dist = distances(model, batch) if has_statistics(model) else np.full(len(batch), np.nan)
    colour_flag = np.asarray(colours) > cfg.colour_threshold
    feature_flag = np.nan_to_num(dist, nan=-np.inf) > cfg.distance_threshold
    return {"distance": dist, "colour": colour_flag, "feature": feature_flag, "flag": colour_flag | feature_flag}
