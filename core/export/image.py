"""Processed images out: PNG (windowed), NIfTI (volume + affine), DICOM (see ``derived``), zip."""

from __future__ import annotations

import io

import nibabel as nib
import numpy as np
from PIL import Image

from core.errors import InputError
from core.export.archive import zip_bytes  # noqa: F401 - re-exported for batch callers
from core.export.derived import to_dicom
from core.imaging.display import window_to_uint8
from core.imaging.medimage import MedImage


def to_png(image: MedImage, frame: int = 0, window: tuple[float, float] | None = None) -> bytes:
    """One frame windowed to 8 bits (grey or RGB) as PNG bytes."""
    pixels = window_to_uint8(image.frame(frame), window or image.window)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def default_affine(image: MedImage) -> np.ndarray:
    """(col, row, frame) -> RAS mm when the source had no geometry: LPS-like axes, so a
    reload shows the image the same way round."""
    row, col = image.spacing or (1.0, 1.0)
    return np.diag([-col, -row, image.slice_spacing or 1.0, 1.0])


def to_nifti(image: MedImage) -> bytes:
    """The whole image as .nii.gz bytes: (cols, rows, frames[, 3]) float32 with the affine.

    RGB images become 4-D volumes whose last axis is the colour channel.
    """
    data = np.ascontiguousarray(np.moveaxis(image.pixels, (0, 1, 2), (2, 1, 0)))
    affine = image.affine if image.affine is not None else default_affine(image)
    nifti = nib.Nifti1Image(data, affine)
    nifti.header.set_xyzt_units("mm")
    if image.window:  # the display window travels as cal_min/cal_max
        nifti.header["cal_min"] = image.window[0] - image.window[1] / 2.0
        nifti.header["cal_max"] = image.window[0] + image.window[1] / 2.0
    nifti.header["descrip"] = (image.metadata.get("DerivationDescription") or "MedLens")[:79].encode("ascii", "replace")
    return _gzip_nifti(nifti)


def _gzip_nifti(nifti: nib.Nifti1Image) -> bytes:
    import gzip

    return gzip.compress(nifti.to_bytes(), compresslevel=6)


def export(image: MedImage, fmt: str, frame: int = 0, deidentify: bool = False) -> tuple[bytes, str]:
    """(bytes, extension) for ``fmt`` in png / nifti / dicom (``deidentify``: DICOM only)."""
    fmt = fmt.lower().lstrip(".")
    if fmt == "png":
        return to_png(image, frame), ".png"
    if fmt in ("nifti", "nii", "nii.gz"):
        return to_nifti(image), ".nii.gz"
    if fmt in ("dicom", "dcm"):
        return to_dicom(image, deidentify=deidentify)
    raise InputError(f"unknown export format {fmt!r}; use png, nifti or dicom")


def format_from_path(path: str) -> str:
    """Export format from an output file name (.png, .nii/.nii.gz, .dcm, .zip = DICOM files)."""
    lower = path.lower()
    if lower.endswith(".png"):
        return "png"
    if lower.endswith((".nii", ".nii.gz")):
        return "nifti"
    if lower.endswith((".dcm", ".zip")):
        return "dicom"
    raise InputError(f"{path}: the output must end in .png, .nii, .nii.gz, .dcm or .zip")
