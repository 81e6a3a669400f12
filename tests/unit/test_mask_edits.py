"""The viewer's edit protocol: rasterisation rule, dedupe by id only, acks, mask transport."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from core.errors import InputError
from core.imaging.chunks import encode_frames, pick_frames
from core.masks import MaskSet
from core.masks.edits import EditLedger, parse_edit, rasterize_edit
from core.masks.encode import empty_sha, mask_sha, rle_decode, rle_encode
from core.masks.sync import ViewerSync


def _brush(edit_id: str, points: list[float], radius: float = 3.0, op: str = "brush", frame: int = 0) -> dict:
    return {"id": edit_id, "op": op, "label": "lung", "frame": frame, "points": points, "radius": radius}


def _reference_stroke(points: list[float], radius: float, hw: tuple[int, int]) -> np.ndarray:
    """Pixel centres within ``radius`` of the polyline, one pixel at a time in plain Python."""
    pts = list(zip(points[0::2], points[1::2]))
    segments = list(zip(pts[:-1], pts[1:])) or [(pts[0], pts[0])]
    out = np.zeros(hw, bool)
    for row in range(hw[0]):
        for col in range(hw[1]):
            x, y = col + 0.5, row + 0.5
            for (ax, ay), (bx, by) in segments:
                dx, dy = bx - ax, by - ay
                length2 = dx * dx + dy * dy
                t = 0.0 if length2 == 0 else min(1.0, max(0.0, ((x - ax) * dx + (y - ay) * dy) / length2))
                if math.hypot(x - ax - t * dx, y - ay - t * dy) <= radius + 1e-9:
                    out[row, col] = True
                    break
    return out


def _masks(shape: tuple[int, int, int] = (2, 24, 30)) -> MaskSet:
    return MaskSet(["lung", "lesion"], shape)


@pytest.mark.parametrize("points,radius", [
    ([5.0, 5.0], 2.5),
    ([3.25, 4.5, 20.75, 9.125], 1.5),
    ([2.0, 20.0, 12.5, 3.0, 27.0, 18.0], 3.0),
    ([10.5, 10.5, 10.5, 10.5], 0.5),
])
def test_stroke_rule_matches_a_pixel_by_pixel_reference(points, radius):
    edit = parse_edit(_brush("a", points, radius))
    got = rasterize_edit(edit, (24, 30))
    assert got.any()
    np.testing.assert_array_equal(got, _reference_stroke(points, radius, (24, 30)))


def test_polygon_takes_pixel_centres_half_open():
    edit = parse_edit({"id": "p", "op": "polygon", "label": "lung", "frame": 0, "points": [2, 3, 6, 3, 6, 5, 2, 5]})
    got = rasterize_edit(edit, (10, 10))
    expected = np.zeros((10, 10), bool)
    expected[3:5, 2:6] = True  # centres 2.5..5.5 x 3.5..4.5
    np.testing.assert_array_equal(got, expected)


def test_same_id_applies_once_and_is_acknowledged_every_time():
    masks, ledger = _masks(), EditLedger()
    first = ledger.apply(masks, [_brush("s1", [5, 5, 15, 5])])
    again = ledger.apply(masks, [_brush("s1", [5, 5, 15, 5]), _brush("s2", [5, 15], 2)])
    assert first.acked == ["s1"] and again.acked == ["s1", "s2"]
    assert len(masks.history.edits) == 2


def test_identical_stroke_after_undo_is_a_new_edit():
    masks, ledger = _masks(), EditLedger()
    stroke = [4, 4, 20, 12]
    ledger.apply(masks, [_brush("a", stroke)])
    drawn = masks.get("lung", 0).copy()
    ledger.apply(masks, [{"id": "u", "op": "undo"}])
    assert not masks.get("lung", 0).any()
    out = ledger.apply(masks, [_brush("b", stroke)])  # same content, new id
    assert out.acked == ["b"]
    np.testing.assert_array_equal(masks.get("lung", 0), drawn)


def test_stroke_over_set_pixels_is_recorded_so_undo_counts_match():
    masks, ledger = _masks(), EditLedger()
    ledger.apply(masks, [_brush("a", [10, 10], 4), _brush("b", [10, 10], 2)])  # b changes nothing
    ledger.apply(masks, [{"id": "u1", "op": "undo"}])
    assert masks.get("lung", 0).any()  # undid b only
    ledger.apply(masks, [{"id": "u2", "op": "undo"}])
    assert not masks.get("lung", 0).any()
    ledger.apply(masks, [{"id": "r1", "op": "redo"}])
    np.testing.assert_array_equal(masks.get("lung", 0), _reference_stroke([10, 10], 4, (24, 30)))


def test_erase_and_bad_edits():
    masks, ledger = _masks(), EditLedger()
    ledger.apply(masks, [_brush("a", [5, 5, 25, 5], 3), _brush("e", [15, 5], 3, op="erase")])
    expected = _reference_stroke([5, 5, 25, 5], 3, (24, 30)) & ~_reference_stroke([15, 5], 3, (24, 30))
    np.testing.assert_array_equal(masks.get("lung", 0), expected)
    out = ledger.apply(masks, [_brush("x", [1, 1], 3, frame=9), {"id": "y", "op": "brush", "label": "nope",
                                                                 "frame": 0, "points": [1, 1], "radius": 1},
                               {"op": "brush"}, _brush("z", [1, float("nan")])])
    assert set(out.failed) == {"x", "y", "z"} and not out.acked
    assert "frame" in out.failed["x"] and "nope" in out.failed["y"]
    assert ledger.apply(masks, [_brush("x", [1, 1], 3, frame=0)]).failed == {"x": out.failed["x"]}


@pytest.mark.parametrize("bad", [None, [], {"id": "a b", "op": "brush"}, {"id": "a", "op": "paint"},
                                 _brush("a", [1, 2, 3]), _brush("a", [1, 2], radius=0),
                                 {"id": "a", "op": "polygon", "label": "l", "frame": 0, "points": [1, 2, 3, 4]}])
def test_parse_refuses_malformed(bad):
    with pytest.raises(InputError):
        parse_edit(bad)


def test_rle_round_trip_and_sha():
    rng = np.random.default_rng(0)
    for mask in (rng.random((17, 23)) > 0.6, np.ones((4, 5), bool), np.zeros((4, 5), bool)):
        runs = rle_encode(mask)
        assert sum(runs) == mask.size
        np.testing.assert_array_equal(rle_decode(runs, mask.shape), mask)
        assert mask_sha(mask) == hashlib.sha256(mask.astype(np.uint8).tobytes()).hexdigest()
    assert rle_encode(np.array([[0, 0, 0, 1, 1, 0]])) == [3, 2, 1]
    assert rle_encode(np.array([[1, 0]])) == [0, 1, 1]
    assert empty_sha((4, 5)) == mask_sha(np.zeros((4, 5), bool))
    with pytest.raises(InputError):
        rle_decode([3, 2], (2, 2))


def test_sync_answers_again_until_the_browser_has_the_mask():
    masks = _masks()
    sync = ViewerSync(masks, masks.labels, masks.shape)
    value = {"epoch": None, "maskSeq": 0, "edits": [_brush("a", [5, 5], 2)]}
    first = sync.handle(value)
    assert first["acked"] == ["a"] and [m["frame"] for m in first["masks"]] == [0]
    entry = first["masks"][0]
    assert entry["sha"] == mask_sha(masks.get("lung", 0))
    np.testing.assert_array_equal(rle_decode(entry["rle"], (24, 30)), masks.get("lung", 0))
    lost = sync.handle(value)  # the reply was lost: the same value comes again
    assert lost["acked"] == ["a"] and lost["masks"] == first["masks"] and len(masks.history.edits) == 1
    caught_up = sync.handle({"epoch": first["epoch"], "maskSeq": first["seq"], "edits": []})
    assert caught_up["masks"] == [] and caught_up["acked"] == []


def test_sync_sends_masks_changed_outside_the_viewer():
    masks = _masks()
    sync = ViewerSync(masks, masks.labels, masks.shape)
    seq = sync.handle(None)["seq"]
    masks.set("lesion", 1, np.ones((24, 30), bool))
    sync.touch("lesion", 1)
    reply = sync.handle({"epoch": sync.epoch, "maskSeq": seq})
    assert [(m["label"], m["frame"]) for m in reply["masks"]] == [("lesion", 1)]


def test_chunks_pick_the_smallest_exact_dtype():
    ct = np.array([[[-1024.0, 3071.0]]], np.float32)
    info, data = encode_frames(ct, [0])
    assert info["dtype"] == "int16" and np.frombuffer(data, np.int16).tolist() == [-1024, 3071]
    assert encode_frames(np.array([[[0.0, 60000.0]]]), [0])[0]["dtype"] == "uint16"
    info, data = encode_frames(np.array([[[0.5, 1.0]]], np.float32), [0])
    assert info["dtype"] == "float32" and np.frombuffer(data, np.float32).tolist() == [0.5, 1.0]
    assert pick_frames([5, 4, 6, 4, 99], 10, per_frame=100, budget=250) == [5, 4]
    assert pick_frames([3], 10, per_frame=1000, budget=10) == [3]


def test_ledger_from_history_knows_stored_stroke_ids():
    masks, ledger = _masks(), EditLedger()
    ledger.apply(masks, [_brush("s1", [5, 5], 2)])
    again = EditLedger.from_history(masks.history.edits)
    assert again.apply(masks, [_brush("s1", [5, 5], 2)]).acked == ["s1"]
    assert len(masks.history.edits) == 1


def test_sync_notices_changes_made_outside_the_viewer_through_the_history():
    masks = _masks()
    sync = ViewerSync(masks, masks.labels, masks.shape, history=masks.history)
    seq = sync.handle(None)["seq"]
    masks.set("lesion", 1, np.ones((24, 30), bool))  # e.g. a model run, no touch()
    reply = sync.handle({"epoch": sync.epoch, "maskSeq": seq})
    assert ("lesion", 1) in [(m["label"], m["frame"]) for m in reply["masks"]]
