"""``MaskSet``: the masks of one image (one boolean ``(frames, H, W)`` array per label) and
their edit history. Every change goes through ``set`` so it can be undone and saved."""

from __future__ import annotations

from typing import Callable

import numpy as np

from core.errors import InputError
from core.masks.history import Edit, History

DEFAULT_COLOURS = ["#00c853", "#ff6d00", "#2962ff", "#d500f9", "#ffd600", "#00b8d4", "#ff1744", "#aeea00"]


class MaskSet:
    """Masks per label for an image of ``shape = (frames, H, W)``.

    ``on_change(edit, mask)`` (optional) is called after every edit, undo and redo with the
    edit and the label's new ``(H, W)`` mask on that frame: a labeling store saves it there.
    """

    def __init__(self, labels: list[str], shape: tuple[int, int, int], data: dict[str, np.ndarray] | None = None,
                 history: History | None = None) -> None:
        if not labels:
            raise InputError("at least one label is needed")
        if len(set(labels)) != len(labels):
            raise InputError("label names must be unique")
        self.labels = list(labels)
        self.shape = tuple(int(s) for s in shape)
        self.data: dict[str, np.ndarray] = {}
        for label in self.labels:
            array = None if data is None else data.get(label)
            self.data[label] = np.zeros(self.shape, bool) if array is None else np.asarray(array, bool).reshape(self.shape).copy()
        self.history = history or History()

    def _check(self, label: str, frame: int) -> None:
        if label not in self.data:
            raise InputError(f"unknown label {label!r}; labels are {', '.join(self.labels)}")
        if not 0 <= frame < self.shape[0]:
            raise InputError(f"frame {frame} is outside 0..{self.shape[0] - 1}")

    def get(self, label: str, frame: int = 0) -> np.ndarray:
        """The ``(H, W)`` mask (a view: do not modify it; use ``set``)."""
        self._check(label, frame)
        return self.data[label][frame]

    def set(self, label: str, frame: int, new: np.ndarray, description: str = "", keep_noop: bool = False) -> Edit | None:
        """Replace the mask of ``label`` on ``frame``; records and returns the edit (None when
        nothing changed, unless ``keep_noop``: then an empty edit is recorded, so that one undo
        step still matches one user action, e.g. a stroke over pixels already set)."""
        self._check(label, frame)
        new = np.asarray(new, bool)
        if new.shape != self.shape[1:]:
            raise InputError(f"mask shape {new.shape} does not match the image {self.shape[1:]}")
        edit = Edit.between(label, frame, self.data[label][frame], new, description)
        if edit is None:
            if not keep_noop:
                return None
            edit = Edit.empty(label, frame, description)
        self.data[label][frame] = new
        self.history.push(edit)
        return edit

    def apply(self, label: str, frame: int, operation: Callable[[np.ndarray], np.ndarray], description: str = "") -> Edit | None:
        """``set`` with ``operation(current mask)``."""
        return self.set(label, frame, operation(self.get(label, frame)), description)

    def paint(self, label: str, frame: int, footprint: np.ndarray, erase: bool = False, description: str = "",
              op_id: str | None = None) -> Edit | None:
        """Set (or, with ``erase``, clear) the ``footprint`` pixels: a stroke as an operation. Always
        recorded, even when it changes nothing (one undo = one stroke). ``op_id`` is the caller's
        to keep (``core.masks.edits.EditLedger``): a ``MaskSet`` lives in memory only."""
        current = self.get(label, frame)
        footprint = np.asarray(footprint, bool)
        return self.set(label, frame, current & ~footprint if erase else current | footprint, description, keep_noop=True)

    def undo(self, op_id: str | None = None) -> Edit | None:
        """Undo the latest edit (``op_id``: as in ``paint``)."""
        return self.history.undo(lambda label, frame: self.data[label][frame])

    def redo(self, op_id: str | None = None) -> Edit | None:
        return self.history.redo(lambda label, frame: self.data[label][frame])

    def frame_masks(self, frame: int) -> dict[str, np.ndarray]:
        return {label: self.data[label][frame] for label in self.labels}

    def label_map(self) -> np.ndarray:
        """``(frames, H, W)`` uint8: 0 background, i + 1 for ``labels[i]``; where labels overlap
        the later label wins (e.g. opacity over lung)."""
        out = np.zeros(self.shape, np.uint8)
        for i, label in enumerate(self.labels):
            out[self.data[label]] = i + 1
        return out
