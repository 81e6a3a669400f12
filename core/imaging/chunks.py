"""Pixel frames packed for the browser: the smallest exact typed array per chunk.

The viewer keeps a client-side cache of frames and asks for the ones it lacks; Python answers
with one chunk per rerun (a Streamlit message carries the whole page, so a 1,000-slice CT of
0.5 GB must travel in pieces). Grey frames whose values are all integers travel as int16 or
uint16 (2 bytes a pixel, exact), others as float32; RGB frames as uint8.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from core.imaging.display import auto_window

CHUNK_BYTES = 8 * 1024 * 1024  # one rerun's worth: 16 CT slices of 512x512 at 2 bytes


def frame_bytes(pixels: np.ndarray) -> int:
    """Bytes one frame takes on the wire at the widest dtype used for it (float32 or 2-byte)."""
    per_pixel = 3 if pixels.ndim == 4 else 2
    return int(np.prod(pixels.shape[1:3])) * per_pixel


def pick_frames(need: Sequence[int], n_frames: int, per_frame: int, budget: int = CHUNK_BYTES) -> list[int]:
    """The first frames of ``need`` (valid, unique, in order) that fit in ``budget`` bytes;
    always at least one when any is needed."""
    out: list[int] = []
    for index in need:
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < n_frames and index not in out:
            out.append(index)
        if (len(out) + 1) * per_frame > budget:
            break
    return out


def encode_frames(pixels: np.ndarray, frames: Sequence[int]) -> tuple[dict, bytes]:
    """``({"frames", "dtype"}, bytes)`` with the listed frames concatenated, row-major."""
    block = np.asarray(pixels[list(frames)])
    if block.ndim == 4:
        data = np.clip(np.rint(block), 0, 255).astype(np.uint8)
        return {"frames": list(map(int, frames)), "dtype": "rgb8"}, data.tobytes()
    dtype = "float32"
    if block.size and np.all(np.isfinite(block)) and np.array_equal(block, np.rint(block)):
        lo, hi = float(block.min()), float(block.max())
        if lo >= -32768 and hi <= 32767:
            dtype = "int16"
        elif lo >= 0 and hi <= 65535:
            dtype = "uint16"
    return {"frames": list(map(int, frames)), "dtype": dtype}, block.astype(dtype).tobytes()


def nearest_first(frame: int, n_frames: int, radius: int = 12) -> list[int]:
    """``frame``, then its neighbours alternating after/before, out to ``radius`` (what the
    viewer prefetches around the frame shown)."""
    out = [frame] if 0 <= frame < n_frames else []
    for d in range(1, radius + 1):
        out += [f for f in (frame + d, frame - d) if 0 <= f < n_frames]
    return out


def describe(image) -> dict:
    """What the viewer needs to show ``image`` (a ``MedImage``) before any pixel arrives:
    shape, RGB or not, pixel spacing (mm per row, per column), modality, unit, default window."""
    frames, h, w = (int(s) for s in image.pixels.shape[:3])
    window = image.window or auto_window(image.pixels[frames // 2])
    spacing = [float(s) for s in image.spacing] if image.spacing else None
    return {
        "shape": [frames, h, w],
        "rgb": bool(image.is_rgb),
        "spacing": spacing,
        "modality": str(image.modality),
        "unit": "HU" if str(image.modality).upper() == "CT" else "",
        "window": [float(window[0]), float(window[1])],
    }
