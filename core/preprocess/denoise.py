"""Denoising: Gaussian, median, non-local means, total variation (scipy / scikit-image)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.restoration import denoise_nl_means, denoise_tv_chambolle

from core.preprocess.base import OpSpec, Param, from_unit, register, to_unit


_LAPLACE_MASK = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)


def estimate_noise(frame: np.ndarray) -> float:
    """Gaussian noise sigma by Immerkaer's method (Fast Noise Variance Estimation, CVIU 1996).

    Used instead of scikit-image's wavelet estimate, which needs PyWavelets.
    """
    if min(frame.shape[:2]) < 3:
        return 0.0
    response = ndimage.convolve(frame.astype(np.float32), _LAPLACE_MASK, mode="reflect")[1:-1, 1:-1]
    h, w = frame.shape[0] - 2, frame.shape[1] - 2
    return float(np.sqrt(np.pi / 2.0) * np.abs(response).sum() / (6.0 * h * w))


def gaussian(frame: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Gaussian blur with standard deviation ``sigma`` pixels (0 = unchanged)."""
    return ndimage.gaussian_filter(frame, sigma=sigma, mode="nearest") if sigma > 0 else frame.copy()


def median(frame: np.ndarray, size: int = 3) -> np.ndarray:
    """Median over a ``size`` x ``size`` window: removes salt-and-pepper noise, keeps edges."""
    return ndimage.median_filter(frame, size=size, mode="nearest")


def nl_means(frame: np.ndarray, strength: float = 0.8, patch_size: int = 5, patch_distance: int = 6) -> np.ndarray:
    """Non-local means; the filter strength is ``strength`` x the estimated noise sigma.

    Slow by design (not interactive on large images): patches are compared within
    ``patch_distance`` pixels.
    """
    unit, lo, hi = to_unit(frame)
    sigma = estimate_noise(unit)
    if sigma <= 0:
        return frame.copy()
    out = denoise_nl_means(unit, h=strength * sigma, sigma=sigma, patch_size=patch_size,
                           patch_distance=patch_distance, fast_mode=True)
    return from_unit(out, lo, hi)


def total_variation(frame: np.ndarray, weight: float = 0.05, max_iter: int = 10) -> np.ndarray:
    """Chambolle total-variation denoising (edge preserving); ``weight`` on the [0, 1] scale."""
    unit, lo, hi = to_unit(frame)
    return from_unit(denoise_tv_chambolle(unit, weight=weight, max_num_iter=max_iter), lo, hi)


register(OpSpec(name="gaussian", label="Denoise: Gaussian", family="denoise", fn=gaussian,
                params=(Param("sigma", "float", 1.0, min=0.0, max=20.0, step=0.1, help="pixels"),),
                doc="Gaussian blur (scipy.ndimage)."))
register(OpSpec(name="median", label="Denoise: median", family="denoise", fn=median,
                params=(Param("size", "int", 3, min=1, max=15, help="window side in pixels"),),
                doc="Median filter (scipy.ndimage)."))
register(OpSpec(name="nl_means", label="Denoise: non-local means", family="denoise", fn=nl_means, interactive=False,
                params=(Param("strength", "float", 0.8, min=0.01, max=5.0, step=0.05, help="x estimated noise sigma"),
                        Param("patch_size", "int", 5, min=3, max=11),
                        Param("patch_distance", "int", 6, min=1, max=15)),
                doc="Non-local means (scikit-image), strength relative to the estimated noise."))
register(OpSpec(name="total_variation", label="Denoise: total variation", family="denoise", fn=total_variation,
                params=(Param("weight", "float", 0.05, min=0.0, max=1.0, step=0.01, help="on the [0, 1] scale"),
                        Param("max_iter", "int", 10, min=1, max=500, help="10 is within 1 % of convergence")),
                doc="Total-variation denoising, Chambolle (scikit-image)."))
