"""Mask clean-up suited to each target (named in the card's ``preprocessing.postprocess``).

- ``lungs``: keep the two largest components, fill holes (lung fields are two solid regions).
- ``components``: drop components smaller than ``min_fraction`` of the image, fill holes
  (polyps: one or a few blobs).
- ``none``: the thresholded mask as is.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from scipy import ndimage

from core.masks.ops import keep_largest


def drop_small(mask: np.ndarray, min_fraction: float, keep_points: Sequence[tuple[int, int]] = ()) -> np.ndarray:
    """Remove components smaller than ``min_fraction`` of the image area (clicked ones stay)."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if count == 0:
        return mask.astype(bool)
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_fraction * mask.size
    keep[0] = False
    for r, c in keep_points:
        keep[labels[r, c]] = labels[r, c] > 0
    return keep[labels]


def postprocess(
    mask: np.ndarray,
    method: str | None,
    options: dict[str, Any] | None = None,
    keep_points: Sequence[tuple[int, int]] = (),
) -> np.ndarray:
    """Apply the named clean-up to a boolean ``(H, W)`` mask; ``keep_points`` (row, col) are
    positive clicks whose components are never dropped."""
    options = options or {}
    mask = np.asarray(mask, dtype=bool)
    if not method or method == "none" or not mask.any():
        return mask
    if method == "lungs":
        mask = keep_largest(mask, int(options.get("components", 2)), keep_points)
    elif method == "components":
        mask = drop_small(mask, float(options.get("min_fraction", 0.002)), keep_points)
    else:
        raise ValueError(f"unknown post-processing {method!r}")
    return ndimage.binary_fill_holes(mask)
