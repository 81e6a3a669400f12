"""Classic augmentation preview (MONAI transforms), shown beside the GAN samples.

Each kind is one MONAI random transform, applied with probability 1 so the preview always
shows it; ``strength`` in [0, 1] scales its range. Seeded: the same (image, kind, seed,
strength) gives the same view.

Kinds:
    flip: ``RandFlip`` left-right.
    rotation: ``RandRotate`` up to +-30 degrees x strength, border padding.
    elastic: ``Rand2DElastic`` control-point spacing 1/6 of the side, magnitude up to 4 x strength px.
    intensity: ``RandAdjustContrast`` (gamma 1 +- 0.6 x strength) then ``RandScaleIntensity``
        (+-25 % x strength) then ``RandGaussianNoise`` (sd 0.03 x strength).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from core.errors import InputError

KINDS = ("flip", "rotation", "elastic", "intensity")


def _transform(kind: str, strength: float, size: tuple[int, int]) -> Callable:
    from monai.transforms import (Compose, Rand2DElastic, RandAdjustContrast, RandFlip, RandGaussianNoise,
                                  RandRotate, RandScaleIntensity)

    s = float(np.clip(strength, 0.0, 1.0))
    if kind == "flip":
        return RandFlip(prob=1.0, spatial_axis=1)
    if kind == "rotation":
        r = math.radians(30.0 * s)
        return RandRotate(range_x=(-r, r) if r else 0.0, prob=1.0, keep_size=True, padding_mode="border")
    if kind == "elastic":
        spacing = max(2, min(size) // 6)
        return Rand2DElastic(spacing=(spacing, spacing), magnitude_range=(0.0, 4.0 * s + 1e-6), prob=1.0,
                             padding_mode="border")
    if kind == "intensity":
        return Compose([
            RandAdjustContrast(prob=1.0, gamma=(max(0.1, 1 - 0.6 * s), 1 + 0.6 * s)),
            RandScaleIntensity(factors=0.25 * s, prob=1.0),
            RandGaussianNoise(prob=1.0, mean=0.0, std=0.03 * s + 1e-6),
        ])
    raise InputError(f"unknown augmentation {kind!r}; valid: {', '.join(KINDS)}")


def augment_view(image01: np.ndarray, kind: str, seed: int = 0, strength: float = 0.5) -> np.ndarray:
    """One augmented view of a 2-D image in [0, 1] (returned in [0, 1], same shape)."""
    image = np.asarray(image01, dtype=np.float32)
    if image.ndim != 2:
        raise InputError(f"the augmentation preview needs a 2-D image, got shape {image.shape}")
    transform = _transform(kind, strength, image.shape)
    transform.set_random_state(seed=int(seed))
    out = transform(image[None])
    out = np.asarray(out.array if hasattr(out, "array") else out, dtype=np.float32)[0]
    return np.clip(out, 0.0, 1.0)


def preview(image01: np.ndarray, kinds: tuple[str, ...] | list[str] = KINDS, per_kind: int = 3, seed: int = 0,
            strength: float = 0.5) -> list[tuple[str, np.ndarray]]:
    """``per_kind`` seeded views of each kind: ``[(caption, image01), ...]``."""
    views = []
    for kind in kinds:
        for i in range(per_kind):
            views.append((f"{kind} #{i + 1}", augment_view(image01, kind, seed=seed * 1000 + i, strength=strength)))
    return views
