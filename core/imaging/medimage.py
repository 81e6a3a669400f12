"""``MedImage``: the one in-memory image type every page and command works on."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np


@dataclass
class MedImage:
    """Pixels in modality units plus what is needed to show, measure and export them.

    ``pixels`` is float32, ``(frames, H, W)`` for grey images or ``(frames, H, W, 3)`` for RGB.
    Grey values are modality units (HU for CT after RescaleSlope/Intercept); MONOCHROME1
    images are already flipped to MONOCHROME2 polarity (bright = dense), so every consumer
    can assume "higher is brighter". ``affine`` maps ``(col, row, frame, 1)`` indices to
    RAS+ millimetres (the NIfTI convention), so ``pixels.transpose(2, 1, 0)`` with it is a
    valid NIfTI volume.
    """

    pixels: np.ndarray
    spacing: tuple[float, float] | None = None
    slice_spacing: float | None = None
    modality: str = "OT"
    window: tuple[float, float] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    name: str = "image"
    kind: str = "raster"
    datasets: list = field(default_factory=list)
    affine: np.ndarray | None = None

    def __post_init__(self) -> None:
        pixels = np.asarray(self.pixels)
        if pixels.ndim == 2:
            pixels = pixels[None]
        if pixels.ndim not in (3, 4) or (pixels.ndim == 4 and pixels.shape[-1] != 3):
            raise ValueError(f"pixels must be (frames, H, W) or (frames, H, W, 3), got {pixels.shape}")
        self.pixels = pixels.astype(np.float32, copy=False)

    @property
    def n_frames(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def is_rgb(self) -> bool:
        return self.pixels.ndim == 4

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.pixels.shape)

    def frame(self, i: int = 0) -> np.ndarray:
        """Frame ``i`` (clamped to the valid range): ``(H, W)`` or ``(H, W, 3)``."""
        return self.pixels[int(np.clip(i, 0, self.n_frames - 1))]

    def with_pixels(self, pixels: np.ndarray, **changes: Any) -> "MedImage":
        """A copy with new pixels (and any other field changed); metadata is copied."""
        changes.setdefault("metadata", dict(self.metadata))
        return replace(self, pixels=pixels, **changes)

    def summary(self) -> dict[str, Any]:
        """JSON-friendly description (used by ``python -m core inspect``)."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "modality": self.modality,
            "shape": list(self.shape),
            "spacing_mm": list(self.spacing) if self.spacing else None,
            "slice_spacing_mm": self.slice_spacing,
            "window": [round(float(v), 3) for v in self.window] if self.window else None,
            "range": [float(self.pixels.min()), float(self.pixels.max())] if self.pixels.size else None,
        }
        for key, meta_key in (
            ("transfer_syntax", "TransferSyntax"),
            ("photometric", "PhotometricInterpretation"),
            ("polarity", "Polarity"),
            ("sop_class", "SOPClassName"),
        ):
            if meta_key in self.metadata:
                out[key] = self.metadata[meta_key]
        return out
