"""Whole-mask edit operations (each returns a new boolean mask; the input is not changed)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

CROSS = ndimage.generate_binary_structure(2, 1)  # 4-neighbourhood: one pixel = one step
EIGHT = np.ones((3, 3), bool)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Background regions not connected to the border become foreground."""
    return ndimage.binary_fill_holes(np.asarray(mask, bool))


def keep_largest(mask: np.ndarray) -> np.ndarray:
    """Only the largest 8-connected component (ties: the first in raster order)."""
    mask = np.asarray(mask, bool)
    labels, count = ndimage.label(mask, structure=EIGHT)
    if count <= 1:
        return mask.copy()
    sizes = np.bincount(labels.ravel())[1:]
    return labels == int(np.argmax(sizes)) + 1


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
