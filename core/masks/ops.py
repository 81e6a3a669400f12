"""Whole-mask edit operations (each returns a new boolean mask; the input is not changed)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from monai.transforms import KeepLargestConnectedComponent
from scipy import ndimage

CROSS = ndimage.generate_binary_structure(2, 1)  # 4-neighbourhood: one pixel = one step
EIGHT = np.ones((3, 3), bool)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Background regions not connected to the border become foreground."""
    return ndimage.binary_fill_holes(np.asarray(mask, bool))


def keep_largest(mask: np.ndarray, n: int = 1, keep_points: Sequence[tuple[int, int]] = ()) -> np.ndarray:
    """The ``n`` largest 8-connected components (MONAI ``KeepLargestConnectedComponent``), plus
    any component holding a (row, col) in ``keep_points`` (e.g. a positive click)."""
    mask = np.asarray(mask, bool)
    if not mask.any():
        return mask.copy()
    largest = KeepLargestConnectedComponent(is_onehot=False, connectivity=2, num_components=int(n))
    out = np.asarray(largest(mask[None].astype(np.uint8)))[0].astype(bool)
    if keep_points:
        labels, _ = ndimage.label(mask, structure=EIGHT)
        clicked = [int(labels[r, c]) for r, c in keep_points if labels[r, c] > 0]
        out |= np.isin(labels, clicked)
    return out


def grow(mask: np.ndarray, pixels: int = 1) -> np.ndarray:
    """Dilate by ``pixels`` steps of the 4-neighbourhood (city-block distance)."""
    mask = np.asarray(mask, bool)
    return ndimage.binary_dilation(mask, CROSS, iterations=pixels) if pixels > 0 and mask.any() else mask.copy()


def shrink(mask: np.ndarray, pixels: int = 1) -> np.ndarray:
    """Erode by ``pixels`` steps of the 4-neighbourhood; pixels outside the image count as
    background, so a mask touching the border shrinks there too."""
    mask = np.asarray(mask, bool)
    if pixels <= 0 or not mask.any():
        return mask.copy()
    return ndimage.binary_erosion(mask, CROSS, iterations=pixels, border_value=0)


def clear(mask: np.ndarray) -> np.ndarray:
    """An empty mask of the same shape."""
    return np.zeros(np.shape(mask), bool)


OPERATIONS = {
    "fill holes": fill_holes,
    "keep largest": keep_largest,
    "grow 1 px": grow,
    "shrink 1 px": shrink,
    "clear": clear,
}
