"""NIfTI-1/2 (.nii, .nii.gz; 3-D and 4-D) to ``MedImage``, reoriented to RAS+ for display.

The header is read and checked first (dimensions within ``MEDLENS_MAX_VOXELS``, the data as
long as declared); only then are the voxels touched, straight from the file's bytes (no
copy) into one float32 array. A .nii.gz is inflated with a byte count and only as far as the
header says the data goes.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any

import nibabel as nib
import numpy as np
from nibabel.orientations import apply_orientation, aff2axcodes, inv_ornt_aff, io_orientation

from core.errors import InputError
from core.imaging import limits
from core.imaging.display import auto_window
from core.imaging.medimage import MedImage

HEADER_BYTES = 540  # a NIfTI-2 header; NIfTI-1 uses the first 348


@dataclass
class _Header:
    header: Any  # nib.Nifti1Header | nib.Nifti2Header
    kind: str  # "Nifti1Image" / "Nifti2Image"
    shape: tuple[int, ...]
    dtype: np.dtype
    offset: int

    @property
    def n_bytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


def _sizeof_hdr(head: bytes) -> int:
    for endian in "<>":
        (size,) = struct.unpack(endian + "i", head[:4])
        if size in (348, 540):
            return size
    return 0


def read_header(head: bytes, label: str) -> _Header:
    """The header of a NIfTI file from its first bytes, checked against the limits."""
    if len(head) < 348:
        raise InputError(f"{label}: malformed NIfTI header (the file is shorter than a header)")
    size = _sizeof_hdr(head)
    klass, kind = (nib.Nifti2Header, "Nifti2Image") if size == 540 else (nib.Nifti1Header, "Nifti1Image")
    try:
        header = klass.from_fileobj(io.BytesIO(head[:size or 348]), check=False)
        dims = [int(d) for d in header["dim"]]
        dtype = header.get_data_dtype()
        offset = int(header.get_data_offset())
    except Exception as exc:  # noqa: BLE001 - nibabel raises many types for broken headers
        raise InputError(f"{label}: malformed NIfTI header ({type(exc).__name__})") from None
    ndim = dims[0]
    if not 2 <= ndim <= 7:
        raise InputError(f"{label}: NIfTI with {ndim} dimensions: only 2-D, 3-D and 4-D volumes are shown")
    shape = tuple(dims[1:ndim + 1])
    if any(d < 1 for d in shape):
        raise InputError(f"{label}: the NIfTI header declares an empty or negative dimension")
    if dtype.kind not in "biuf" or dtype.itemsize not in (1, 2, 4, 8):
        raise InputError(f"{label}: NIfTI data type {dtype} is not a grey-value type MedLens shows")
    frames = int(np.prod(shape[2:], dtype=np.float64)) if len(shape) > 2 else 1
    limits.check_image(label, frames, shape[1], shape[0])
    offset = max(offset, 544 if size == 540 else 352)  # vox_offset 0 or too small: right after the header
    return _Header(header, kind, shape, dtype, offset)


def _voxels(data: bytes, hdr: _Header, label: str) -> np.ndarray:
    """The stored voxels as a (read-only) view of ``data``: nothing is copied or allocated."""
    need = hdr.offset + hdr.n_bytes
    if len(data) < need:
        raise InputError(f"{label}: the NIfTI data is truncated ({max(0, len(data) - hdr.offset)} of "
                         f"{hdr.n_bytes} bytes): the file was cut short")
    flat = np.frombuffer(data, dtype=hdr.dtype, count=int(np.prod(hdr.shape)), offset=hdr.offset)
    return flat.reshape(hdr.shape, order="F")


def image_from_nifti(data: bytes, label: str, gzipped: bool = False) -> MedImage:
    """Axial frames in radiological display (patient right on the left, anterior at the top).

    The volume is reoriented to the closest canonical (RAS+) orientation (as nibabel's
    ``as_closest_canonical``), so files stored LPS, LAS, sagittal... all display the same way.
    """
    hdr = read_header(limits.gunzip_head(data, HEADER_BYTES) if gzipped else data[:HEADER_BYTES], label)
    if gzipped:  # inflate only what the header says is there; the budget still caps it
        data = limits.gunzip(data, label, max_out=hdr.offset + hdr.n_bytes)
    raw = _voxels(data, hdr, label)
    header = hdr.header
    try:
        affine = header.get_best_affine()
        slope, inter = header.get_slope_inter()
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{label}: malformed NIfTI header ({type(exc).__name__})") from None
    if not np.all(np.isfinite(affine)):
        affine = np.diag([1.0, 1.0, 1.0, 1.0])
    spatial = raw if raw.ndim >= 3 else raw[..., None]
    ornt = io_orientation(affine)
    canonical = apply_orientation(spatial, ornt)  # flips and transposes: views, no copy
    canonical_affine = affine @ inv_ornt_aff(ornt, spatial.shape)
    nx, ny, nz = canonical.shape[:3]
    volume = canonical.reshape((nx, ny, nz, -1), order="F") if canonical.ndim > 3 else canonical[..., None]
    time_points = volume.shape[3]
    # (x, y, z, t) RAS+ -> frames (t, z) of (rows = y reversed, cols = x reversed): one float32 copy
    frames = np.empty((time_points * nz, ny, nx), dtype=np.float32)
    frames.reshape(time_points, nz, ny, nx)[...] = volume[::-1, ::-1].transpose(3, 2, 1, 0)
    if slope is not None and np.isfinite(slope) and slope not in (0.0, 1.0):
        frames *= np.float32(slope)
    if inter is not None and np.isfinite(inter) and inter != 0.0:
        frames += np.float32(inter)
    stored = [float(z) for z in header.get_zooms()[:3]] + [1.0] * 3
    zooms = [float(np.sqrt((canonical_affine[:3, i] ** 2).sum())) for i in range(3)]  # from the affine...
    for axis in range(3):  # ...unless the header's own voxel sizes (reordered like the axes) are usable
        z = stored[axis]
        if np.isfinite(z) and z > 0:
            zooms[int(ornt[axis, 0])] = z
    spacing = (zooms[1], zooms[0])
    # (col, row, frame) -> canonical voxel (x = X-1-col, y = Y-1-row, z = frame)
    flip = np.array([[-1, 0, 0, nx - 1], [0, -1, 0, ny - 1], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float)
    out_affine = canonical_affine @ flip
    window = auto_window(frames)  # the header's display range, when it states one, wins
    cal_min, cal_max = float(header.get("cal_min", 0) or 0), float(header.get("cal_max", 0) or 0)
    if np.isfinite(cal_min) and np.isfinite(cal_max) and cal_max > cal_min:
        window = ((cal_min + cal_max) / 2.0, cal_max - cal_min)
    metadata: dict[str, Any] = {
        "Format": hdr.kind,
        "StoredShape": "x".join(str(s) for s in hdr.shape),
        "StoredOrientation": "".join(str(c) for c in aff2axcodes(affine)),
        "DisplayOrientation": "RAS+ canonical, radiological (patient right on the left)",
        "VoxelSizeMM": "x".join(f"{z:g}" for z in zooms[:3]),
        "DataType": str(hdr.dtype),
        "Description": header.get("descrip").tobytes().rstrip(b"\x00").decode("latin-1", "replace") if "descrip" in header else "",
        "TimePoints": time_points,
        "SlicesPerVolume": nz,
    }
    return MedImage(
        pixels=frames,
        spacing=spacing,
        slice_spacing=zooms[2],
        modality="NIFTI",
        window=window,
        metadata=metadata,
        name=label,
        kind="nifti",
        datasets=[],
        affine=out_affine,
    )
