"""Colour to gray: ITU-R BT.601 luma, the one weighting every reader and model input uses."""

from __future__ import annotations

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luma(rgb: np.ndarray) -> np.ndarray:
    """``(..., 3)`` RGB -> ``(...)`` float32 gray with BT.601 weights (0.299 R + 0.587 G + 0.114 B)."""
    return np.asarray(rgb, dtype=np.float32)[..., :3] @ LUMA
