"""Normalisation: z-score and min-max."""

from __future__ import annotations

import numpy as np

from core.preprocess.base import OpSpec, Param, register


def zscore(frame: np.ndarray, nonzero: bool = False) -> np.ndarray:
    """``(x - mean) / std`` over the frame (or over its non-zero pixels); std 0 -> zeros."""
    values = frame[frame != 0] if nonzero and np.any(frame != 0) else frame
    mean, std = float(np.mean(values)), float(np.std(values))
    return ((frame - mean) / std).astype(np.float32) if std > 0 else np.zeros_like(frame, dtype=np.float32)


def minmax(frame: np.ndarray, out_min: float = 0.0, out_max: float = 1.0) -> np.ndarray:
    """Linear map of the frame's [min, max] onto [out_min, out_max]."""
    lo, hi = float(np.min(frame)), float(np.max(frame))
    if hi <= lo:
        return np.full_like(frame, out_min, dtype=np.float32)
    return ((frame - lo) / (hi - lo) * (out_max - out_min) + out_min).astype(np.float32)


register(OpSpec(name="zscore", label="Normalise: z-score", family="normalise", fn=zscore, rgb="any", units="new",
                params=(Param("nonzero", "bool", False, help="statistics over non-zero pixels only"),),
                doc="Z-score normalisation."))
register(OpSpec(name="minmax", label="Normalise: min-max", family="normalise", fn=minmax, rgb="any", units="new",
                params=(Param("out_min", "float", 0.0), Param("out_max", "float", 1.0)),
                doc="Min-max normalisation."))
