"""Undo/redo of mask edits, one entry per edit, independent of the canvas.

An ``Edit`` keeps only the changed rectangle of one label's mask on one frame, before and
after (bit-packed), so hundreds of edits of a 512x512 mask cost little memory and can be
stored as they happen (``core.labeling``).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np


def pack(mask: np.ndarray) -> bytes:
    """Boolean array -> zlib-compressed packed bits (shape kept by the caller)."""
    return zlib.compress(np.packbits(np.asarray(mask, bool).ravel()).tobytes(), 1)


def unpack(data: bytes, shape: tuple[int, ...]) -> np.ndarray:
    n = int(np.prod(shape))
    bits = np.unpackbits(np.frombuffer(zlib.decompress(data), np.uint8), count=n)
    return bits.astype(bool).reshape(shape)


@dataclass
class Edit:
    """A change of ``label`` on ``frame``: the rectangle ``bbox = (r0, r1, c0, c1)`` (half-open)
    held ``before`` and now holds ``after`` (packed bits)."""

    label: str
    frame: int
    bbox: tuple[int, int, int, int]
    before: bytes
    after: bytes
    description: str = ""
    id: int | None = None  # set by a store that saved it

    @property
    def patch_shape(self) -> tuple[int, int]:
        r0, r1, c0, c1 = self.bbox
        return r1 - r0, c1 - c0

    @classmethod
    def between(cls, label: str, frame: int, old: np.ndarray, new: np.ndarray, description: str = "") -> "Edit | None":
        """The edit turning ``old`` into ``new`` (``(H, W)`` bool), or None when they are equal."""
        old, new = np.asarray(old, bool), np.asarray(new, bool)
        changed = old != new
        if not changed.any():
            return None
        rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        return cls(label, int(frame), (r0, r1, c0, c1), pack(old[r0:r1, c0:c1]), pack(new[r0:r1, c0:c1]), description)

    @classmethod
    def empty(cls, label: str, frame: int, description: str = "") -> "Edit":
        """An edit that changes no pixel (an empty rectangle)."""
        nothing = pack(np.zeros(0, bool))
        return cls(label, int(frame), (0, 0, 0, 0), nothing, nothing, description)

    def apply_to(self, mask: np.ndarray, forward: bool = True) -> None:
        """Write the after (or, backwards, the before) patch into ``mask`` ``(H, W)`` in place."""
        r0, r1, c0, c1 = self.bbox
        mask[r0:r1, c0:c1] = unpack(self.after if forward else self.before, self.patch_shape)


class History:
    """A linear undo/redo list: a new edit after some undos drops the redo branch."""

    def __init__(self, edits: list[Edit] | None = None, position: int | None = None, limit: int = 500) -> None:
        self.edits: list[Edit] = list(edits or [])
        self.position = len(self.edits) if position is None else int(position)  # edits[:position] are applied
        self.limit = limit

    @property
    def can_undo(self) -> bool:
        return self.position > 0

    @property
    def can_redo(self) -> bool:
        return self.position < len(self.edits)

    def push(self, edit: Edit) -> list[Edit]:
        """Record an applied edit; returns the redo entries it discarded."""
        dropped = self.edits[self.position:]
        self.edits = self.edits[: self.position] + [edit]
        if len(self.edits) > self.limit:
            self.edits = self.edits[-self.limit:]
        self.position = len(self.edits)
        return dropped

    def undo(self, get_mask: Callable[[str, int], np.ndarray]) -> Edit | None:
        """Revert the last applied edit on the mask ``get_mask(label, frame)`` (in place)."""
        if not self.can_undo:
            return None
        self.position -= 1
        edit = self.edits[self.position]
        edit.apply_to(get_mask(edit.label, edit.frame), forward=False)
        return edit

    def redo(self, get_mask: Callable[[str, int], np.ndarray]) -> Edit | None:
        """Re-apply the next undone edit (in place)."""
        if not self.can_redo:
            return None
        edit = self.edits[self.position]
        self.position += 1
        edit.apply_to(get_mask(edit.label, edit.frame), forward=True)
        return edit
