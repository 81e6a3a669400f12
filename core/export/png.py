"""Binary masks as 8-bit PNG (0 = background, 255 = structure), the layout of ../shared/data/seg."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from core.errors import InputError


def _mask_2d(mask: np.ndarray) -> np.ndarray:
    array = np.asarray(mask)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise InputError(f"a PNG mask holds one 2-D frame; got shape {tuple(array.shape)} (use .nii.gz or .dcm)")
    return np.where(array > 0, 255, 0).astype(np.uint8)


def mask_png_bytes(mask: np.ndarray) -> bytes:
    """PNG file content of a binary ``(H, W)`` mask."""
    buffer = io.BytesIO()
    Image.fromarray(_mask_2d(mask), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def write_mask_png(mask: np.ndarray, path: str | Path) -> Path:
    """Write a binary ``(H, W)`` mask as 0/255 PNG."""
    path = Path(path)
    path.write_bytes(mask_png_bytes(mask))
    return path
