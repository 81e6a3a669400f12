"""NIfTI-1/2 (.nii, .nii.gz; 3-D and 4-D) to ``MedImage``, reoriented to RAS+ for display."""

from __future__ import annotations

import io
from typing import Any

import nibabel as nib
import numpy as np

from core.errors import InputError
from core.imaging.medimage import MedImage


def _image_from_bytes(data: bytes, label: str) -> Any:
    fh = nib.FileHolder(fileobj=io.BytesIO(data))
    errors = []
    for klass in (nib.Nifti1Image, nib.Nifti2Image):
        try:
            img = klass.from_file_map({"header": fh, "image": fh})
            img.get_fdata  # noqa: B018 - attribute check only
            return img
        except Exception as exc:  # wrong class or malformed header
            errors.append(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    raise InputError(f"{label}: malformed NIfTI header ({errors[-1]})")


def image_from_nifti(data: bytes, label: str) -> MedImage:
    """Axial frames in radiological display (patient right on the left, anterior at the top).

    The volume is first reoriented to the closest canonical (RAS+) orientation with
    nibabel, so files stored LPS, LAS, sagittal... all display the same way.
    """
    img = _image_from_bytes(data, label)
    try:
        canonical = nib.as_closest_canonical(img)
        volume = np.asanyarray(canonical.dataobj, dtype=np.float32)
    except Exception as exc:
        raise InputError(f"{label}: the NIfTI data cannot be read ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    if volume.ndim < 2 or volume.ndim > 5 or volume.size == 0:
        raise InputError(f"{label}: NIfTI with {volume.ndim} dimensions: only 2-D, 3-D and 4-D volumes are shown")
    while volume.ndim < 3:
        volume = volume[..., None]
    time_points = 1
    if volume.ndim >= 4:
        volume = volume.reshape(volume.shape[:3] + (-1,))
        time_points = volume.shape[3]
    else:
        volume = volume[..., None]
    # (x, y, z, t) RAS+ -> frames (t, z) of (rows = y reversed, cols = x reversed)
    frames = np.ascontiguousarray(volume[::-1, ::-1].transpose(3, 2, 1, 0)).reshape(-1, volume.shape[1], volume.shape[0])
    zooms = [float(z) for z in canonical.header.get_zooms()[:3]] + [1.0] * 3
    spacing = (zooms[1], zooms[0])
    # (col, row, frame) -> canonical voxel (x = X-1-col, y = Y-1-row, z = frame)
    nx, ny = volume.shape[0], volume.shape[1]
    flip = np.array([[-1, 0, 0, nx - 1], [0, -1, 0, ny - 1], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float)
    affine = canonical.affine @ flip
    finite = frames[np.isfinite(frames)]
    lo, hi = (np.percentile(finite[:: max(1, finite.size // 200_000)], [0.5, 99.5]) if finite.size else (0.0, 1.0))
    header = img.header
    cal_min, cal_max = float(header.get("cal_min", 0) or 0), float(header.get("cal_max", 0) or 0)
    if np.isfinite(cal_min) and np.isfinite(cal_max) and cal_max > cal_min:
        lo, hi = cal_min, cal_max
    metadata: dict[str, Any] = {
        "Format": type(img).__name__,
        "StoredShape": "x".join(str(s) for s in img.shape),
        "StoredOrientation": "".join(nib.aff2axcodes(img.affine)),
        "DisplayOrientation": "RAS+ canonical, radiological (patient right on the left)",
        "VoxelSizeMM": "x".join(f"{z:g}" for z in zooms[:3]),
        "DataType": str(header.get_data_dtype()),
        "Description": header.get("descrip").tobytes().rstrip(b"\x00").decode("latin-1", "replace") if "descrip" in header else "",
        "TimePoints": time_points,
        "SlicesPerVolume": volume.shape[2],
    }
    return MedImage(
        pixels=frames,
        spacing=spacing,
        slice_spacing=zooms[2],
        modality="NIFTI",
        window=((float(lo) + float(hi)) / 2.0, max(float(hi - lo), 1e-6)),
        metadata=metadata,
        name=label,
        kind="nifti",
        datasets=[],
        affine=affine,
    )
