"""Opacity burden: the share of lung area covered by opacity, overall and per lung; lung areas.

Radiologists grade COVID-19 / pneumonia radiographs by how much of each lung is opaque
(e.g. the RALE and Brixia scores); the share of lung area affected is the continuous version
of that. Opacity outside the lung fields is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from scipy import ndimage

from core.masks.measure import area_units


@dataclass
class Severity:
    """Masks and scores; ``right_lung`` is the patient's right, i.e. the image's left side
    on a standard frontal (PA/AP) radiograph."""

    lung_mask: np.ndarray
    opacity_mask: np.ndarray  # restricted to the lungs
    share: float  # opacity area / lung area, 0..1
    right_lung_share: float | None
    left_lung_share: float | None

    def summary(self) -> dict[str, Any]:
        return {
            "lung_area_px": int(self.lung_mask.sum()),
            "opacity_area_px": int(self.opacity_mask.sum()),
            "share_of_lung_affected": round(self.share, 4),
            "right_lung_share": None if self.right_lung_share is None else round(self.right_lung_share, 4),
            "left_lung_share": None if self.left_lung_share is None else round(self.left_lung_share, 4),
        }


def split_lungs(lung_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The two largest lung components as (image-left, image-right); None if fewer than two."""
    labels, count = ndimage.label(lung_mask)
    if count < 2:
        return None
    sizes = np.bincount(labels.ravel())[1:]
    a, b = (np.argsort(sizes)[::-1][:2] + 1).tolist()
    cols = np.arange(lung_mask.shape[1])
    centre = {k: float((np.where(labels == k, 1, 0).sum(axis=0) * cols).sum() / sizes[k - 1]) for k in (a, b)}
    left_img, right_img = sorted((a, b), key=lambda k: centre[k])
    return labels == left_img, labels == right_img


def severity_from_masks(lung_mask: np.ndarray, opacity_mask: np.ndarray) -> Severity:
    """Restrict ``opacity_mask`` to ``lung_mask`` and measure the share of lung affected."""
    lung = np.asarray(lung_mask, bool)
    opacity = np.asarray(opacity_mask, bool) & lung
    lung_area = int(lung.sum())
    share = float(opacity.sum() / lung_area) if lung_area else 0.0
    halves = split_lungs(lung)
    right = left = None
    if halves is not None:
        image_left, image_right = halves
        right = float((opacity & image_left).sum() / image_left.sum())
        left = float((opacity & image_right).sum() / image_right.sum())
    return Severity(lung, opacity, share, right, left)


def lung_summary(masks: dict[str, np.ndarray], spacing: Sequence[float] | None = None,
                 lung_label: str = "lung", opacity_label: str = "opacity") -> dict[str, Any]:
    """Left/right lung areas and, with an opacity mask, the share of lung affected (%).

    Empty dict when there is no lung mask."""
    lung = masks.get(lung_label)
    if lung is None or not np.any(lung):
        return {}
    pixel_area, area_unit, _ = area_units(spacing)
    out: dict[str, Any] = {"area_unit": area_unit, "lung_area": round(float(np.sum(lung)) * pixel_area, 3)}
    halves = split_lungs(np.asarray(lung, bool))
    if halves is not None:
        image_left, image_right = halves
        out["right_lung_area"] = round(float(image_left.sum()) * pixel_area, 3)  # patient's right
        out["left_lung_area"] = round(float(image_right.sum()) * pixel_area, 3)
    opacity = masks.get(opacity_label)
    if opacity is not None:
        severity = severity_from_masks(lung, opacity)
        out["percent_lung_affected"] = round(100 * severity.share, 2)
        if severity.right_lung_share is not None:
            out["percent_right_lung_affected"] = round(100 * severity.right_lung_share, 2)
            out["percent_left_lung_affected"] = round(100 * severity.left_lung_share, 2)
    return out
