"""Measurements of masks: per label and per connected component.

Areas are in mm² when the pixel spacing is known (``spacing = (row_mm, col_mm)``), otherwise
in pixels; the unit is part of every row. The equivalent diameter is that of the disc with the
same area (same unit system). Mean intensity is in the image's modality units (HU for CT);
colour images use ITU-R 601 luminance. For lungs, the two largest components are the image-left
lung (the patient's right on a frontal radiograph) and the image-right lung.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from scipy import ndimage

from core.preprocess.colour import luma

EIGHT = np.ones((3, 3), bool)


def _gray(image: np.ndarray | None) -> np.ndarray | None:
    if image is None:
        return None
    image = np.asarray(image, np.float32)
    return luma(image) if image.ndim == 3 and image.shape[-1] == 3 else image


def area_units(spacing: Sequence[float] | None) -> tuple[float, str, str]:
    """(area of one pixel, area unit, length unit): mm² and mm with a spacing, else px."""
    if spacing:
        return float(spacing[0]) * float(spacing[1]), "mm²", "mm"
    return 1.0, "px", "px"


def _row(label: str, component: str, mask: np.ndarray, gray: np.ndarray | None,
         pixel_area: float, area_unit: str, length_unit: str) -> dict[str, Any]:
    n = int(mask.sum())
    area = n * pixel_area
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    bbox = [int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1] if n else None
    return {
        "label": label,
        "component": component,
        "pixels": n,
        "area": round(area, 3),
        "area_unit": area_unit,
        "equivalent_diameter": round(2 * math.sqrt(area / math.pi), 3),
        "length_unit": length_unit,
        "bbox": bbox,  # [row0, col0, row1, col1], half-open
        "mean_intensity": None if gray is None or n == 0 else round(float(gray[mask].mean()), 3),
    }


def measure_label(label: str, mask: np.ndarray, image: np.ndarray | None = None,
                  spacing: Sequence[float] | None = None, max_components: int = 50) -> list[dict[str, Any]]:
    """One row for the whole label (``component = "all"``) then one per 8-connected component,
    largest first (at most ``max_components``)."""
    mask = np.asarray(mask, bool)
    gray = _gray(image)
    pixel_area, area_unit, length_unit = area_units(spacing)
    out = [_row(label, "all", mask, gray, pixel_area, area_unit, length_unit)]
    labels, count = ndimage.label(mask, structure=EIGHT)
    if count > 1:
        sizes = np.bincount(labels.ravel())[1:]
        for rank, k in enumerate(np.argsort(sizes)[::-1][:max_components], start=1):
            out.append(_row(label, str(rank), labels == k + 1, gray, pixel_area, area_unit, length_unit))
    return out


def measure(masks: dict[str, np.ndarray], image: np.ndarray | None = None,
            spacing: Sequence[float] | None = None) -> list[dict[str, Any]]:
    """Rows of ``measure_label`` for every label with a non-empty mask."""
    rows: list[dict[str, Any]] = []
    for label, mask in masks.items():
        if np.any(mask):
            rows += measure_label(label, mask, image, spacing)
    return rows


def volume_summary(volumes: dict[str, np.ndarray], spacing: Sequence[float] | None = None,
                   slice_spacing: float | None = None) -> list[dict[str, Any]]:
    """Per label over all frames of a volume: voxel count and volume in mm³ (millilitres too)
    when the pixel and slice spacings are known; slices holding the label."""
    out = []
    for label, volume in volumes.items():
        volume = np.asarray(volume, bool)
        n = int(volume.sum())
        row: dict[str, Any] = {"label": label, "voxels": n,
                               "slices": [int(f) for f in np.flatnonzero(volume.any(axis=(1, 2)))]}
        if spacing and slice_spacing:
            mm3 = n * float(spacing[0]) * float(spacing[1]) * float(slice_spacing)
            row.update({"volume_mm3": round(mm3, 3), "volume_ml": round(mm3 / 1000, 4)})
        out.append(row)
    return out
