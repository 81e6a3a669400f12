"""Viewer edits reaching the labeling store (SQLite and PostgreSQL): strokes as operations
(their exact footprint, so two users' strokes merge in arrival order), undo/redo as edits with
ids (taken once across a reload), the acknowledgement = the stored mask's SHA-256."""

from __future__ import annotations

import numpy as np
import pytest

from core.imaging import MedImage
from core.labeling import LabelingStore, Workspace
from core.masks.edits import EditLedger, parse_edit, rasterize_edit
from core.masks.encode import mask_sha
from core.masks.sync import ViewerSync

HW = (48, 64)


def _stroke(edit_id: str, points: list[float], radius: float = 5.0, op: str = "brush") -> dict:
    return {"id": edit_id, "op": op, "label": "lung", "frame": 0, "points": points, "radius": radius}


def _footprint(edit: dict) -> np.ndarray:
    return rasterize_edit(parse_edit(edit), HW)


def _open(store: LabelingStore, session, image_id: int, user: str) -> tuple[Workspace, ViewerSync]:  # type: ignore[no-untyped-def]
    """What the page does when a browser session opens the image (``mask_editor.viewer_sync``)."""
    ws = Workspace(store, session, image_id, user=user)
    return ws, ViewerSync(ws, ws.labels, ws.masks.shape, EditLedger.from_ids(ws.op_ids()), history=ws.masks.history)


@pytest.fixture
def opened(db_engine):  # type: ignore[no-untyped-def]
    store = LabelingStore(db_engine)
    session = store.create_session("s", ["lung"])
    image_id = store.add_image(session.id, MedImage(pixels=np.zeros((1, *HW), np.float32), name="a"), "a")
    return store, session, image_id


def _stored(store: LabelingStore, image_id: int) -> np.ndarray:
    return store.load_masks(image_id, ["lung"])["lung"][0]


def test_two_users_strokes_merge_as_operations_in_arrival_order(opened) -> None:  # type: ignore[no-untyped-def]
    store, session, image_id = opened
    ana, ana_sync = _open(store, session, image_id, "ana")
    ben, ben_sync = _open(store, session, image_id, "ben")
    a1 = _stroke("a1", [10, 10, 40, 10])
    b1 = _stroke("b1", [20, 5, 20, 30], radius=4, op="erase")  # ben's copy has not seen a1
    b2 = _stroke("b2", [50, 40])
    a2 = _stroke("a2", [5, 38, 60, 38], radius=3, op="erase")  # ana's copy has not seen b2
    ana_sync.handle({"edits": [a1]})
    ben_reply = ben_sync.handle({"edits": [b1, b2]})
    ana_reply = ana_sync.handle({"edits": [a1, a2]})  # a1 again: acknowledged, not applied twice
    expected = np.zeros(HW, bool)
    for edit in (a1, b1, b2, a2):  # replayed in the order they arrived
        fp = _footprint(edit)
        expected = expected & ~fp if edit["op"] == "erase" else expected | fp
    saved = _stored(store, image_id)
    assert np.array_equal(saved, expected)
    # ben's eraser took ana's pixels although ben never saw them (a difference against ben's
    # stale copy would have left them), and ana's eraser took ben's b2 the same way
    assert (_footprint(a1) & _footprint(b1)).any() and not (saved & _footprint(b1)).any()
    assert (_footprint(b2) & _footprint(a2)).any() and not (saved & _footprint(a2)).any()
    assert ana_reply["acked"] == ["a1", "a2"] and ben_reply["acked"] == ["b1", "b2"]
    # the acknowledgement carries the stored mask (everyone's strokes) and its SHA-256
    last = {m["frame"]: m for m in ana_reply["masks"] if m["label"] == "lung"}[0]
    assert last["sha"] == mask_sha(saved)
    assert store.edit_ids(image_id) == {"a1": "ana", "a2": "ana", "b1": "ben", "b2": "ben"}


def test_a_stroke_equal_to_an_earlier_one_is_a_new_edit(opened) -> None:  # type: ignore[no-untyped-def]
    store, session, image_id = opened
    ws, sync = _open(store, session, image_id, "ana")
    sync.handle({"edits": [_stroke("s1", [30, 20])]})
    sync.handle({"edits": [{"id": "u1", "op": "undo"}]})
    sync.handle({"edits": [_stroke("s2", [30, 20])]})  # the same stroke again, a new id
    assert np.array_equal(_stored(store, image_id), _footprint(_stroke("s2", [30, 20])))
    assert set(store.edit_ids(image_id)) == {"s1", "s2"}


def test_undo_resent_across_a_reload_applies_once(opened) -> None:  # type: ignore[no-untyped-def]
    store, session, image_id = opened
    s0, s1 = _stroke("s0", [10, 10]), _stroke("s1", [40, 30])
    undo = {"id": "u1", "op": "undo"}
    ws, sync = _open(store, session, image_id, "ana")
    sync.handle({"edits": [s0]})
    sync.handle({"edits": [s1, undo]})  # stored; the answer is lost to the reload
    after_one_undo = _stored(store, image_id)
    assert np.array_equal(after_one_undo, _footprint(s0))
    ws, sync = _open(store, session, image_id, "ana")  # reload: a new browser session, a new ledger
    reply = sync.handle({"edits": [s1, undo]})  # the browser re-sends its unacknowledged list
    assert reply["acked"] == ["s1", "u1"]
    assert np.array_equal(_stored(store, image_id), after_one_undo)  # s0 is still there: not undone twice
    # the same even when the ledger knows nothing (the store keeps the step ids)
    ws, sync = _open(store, session, image_id, "ana")
    sync.ledger = EditLedger()
    sync.handle({"edits": [s1, undo, {"id": "r1", "op": "redo"}]})
    assert np.array_equal(_stored(store, image_id), _footprint(s0) | _footprint(s1))  # only the redo is new
    ws, sync = _open(store, session, image_id, "ana")
    sync.handle({"edits": [{"id": "r1", "op": "redo"}, {"id": "u2", "op": "undo"}]})
    assert np.array_equal(_stored(store, image_id), _footprint(s0))
    assert store.op_ids(image_id) == {"s0", "s1", "u1", "r1", "u2"}


def test_a_refused_undo_keeps_no_id_and_the_mask(opened) -> None:  # type: ignore[no-untyped-def]
    store, session, image_id = opened
    ana, ana_sync = _open(store, session, image_id, "ana")
    ben, ben_sync = _open(store, session, image_id, "ben")
    ana_sync.handle({"edits": [_stroke("a1", [20, 20])]})
    ben_sync.handle({"edits": [_stroke("b1", [22, 22])]})  # built on ana's stroke
    before = _stored(store, image_id)
    reply = ana_sync.handle({"edits": [{"id": "u1", "op": "undo"}]})
    assert "changed by ben; reload" in reply["failed"]["u1"]
    assert np.array_equal(_stored(store, image_id), before) and "u1" not in store.op_ids(image_id)
