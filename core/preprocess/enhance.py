"""Sharpening and contrast: unsharp mask, CLAHE, gamma, histogram equalisation, rescale."""

from __future__ import annotations

import numpy as np
from skimage import exposure, filters

from core.preprocess.base import OpSpec, Param, from_unit, register, to_unit


def unsharp_mask(frame: np.ndarray, radius: float = 1.0, amount: float = 1.0) -> np.ndarray:
    """``frame + amount * (frame - gaussian(frame, radius))``, in the input's units."""
    return filters.unsharp_mask(np.asarray(frame, dtype=np.float64), radius=radius, amount=amount, preserve_range=True)


def clahe(frame: np.ndarray, clip_limit: float = 0.01, kernel_size: int = 0, nbins: int = 256) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation over the frame's own range.

    Args:
        clip_limit: 0..1, higher = more contrast (scikit-image semantics).
        kernel_size: tile side in pixels; 0 = 1/8 of the image (scikit-image default).
    The result is mapped back to the input's [min, max]; window first for CT.
    """
    unit, lo, hi = to_unit(frame)
    out = exposure.equalize_adapthist(unit, kernel_size=kernel_size or None, clip_limit=clip_limit, nbins=nbins)
    return from_unit(out, lo, hi)


def gamma(frame: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """Power law on the frame's [min, max] range (gamma < 1 brightens, > 1 darkens)."""
    unit, lo, hi = to_unit(frame)
    return from_unit(np.power(unit, gamma), lo, hi)


def histogram_equalisation(frame: np.ndarray, nbins: int = 256) -> np.ndarray:
    """Global histogram equalisation, mapped back to the input's [min, max]."""
    unit, lo, hi = to_unit(frame)
    return from_unit(exposure.equalize_hist(unit, nbins=nbins), lo, hi)


def rescale_intensity(frame: np.ndarray, low_pct: float = 1.0, high_pct: float = 99.0,
                      out_min: float = 0.0, out_max: float = 1.0) -> np.ndarray:
    """Linear map of the [low_pct, high_pct] percentiles to [out_min, out_max], clipped."""
    lo, hi = np.percentile(frame, [low_pct, min(max(high_pct, low_pct), 100.0)])
    if hi <= lo:
        hi = lo + 1e-6
    return exposure.rescale_intensity(frame, in_range=(float(lo), float(hi)), out_range=(out_min, out_max))


register(OpSpec(name="unsharp_mask", label="Sharpen: unsharp mask", family="sharpen", fn=unsharp_mask,
                params=(Param("radius", "float", 1.0, min=0.1, max=20.0, step=0.1), Param("amount", "float", 1.0, min=0.0, max=10.0, step=0.1)),
                doc="Unsharp mask (scikit-image)."))
register(OpSpec(name="clahe", label="Contrast: CLAHE", family="contrast", fn=clahe,
                params=(Param("clip_limit", "float", 0.01, min=0.0, max=1.0, step=0.005), Param("kernel_size", "int", 0, min=0, max=512),
                        Param("nbins", "int", 256, min=16, max=4096)),
                doc="CLAHE (scikit-image), in the frame's own range."))
register(OpSpec(name="gamma", label="Contrast: gamma", family="contrast", fn=gamma,
                params=(Param("gamma", "float", 1.0, min=0.05, max=10.0, step=0.05),), doc="Gamma correction."))
register(OpSpec(name="histogram_equalisation", label="Contrast: histogram equalisation", family="contrast",
                fn=histogram_equalisation, params=(Param("nbins", "int", 256, min=16, max=4096),), doc="Histogram equalisation (scikit-image)."))
register(OpSpec(name="rescale_intensity", label="Contrast: intensity rescale", family="contrast", fn=rescale_intensity,
                rgb="any", units="new",
                params=(Param("low_pct", "float", 1.0, min=0.0, max=100.0), Param("high_pct", "float", 99.0, min=0.0, max=100.0),
                        Param("out_min", "float", 0.0), Param("out_max", "float", 1.0)),
                doc="Percentile intensity rescale (scikit-image)."))
