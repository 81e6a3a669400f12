"""Masks as NIfTI (``.nii.gz``), in the image's own voxel grid.

The mask ``(frames, H, W)`` is stored as ``(W, H, frames)`` (NIfTI's i = column, j = row,
k = frame), with the image's affine when it has one (``MedImage.affine``: RAS+ mm) or a
diagonal affine from the pixel spacing.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Sequence

import nibabel as nib
import numpy as np

from core.errors import InputError


def mask_nifti_image(
    mask: np.ndarray,
    affine: np.ndarray | None = None,
    spacing: Sequence[float] | None = None,
    slice_spacing: float | None = None,
) -> nib.Nifti1Image:
    """A uint8 NIfTI image of a ``(H, W)`` or ``(frames, H, W)`` mask (1 = structure)."""
    array = np.asarray(mask)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise InputError(f"mask must be (H, W) or (frames, H, W), got shape {tuple(np.shape(mask))}")
    data = (array > 0).astype(np.uint8).transpose(2, 1, 0)
    if affine is None:
        row, col = (spacing or (1.0, 1.0))[:2]
        affine = np.diag([float(col), float(row), float(slice_spacing or 1.0), 1.0])
    image = nib.Nifti1Image(data, np.asarray(affine, dtype=float))
    image.header.set_intent("label", name="MedLens mask")
    return image


def mask_nifti_bytes(mask: np.ndarray, **geometry) -> bytes:
    """``.nii.gz`` file content (for downloads)."""
    image = mask_nifti_image(mask, **geometry)
    raw = io.BytesIO()
    file_map = image.make_file_map({"image": raw, "header": raw})
    image.to_file_map(file_map)
    return gzip.compress(raw.getvalue())


def write_mask_nifti(mask: np.ndarray, path: str | Path, **geometry) -> Path:
    """Write ``mask`` as NIfTI (compressed when the name ends in ``.gz``)."""
    path = Path(path)
    nib.save(mask_nifti_image(mask, **geometry), str(path))
    return path
