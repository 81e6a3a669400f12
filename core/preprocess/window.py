"""Window/level with presets (modality units in, [0, 1] out)."""

from __future__ import annotations

import numpy as np

from core.errors import InputError
from core.preprocess.base import OpSpec, Param, register

# (center, width) in HU; the usual radiology defaults.
CT_PRESETS: dict[str, tuple[float, float]] = {
    "CT lung": (-600.0, 1500.0),
    "CT mediastinum": (50.0, 350.0),
    "CT bone": (400.0, 1800.0),
    "CT brain": (40.0, 80.0),
    "CT abdomen": (40.0, 400.0),
    "CT liver": (60.0, 160.0),
}
PRESET_NAMES = ("custom", "dicom default", "auto (percentiles)", *CT_PRESETS)


def resolve_window(
    preset: str,
    center: float,
    width: float,
    default_window: tuple[float, float] | None = None,
    auto_window: tuple[float, float] | None = None,
) -> tuple[float, float]:
    """(center, width) for a preset name: a CT preset, the file's default, auto, or custom."""
    if preset in CT_PRESETS:
        return CT_PRESETS[preset]
    if preset == "dicom default":
        if default_window is None:
            raise InputError("window: this image has no default window (WindowCenter/Width); pick another preset")
        return float(default_window[0]), float(default_window[1])
    if preset == "auto (percentiles)":
        if auto_window is None:
            raise InputError("window: the auto window needs the image (none given)")
        return float(auto_window[0]), float(auto_window[1])
    if preset != "custom":
        raise InputError(f"window: unknown preset {preset!r}; valid: {', '.join(PRESET_NAMES)}")
    return float(center), float(width)


def window(
    frame: np.ndarray,
    preset: str = "custom",
    center: float = 40.0,
    width: float = 400.0,
    default_window: tuple[float, float] | None = None,
    auto_window: tuple[float, float] | None = None,
) -> np.ndarray:
    """Clip to ``[center - width/2, center + width/2]`` and scale to [0, 1].

    Args:
        preset: "custom" uses ``center``/``width``; "dicom default" the file's
            WindowCenter/Width; "auto (percentiles)" the 0.5-99.5 % range of the whole image
            (for X-ray and MR, whose units are arbitrary); CT presets in HU.
    """
    c, w = resolve_window(preset, center, width, default_window, auto_window)
    lo = c - w / 2.0
    return np.clip((frame - lo) / max(w, 1e-6), 0.0, 1.0).astype(np.float32)


register(OpSpec(
    name="window", label="Window / level", family="intensity", fn=window, rgb="any", units="unit",
    context=("default_window", "auto_window"),
    params=(
        Param("preset", "choice", "custom", choices=PRESET_NAMES, help="CT presets are in HU"),
        Param("center", "float", 40.0, help="window center (modality units), for custom"),
        Param("width", "float", 400.0, min=1e-6, help="window width (modality units), for custom"),
    ),
    doc="Window/level to [0, 1]: CT presets, the DICOM default, auto percentiles or custom.",
))
