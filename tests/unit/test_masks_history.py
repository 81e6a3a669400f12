"""Undo/redo per edit, kept by core.masks (not by the canvas)."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InputError
from core.masks import MaskSet, ops
from core.masks.history import Edit


def _set(shape=(2, 40, 50)) -> MaskSet:
    return MaskSet(["lung", "opacity"], shape)


def _square(r, c, n=10, hw=(40, 50)):
    m = np.zeros(hw, bool)
    m[r:r + n, c:c + n] = True
    return m


def test_undo_removes_one_edit_and_redo_puts_it_back():
    ms = _set()
    a, b = _square(0, 0), _square(5, 5)
    ms.set("lung", 0, a, "brush")
    ms.set("lung", 0, a | b, "brush")
    ms.set("opacity", 1, b, "polygon")
    assert ms.undo().label == "opacity" and not ms.get("opacity", 1).any()
    assert np.array_equal(ms.get("lung", 0), a | b)
    assert ms.undo().description == "brush"
    assert np.array_equal(ms.get("lung", 0), a)
    assert ms.redo() is not None and np.array_equal(ms.get("lung", 0), a | b)
    assert ms.redo() is not None and np.array_equal(ms.get("opacity", 1), b)
    assert ms.redo() is None


def test_new_edit_after_undo_drops_the_redo_branch():
    ms = _set()
    ms.set("lung", 0, _square(0, 0))
    ms.set("lung", 0, _square(20, 20))
    ms.undo()
    ms.set("lung", 0, _square(30, 30))
    assert not ms.history.can_redo
    assert ms.undo() is not None and np.array_equal(ms.get("lung", 0), _square(0, 0))
    assert ms.undo() is not None and not ms.get("lung", 0).any()
    assert ms.undo() is None


def test_unchanged_mask_records_nothing_and_edits_keep_only_the_changed_box():
    ms = _set()
    assert ms.set("lung", 0, np.zeros((40, 50), bool)) is None
    edit = ms.set("lung", 0, _square(3, 4, 5))
    assert edit.bbox == (3, 8, 4, 9)
    assert len(ms.history.edits) == 1


def test_operations_go_through_history():
    ms = _set((1, 40, 50))
    ring = _square(5, 5, 20) & ~_square(10, 10, 10)
    ms.set("lung", 0, ring | _square(30, 40, 3))
    ms.apply("lung", 0, ops.fill_holes, "fill holes")
    ms.apply("lung", 0, ops.keep_largest, "keep largest")
    assert np.array_equal(ms.get("lung", 0), _square(5, 5, 20))
    ms.apply("lung", 0, ops.grow)
    assert ms.get("lung", 0).sum() == 400 + 4 * 20
    ms.apply("lung", 0, ops.shrink)
    assert np.array_equal(ms.get("lung", 0), _square(5, 5, 20))
    ms.apply("lung", 0, ops.clear)
    for _ in range(5):
        ms.undo()
    assert np.array_equal(ms.get("lung", 0), ring | _square(30, 40, 3))


def test_edit_round_trips_through_its_packed_patch():
    old, new = _square(0, 0), _square(2, 3)
    edit = Edit.between("lung", 0, old, new)
    work = old.copy()
    edit.apply_to(work)
    assert np.array_equal(work, new)
    edit.apply_to(work, forward=False)
    assert np.array_equal(work, old)


def test_bad_labels_frames_and_shapes_are_input_errors():
    ms = _set()
    with pytest.raises(InputError):
        ms.set("liver", 0, _square(0, 0))
    with pytest.raises(InputError):
        ms.set("lung", 2, _square(0, 0))
    with pytest.raises(InputError):
        ms.set("lung", 0, np.zeros((10, 10), bool))
    with pytest.raises(InputError):
        MaskSet(["a", "a"], (1, 4, 4))


def test_label_map_later_label_wins():
    ms = _set((1, 40, 50))
    ms.set("lung", 0, _square(0, 0, 20))
    ms.set("opacity", 0, _square(5, 5, 5))
    lm = ms.label_map()[0]
    assert lm[0, 0] == 1 and lm[6, 6] == 2 and lm[30, 30] == 0
