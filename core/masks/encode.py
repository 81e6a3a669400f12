"""Compact mask transport: run-length codes and the SHA-256 that names a mask.

``rle_encode`` flattens a ``(H, W)`` mask row-major and lists the lengths of alternating runs,
starting with a run of 0s (possibly of length 0): ``[3, 2, 1]`` is ``0 0 0 1 1 0``. The viewer
decodes the same way. ``mask_sha`` is the SHA-256 of the mask as uint8 0/1, row-major, full
resolution: the value of the viewer's ``data-mask-sha`` test attribute.
"""

from __future__ import annotations

import hashlib

import numpy as np

from core.errors import InputError


def rle_encode(mask: np.ndarray) -> list[int]:
    """Run lengths of the row-major flattened mask, first run = 0s."""
    flat = np.asarray(mask, bool).ravel()
    if flat.size == 0:
        return []
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(bounds).tolist()
    return ([0] + runs) if flat[0] else runs


def rle_decode(runs: list[int], hw: tuple[int, int]) -> np.ndarray:
    """Inverse of ``rle_encode`` for a ``(H, W)`` mask; ``InputError`` when the runs do not add
    up to ``H * W``."""
    counts = np.asarray(runs, dtype=np.int64)
    if counts.size and counts.min() < 0 or int(counts.sum()) != hw[0] * hw[1]:
        raise InputError(f"run lengths do not cover a {hw[0]}x{hw[1]} mask")
    values = np.arange(counts.size) % 2 == 1
    return np.repeat(values, counts).reshape(hw)


def mask_sha(mask: np.ndarray) -> str:
    """SHA-256 (hex) of the mask as uint8 0/1, row-major."""
    return hashlib.sha256(np.ascontiguousarray(np.asarray(mask, bool), dtype=np.uint8).tobytes()).hexdigest()


def empty_sha(hw: tuple[int, int]) -> str:
    """``mask_sha`` of an all-zero ``(H, W)`` mask, without allocating more than one row."""
    digest = hashlib.sha256()
    row = bytes(int(hw[1]))
    for _ in range(int(hw[0])):
        digest.update(row)
    return digest.hexdigest()
