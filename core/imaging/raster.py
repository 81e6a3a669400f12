"""PNG / JPEG / TIFF / BMP to ``MedImage`` (8- and 16-bit grey, RGB, multi-page TIFF)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from core.errors import InputError
from core.imaging.medimage import MedImage

Image.MAX_IMAGE_PIXELS = 20_000 * 20_000  # medical scans are big, but refuse absurd sizes


def _frame_array(frame: Image.Image) -> np.ndarray:
    mode = frame.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F", "L"):
        return np.asarray(frame)
    if mode in ("1", "LA", "La"):
        return np.asarray(frame.convert("L"))
    return np.asarray(frame.convert("RGB"))


def _collapse_grey_rgb(arr: np.ndarray) -> np.ndarray:
    """RGB images whose three channels are identical (common for X-ray exports) become grey."""
    if arr.ndim == 4 and np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 0], arr[..., 2]):
        return arr[..., 0]
    return arr


def _read_tiff(data: bytes) -> tuple[np.ndarray, str]:
    import tifffile

    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        series = tif.series[0]
        arr = series.asarray()
        axes = series.axes
    if "S" in axes and arr.shape[axes.index("S")] in (3, 4):
        arr = np.moveaxis(arr, axes.index("S"), -1)[..., :3]
        arr = arr.reshape((-1,) + arr.shape[-3:])
    else:
        arr = arr.reshape((-1,) + arr.shape[-2:])
    return arr, axes


def image_from_raster(data: bytes, label: str, kind: str) -> MedImage:
    """Pixel values kept as stored (0..65535 for 16-bit PNG); spacing unknown."""
    metadata: dict[str, object] = {"Format": kind.upper()}
    try:
        if kind == "tiff":
            arr, axes = _read_tiff(data)
            metadata["TiffAxes"] = axes
        else:
            with Image.open(io.BytesIO(data)) as img:
                metadata["Mode"] = img.mode
                metadata["Size"] = f"{img.width}x{img.height}"
                arr = np.stack([_frame_array(f) for f in ImageSequence.Iterator(img)])
                dpi = img.info.get("dpi")
                if dpi and dpi[0] and float(dpi[0]) > 1:
                    metadata["DPI"] = f"{float(dpi[0]):g}"
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise InputError(f"{label}: the {kind.upper()} image cannot be decoded ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    except Exception as exc:
        raise InputError(f"{label}: the {kind.upper()} image cannot be decoded ({type(exc).__name__})") from None
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    metadata["BitDepth"] = int(arr.dtype.itemsize * 8)
    arr = _collapse_grey_rgb(arr)
    pixels = arr.astype(np.float32)
    if pixels.ndim == 4:
        window = (127.5, 255.0)
    elif arr.dtype == np.uint8:
        window = (127.5, 255.0)
    else:
        sample = pixels[:, :: max(1, pixels.shape[1] // 512), :: max(1, pixels.shape[2] // 512)]
        lo, hi = np.percentile(sample, [0.5, 99.5])
        window = ((lo + hi) / 2.0, max(float(hi - lo), 1.0))
    return MedImage(pixels=pixels, spacing=None, slice_spacing=None, modality="OT", window=window,
                    metadata=metadata, name=label, kind="raster", datasets=[], affine=None)
