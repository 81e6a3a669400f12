"""Window/level to 8-bit for display and PNG export."""

from __future__ import annotations

import numpy as np

from core.imaging.medimage import MedImage


def window_to_uint8(array: np.ndarray, window: tuple[float, float] | None) -> np.ndarray:
    """Map ``[center - width/2, center + width/2]`` linearly onto 0..255 (clipped).

    Without a window, the 0.5/99.5 percentiles of ``array`` are used. RGB arrays are
    windowed per value, so the default RGB window (127.5, 255) leaves them unchanged.
    """
    a = np.asarray(array, dtype=np.float32)
    if window is None:
        window = auto_window(a)
    center, width = float(window[0]), max(float(window[1]), 1e-6)
    lo = center - width / 2.0
    out = (a - lo) * (255.0 / width)
    np.clip(out, 0, 255, out=out)
    return (out + 0.5).astype(np.uint8)


def auto_window(array: np.ndarray, low: float = 0.5, high: float = 99.5) -> tuple[float, float]:
    """A (center, width) spanning the given percentiles of a subsample of ``array``."""
    a = np.asarray(array, dtype=np.float32)
    step = max(1, a.size // 262_144)
    sample = a.reshape(-1)[::step]
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return 0.5, 1.0
    lo, hi = np.percentile(sample, [low, high])
    if hi <= lo:
        lo, hi = float(sample.min()), float(sample.max())
    return (float(lo) + float(hi)) / 2.0, max(float(hi) - float(lo), 1e-6)


def frame_to_uint8(image: MedImage, index: int = 0, window: tuple[float, float] | None = None) -> np.ndarray:
    """Frame ``index`` of ``image`` windowed (by ``window`` or the image's default) to uint8."""
    return window_to_uint8(image.frame(index), window or image.window)


def side_by_side(left: np.ndarray, right: np.ndarray, gap: int = 8) -> np.ndarray:
    """Two uint8 pictures (grey or RGB) as one RGB picture, top-aligned, with ``gap`` dark columns
    between (heights may differ: the shorter is padded). Cine playback shows Before and After so:
    one picture, hence always one frame in both panels."""
    def rgb(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, np.uint8)
        return np.repeat(a[..., None], 3, axis=-1) if a.ndim == 2 else a[..., :3]

    a, b = rgb(left), rgb(right)
    out = np.full((max(a.shape[0], b.shape[0]), a.shape[1] + gap + b.shape[1], 3), 14, np.uint8)
    out[: a.shape[0], : a.shape[1]] = a
    out[: b.shape[0], a.shape[1] + gap:] = b
    return out
