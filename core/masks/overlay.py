"""Masks drawn over the image for display: colour, opacity, outline-only; at any size.

The composite is made at the display size: the image is resized smoothly, the masks with
nearest neighbour (display pixel centre -> image pixel), so the overlay lines up exactly with
the pixels the edits change.
"""

from __future__ import annotations

import io
from typing import Sequence

import numpy as np
from PIL import Image
from scipy import ndimage


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    try:
        return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    except (ValueError, IndexError):
        return 255, 0, 0


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of ``(H, W)`` to ``size = (width, height)``: display pixel
    ``j`` takes image pixel ``floor((j + 0.5) * W / width)``."""
    h, w = mask.shape
    width, height = size
    if (width, height) == (w, h):
        return np.asarray(mask, bool)
    cols = np.minimum(((np.arange(width) + 0.5) * w / width).astype(int), w - 1)
    rows = np.minimum(((np.arange(height) + 0.5) * h / height).astype(int), h - 1)
    return np.asarray(mask, bool)[rows[:, None], cols[None, :]]


def outline(mask: np.ndarray, thickness: int = 1) -> np.ndarray:
    """The inner boundary of ``mask`` (pixels with a background 4-neighbour), ``thickness`` wide."""
    mask = np.asarray(mask, bool)
    inner = ndimage.binary_erosion(mask, iterations=thickness, border_value=0)
    return mask & ~inner


def display_base(gray_or_rgb_uint8: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """The windowed frame as RGB uint8 at display ``size = (width, height)`` (bilinear)."""
    base = Image.fromarray(np.asarray(gray_or_rgb_uint8, np.uint8)).convert("RGB")
    if size is not None and size != (base.width, base.height):
        base = base.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(base)


def compose(gray_or_rgb_uint8: np.ndarray, masks: Sequence[np.ndarray], colours: Sequence[str],
            opacity: float = 0.4, outline_only: bool = False, size: tuple[int, int] | None = None,
            base: np.ndarray | None = None) -> Image.Image:
    """RGB PIL image of the (windowed, uint8) frame with the masks blended on top, in order.

    Args:
        gray_or_rgb_uint8: ``(H, W)`` or ``(H, W, 3)`` uint8.
        masks: ``(H, W)`` boolean masks, drawn in order (later on top).
        colours: ``#rrggbb`` per mask.
        opacity: 0..1 blend weight of the fill (outlines are drawn opaque).
        outline_only: draw only each mask's boundary (2 display pixels wide).
        size: output ``(width, height)``; default the image size.
        base: ``display_base(gray_or_rgb_uint8, size)`` when the caller has it cached.
    """
    h, w = np.shape(gray_or_rgb_uint8)[:2]
    size = size or (w, h)
    out = (display_base(gray_or_rgb_uint8, size) if base is None else base).copy()
    alpha = float(np.clip(opacity, 0, 1))
    for mask, colour in zip(masks, colours):
        if mask is None or not np.any(mask):
            continue
        m = resize_mask(mask, size)
        rgb = np.array(hex_to_rgb(colour), np.float32)
        if outline_only:
            out[outline(m, 2)] = rgb.astype(np.uint8)
            continue
        out[m] = ((1 - alpha) * out[m] + alpha * rgb + 0.5).astype(np.uint8)
        out[outline(m, 1)] = rgb.astype(np.uint8)
    return Image.fromarray(out)


def to_jpeg(image: Image.Image, quality: int = 92) -> bytes:
    """JPEG bytes (4:4:4, so coloured mask edges stay sharp) for the canvas background: about
    30x faster to encode than PNG, which matters because it is sent after every stroke."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality, subsampling=0)
    return buffer.getvalue()
