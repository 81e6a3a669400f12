"""A ``MedImage`` as bytes and back, for the labeling store.

Pixels go into a zip as ``.npy`` (integer images stored losslessly as the smallest integer type),
geometry and metadata as JSON, and the source DICOM datasets as files so that a DICOM SEG
exported later can still reference them.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np
import pydicom

from core.imaging import MedImage


def encode_image(image: Any) -> bytes:
    """A ``MedImage`` as a zip: pixels (npz; integers stored losslessly as ints), geometry and
    metadata (JSON), and the source DICOM datasets (so a DICOM SEG can reference them)."""
    pixels = np.asarray(image.pixels)
    if np.all(np.isfinite(pixels)) and np.array_equal(pixels, np.round(pixels)):
        lo, hi = float(pixels.min()), float(pixels.max())
        for dtype in (np.uint8, np.int16, np.int32):
            info = np.iinfo(dtype)
            if info.min <= lo and hi <= info.max:
                pixels = pixels.astype(dtype)
                break
    meta = {
        "spacing": list(image.spacing) if image.spacing else None,
        "slice_spacing": image.slice_spacing,
        "modality": image.modality,
        "window": list(image.window) if image.window else None,
        "name": image.name,
        "kind": image.kind,
        "affine": None if image.affine is None else np.asarray(image.affine).tolist(),
        "metadata": _jsonable(image.metadata),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        npz = io.BytesIO()
        np.save(npz, pixels, allow_pickle=False)
        zf.writestr("pixels.npy", npz.getvalue())
        zf.writestr("meta.json", json.dumps(meta))
        for i, ds in enumerate(getattr(image, "datasets", None) or []):
            data = _dataset_bytes(ds)
            if data is not None:
                zf.writestr(f"dicom/{i:05d}.dcm", data)
    return buffer.getvalue()


def _dataset_bytes(ds: Any) -> bytes | None:
    try:
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=False)
        return out.getvalue()
    except Exception:  # a dataset pydicom cannot write back: SEG export will say so
        return None


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return {}


def decode_image(data: bytes) -> Any:
    """Inverse of ``encode_image``."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        pixels = np.load(io.BytesIO(zf.read("pixels.npy")), allow_pickle=False).astype(np.float32)
        meta = json.loads(zf.read("meta.json"))
        datasets = [pydicom.dcmread(io.BytesIO(zf.read(n)), force=True)
                    for n in sorted(zf.namelist()) if n.startswith("dicom/")]
    return MedImage(
        pixels=pixels,
        spacing=tuple(meta["spacing"]) if meta.get("spacing") else None,
        slice_spacing=meta.get("slice_spacing"),
        modality=meta.get("modality", "OT"),
        window=tuple(meta["window"]) if meta.get("window") else None,
        metadata=meta.get("metadata") or {},
        name=meta.get("name", "image"),
        kind=meta.get("kind", "raster"),
        datasets=datasets,
        affine=None if meta.get("affine") is None else np.asarray(meta["affine"], float),
    )


def image_shape(image: Any) -> tuple[int, int, int]:
    """``(frames, H, W)`` of a ``MedImage`` (colour channels dropped)."""
    s = np.shape(image.pixels)
    return int(s[0]), int(s[1]), int(s[2])
