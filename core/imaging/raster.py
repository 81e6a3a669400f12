"""PNG / JPEG / TIFF / BMP to ``MedImage`` (8- and 16-bit grey, RGB, multi-page TIFF)."""

from __future__ import annotations

import io
import struct
from types import SimpleNamespace
from typing import Any

import numpy as np
from PIL import Image, ImageSequence

from core.errors import InputError
from core.imaging import limits
from core.imaging.display import auto_window
from core.imaging.medimage import MedImage

Image.MAX_IMAGE_PIXELS = 20_000 * 20_000  # a backstop only: limits.check_image refuses first, from the header


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


def _check_tiff(series: object, pages: list, label: str) -> None:
    """Declared sizes of a TIFF series and of its tiles, checked before anything is decoded."""
    shape = tuple(int(n) for n in series.shape)  # type: ignore[attr-defined]
    axes = str(series.axes)  # type: ignore[attr-defined]
    if not shape or min(shape) < 1:
        raise InputError(f"{label}: the TIFF holds an empty image")
    rows = shape[axes.index("Y")] if "Y" in axes else (shape[-2] if len(shape) >= 2 else 1)
    cols = shape[axes.index("X")] if "X" in axes else shape[-1]
    samples = shape[axes.index("S")] if "S" in axes else 1
    frames = int(np.prod(shape, dtype=np.float64)) // max(1, rows * cols * samples)
    limits.check_image(label, max(1, frames), rows, cols, samples)
    for page in pages:
        tile = int(getattr(page, "tilewidth", 0) or 0) * int(getattr(page, "tilelength", 0) or 0)
        limits.MAX_PIXELS.check(tile, label, "a TIFF tile is larger than the image limit")


def tiff_page_count(data: bytes, cap: int) -> int:
    """IFDs of a TIFF / BigTIFF, counted by walking their chain (stops past ``cap`` and on loops)."""
    if len(data) < 16:
        return 0
    order = "<" if data[:2] == b"II" else ">"
    (version,) = struct.unpack_from(order + "H", data, 2)
    big = version == 43
    count_fmt, entry, next_fmt = ("Q", 20, "Q") if big else ("H", 12, "I")
    count_size, next_size = struct.calcsize(count_fmt), struct.calcsize(next_fmt)
    (offset,) = struct.unpack_from(order + next_fmt, data, 8 if big else 4)
    seen: set[int] = set()
    while offset and offset not in seen and len(seen) <= cap and offset + count_size <= len(data):
        seen.add(offset)
        (n,) = struct.unpack_from(order + count_fmt, data, offset)
        at = offset + count_size + n * entry
        if at + next_size > len(data):
            break
        (offset,) = struct.unpack_from(order + next_fmt, data, at)
    return len(seen)


SERIES_PAGES = 64  # up to this many pages tifffile's series detection is cheap (it grows ~quadratically)


def _read_pages(tif: Any, n: int, label: str) -> tuple[np.ndarray, str]:
    """A TIFF of many plain pages: those shaped like the first, read one by one into one stack."""
    pages = tif.pages
    pages.useframes = True  # light TiffFrame objects: linear in the number of pages
    first = pages[0]
    shape, axes = tuple(int(d) for d in first.shape), "I" + str(first.axes)
    _check_tiff(SimpleNamespace(shape=(n,) + shape, axes=axes), [first], label)
    stack = np.empty((n,) + shape, dtype=first.dtype)
    kept = 0
    for i in range(n):
        page = pages[i]
        if tuple(page.shape) == shape and page.dtype == first.dtype:
            stack[kept] = page.asarray()
            kept += 1
    return stack[:kept], axes


def _read_tiff(data: bytes, label: str) -> tuple[np.ndarray, str]:
    import tifffile

    n = tiff_page_count(data, limits.MAX_FRAMES.value())
    limits.MAX_FRAMES.check(n, label, f"the TIFF has {n} or more pages")
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        if n > SERIES_PAGES and not (tif.is_imagej or tif.is_ome):
            arr, axes = _read_pages(tif, n, label)
        else:
            series = tif.series[0]
            pages = [p for p in series.pages if p is not None][:SERIES_PAGES] if hasattr(series, "pages") else []
            _check_tiff(series, pages, label)
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
            arr, axes = _read_tiff(data, label)
            metadata["TiffAxes"] = axes
        else:
            with Image.open(io.BytesIO(data)) as img:
                bands = 1 if img.mode in ("1", "L", "LA", "La", "P", "I", "F") or img.mode.startswith("I;") else 3
                limits.check_image(label, int(getattr(img, "n_frames", 1) or 1), img.height, img.width, bands)
                metadata["Mode"] = img.mode
                metadata["Size"] = f"{img.width}x{img.height}"
                arr = np.stack([_frame_array(f) for f in ImageSequence.Iterator(img)])
                dpi = img.info.get("dpi")
                if dpi and dpi[0] and float(dpi[0]) > 1:
                    metadata["DPI"] = f"{float(dpi[0]):g}"
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"{label}: the {kind.upper()} image is too large to decode in memory") from None
    except Exception as exc:  # noqa: BLE001 - decoder text is not echoed (it can hold file bytes)
        raise InputError(f"{label}: the {kind.upper()} image cannot be decoded ({type(exc).__name__})") from None
    if arr.size == 0:
        raise InputError(f"{label}: the {kind.upper()} image is empty")
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
        window = auto_window(pixels)
    return MedImage(pixels=pixels, spacing=None, slice_spacing=None, modality="OT", window=window,
                    metadata=metadata, name=label, kind="raster", datasets=[], affine=None)
