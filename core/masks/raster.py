"""The rasterisation rule of mask edits: which pixels a stroke or a polygon takes.

Image pixel ``(row, col)`` covers ``[col, col + 1) x [row, row + 1)``; it belongs to a shape when
its **centre** ``(col + 0.5, row + 0.5)`` does:

- a stroke (brush / eraser): within ``radius`` of a segment of the polyline (``dist2 <= r2 + 1e-9``,
  segment parameter clamped to [0, 1]: round caps and joins);
- a polygon: inside by the even-odd rule, with half-open edges.

The viewer component rasterises with the same rule in the same float64 arithmetic
(``core/ui/components/viewer/frontend/src/raster.ts``), so the screen and the stored mask agree
pixel for pixel.
"""

from __future__ import annotations

import math

import numpy as np


def pixel_window(x0: float, y0: float, x1: float, y1: float, hw: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Rows/cols whose centres may fall in ``[x0, x1] x [y0, y1]``: ``(r0, r1, c0, c1)`` half-open."""
    h, w = hw
    c0, c1 = max(0, math.floor(x0 - 0.5)), min(w, math.ceil(x1 - 0.5) + 1)
    r0, r1 = max(0, math.floor(y0 - 0.5)), min(h, math.ceil(y1 - 0.5) + 1)
    if c0 >= c1 or r0 >= r1:
        return None
    return r0, r1, c0, c1


def fill_polygon(points: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """``(H, W)`` bool: the pixel centres inside ``points`` (``(n, 2)`` x, y) by the even-odd rule,
    half-open edges."""
    mask = np.zeros(hw, bool)
    window = pixel_window(*points.min(axis=0), *points.max(axis=0), hw)
    if window is None:
        return mask
    r0, r1, c0, c1 = window
    px = (np.arange(c0, c1) + 0.5)[None, :]
    py = (np.arange(r0, r1) + 0.5)[:, None]
    inside = np.zeros((r1 - r0, c1 - c0), bool)
    xs, ys = points[:, 0], points[:, 1]
    for i in range(len(points)):
        xa, ya, xb, yb = xs[i], ys[i], xs[i - 1], ys[i - 1]
        if ya == yb:
            continue
        spans = (ya > py) != (yb > py)  # (rows, 1)
        x_cross = xa + (py - ya) * (xb - xa) / (yb - ya)  # (rows, 1)
        inside ^= spans & (px < x_cross)
    mask[r0:r1, c0:c1] = inside
    return mask


def stroke(points: np.ndarray, radius: float, hw: tuple[int, int]) -> np.ndarray:
    """``(H, W)`` bool: the pixel centres within ``radius`` of the polyline ``points`` (``(n, 2)``
    x, y; one point is a disc), one capsule per segment."""
    mask = np.zeros(hw, bool)
    if len(points) == 1:
        points = np.vstack([points, points])
    r2 = radius * radius
    for a, b in zip(points[:-1], points[1:]):
        window = pixel_window(min(a[0], b[0]) - radius, min(a[1], b[1]) - radius,
                               max(a[0], b[0]) + radius, max(a[1], b[1]) + radius, hw)
        if window is None:
            continue
        r0, r1, c0, c1 = window
        px = (np.arange(c0, c1) + 0.5)[None, :] - a[0]
        py = (np.arange(r0, r1) + 0.5)[:, None] - a[1]
        d = b - a
        length2 = float(d @ d)
        if length2 > 0:
            t = np.clip((px * d[0] + py * d[1]) / length2, 0.0, 1.0)
            dist2 = (px - t * d[0]) ** 2 + (py - t * d[1]) ** 2
        else:
            dist2 = px**2 + py**2
        mask[r0:r1, c0:c1] |= dist2 <= r2 + 1e-9
    return mask
