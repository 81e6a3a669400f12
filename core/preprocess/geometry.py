"""Geometry: crop (box), resize, resample to a pixel spacing, rotate, flip."""

from __future__ import annotations

from typing import Any

import numpy as np
from skimage import transform

from core.errors import InputError
from core.preprocess.base import OpSpec, Param, register


def crop(frame: np.ndarray, top: int = 0, left: int = 0, height: int = 0, width: int = 0) -> np.ndarray:
    """Rows ``[top, top + height)`` and columns ``[left, left + width)``, clipped to the image.

    ``height``/``width`` 0 mean "to the edge". An empty result is refused.
    """
    rows, cols = frame.shape[:2]
    bottom = rows if height <= 0 else min(rows, top + height)
    right = cols if width <= 0 else min(cols, left + width)
    top, left = max(0, top), max(0, left)
    if top >= bottom or left >= right:
        raise InputError(f"crop: the box (top {top}, left {left}, {height}x{width}) lies outside the {rows}x{cols} image")
    return frame[top:bottom, left:right].copy()


def box_from_corners(raw: Any, hw: tuple[int, int]) -> dict[str, int] | None:
    """The viewer's crop-mode box ``[x0, y0, x1, y1]`` (whole pixels, untrusted) as
    ``{"top", "left", "height", "width"}`` inside an image of ``hw``; None when it is missing or
    not a box of at least one pixel."""
    if not isinstance(raw, list) or len(raw) != 4 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in raw):
        return None
    x0, y0, x1, y1 = (int(round(float(v))) for v in raw)
    x0, x1 = sorted((min(max(x0, 0), hw[1]), min(max(x1, 0), hw[1])))
    y0, y1 = sorted((min(max(y0, 0), hw[0]), min(max(y1, 0), hw[0])))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return {"top": y0, "left": x0, "height": y1 - y0, "width": x1 - x0}


def resize(frame: np.ndarray, height: int = 256, width: int = 256, order: int = 1) -> np.ndarray:
    """Resize to ``height`` x ``width`` (spline ``order`` 0-3, anti-aliased when shrinking)."""
    shape = (height, width) + frame.shape[2:]
    shrinking = height < frame.shape[0] or width < frame.shape[1]
    return transform.resize(frame, shape, order=order, preserve_range=True, anti_aliasing=shrinking and order > 0, mode="edge")


def resample(frame: np.ndarray, spacing_mm: float = 1.0, order: int = 1, spacing: tuple[float, float] | None = None) -> np.ndarray:
    """Resample to isotropic ``spacing_mm`` pixels; needs the image's pixel spacing."""
    if spacing is None:
        raise InputError("resample: this image has no pixel spacing; use resize instead")
    height = max(1, int(round(frame.shape[0] * spacing[0] / spacing_mm)))
    width = max(1, int(round(frame.shape[1] * spacing[1] / spacing_mm)))
    if height * width > 8192 * 8192:
        raise InputError(f"resample: {spacing_mm} mm would make a {height}x{width} image; choose a larger spacing")
    return resize(frame, height, width, order)


def rotate90(frame: np.ndarray, k: int = 1) -> np.ndarray:
    """Rotate by ``k`` x 90 degrees counter-clockwise (exact, no interpolation)."""
    return np.ascontiguousarray(np.rot90(frame, k=k, axes=(0, 1)))


def rotate(frame: np.ndarray, angle: float = 0.0, order: int = 1) -> np.ndarray:
    """Rotate by ``angle`` degrees counter-clockwise about the centre; same size, edges filled with the minimum."""
    return transform.rotate(frame, angle, order=order, preserve_range=True, mode="constant", cval=float(np.min(frame)))


def flip(frame: np.ndarray, axis: str = "horizontal") -> np.ndarray:
    """Mirror left-right ("horizontal") or top-bottom ("vertical")."""
    return np.ascontiguousarray(frame[:, ::-1] if axis == "horizontal" else frame[::-1])


def _scaled(spacing, params, in_shape, out_shape):
    if spacing is None:
        return None
    return spacing[0] * in_shape[0] / out_shape[0], spacing[1] * in_shape[1] / out_shape[1]


def _rot90_spacing(spacing, params, in_shape, out_shape):
    if spacing is None:
        return None
    return (spacing[1], spacing[0]) if params["k"] % 2 else spacing


register(OpSpec(name="crop", label="Crop (box)", family="geometry", fn=crop, rgb="any",
                params=(Param("top", "int", 0, min=0), Param("left", "int", 0, min=0),
                        Param("height", "int", 0, min=0, help="0 = to the bottom"), Param("width", "int", 0, min=0, help="0 = to the right")),
                doc="Crop to a box (pixels); spacing unchanged."))
register(OpSpec(name="resize", label="Resize", family="geometry", fn=resize, rgb="any", spacing=_scaled,
                params=(Param("height", "int", 256, min=1, max=8192), Param("width", "int", 256, min=1, max=8192),
                        Param("order", "int", 1, min=0, max=3, help="0 nearest, 1 linear, 3 cubic")),
                doc="Resize to a size in pixels (scikit-image); spacing scaled."))
register(OpSpec(name="resample", label="Resample to spacing", family="geometry", fn=resample, rgb="any", spacing=_scaled,
                context=("spacing",),
                params=(Param("spacing_mm", "float", 1.0, min=0.01, max=100.0), Param("order", "int", 1, min=0, max=3)),
                doc="Resample to isotropic pixel spacing in mm."))
register(OpSpec(name="rotate90", label="Rotate 90°", family="geometry", fn=rotate90, rgb="any", spacing=_rot90_spacing,
                params=(Param("k", "int", 1, min=-3, max=3, help="quarter turns, counter-clockwise"),),
                doc="Rotate by multiples of 90 degrees."))
register(OpSpec(name="rotate", label="Rotate (angle)", family="geometry", fn=rotate, rgb="any",
                params=(Param("angle", "float", 0.0, min=-360.0, max=360.0), Param("order", "int", 1, min=0, max=3)),
                doc="Rotate by an angle (scikit-image)."))
register(OpSpec(name="flip", label="Flip", family="geometry", fn=flip, rgb="any",
                params=(Param("axis", "choice", "horizontal", choices=("horizontal", "vertical")),),
                doc="Mirror horizontally or vertically."))
