"""Canvas (fabric.js) objects -> exact mask pixels at the canvas scale."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.measure import points_in_poly

from core.errors import InputError
from core.masks.strokes import CanvasScale, apply_objects, boxes, click_points, objects_to_shapes

HW = (100, 120)


def _rect(left, top, width, height, origin="left", stroke=1, **extra):
    return {"type": "Rect", "version": "7.4.0", "originX": origin, "originY": "top" if origin == "left" else origin,
            "left": left, "top": top, "width": width, "height": height, "strokeWidth": stroke,
            "strokeUniform": True, "scaleX": 1, "scaleY": 1, "angle": 0, **extra}


def _path(points, stroke_width, closed=False, dx=0.0, dy=0.0):
    """A fabric 7 freedraw/polygon Path as the canvas sends it (origin centre = bbox centre)."""
    pts = np.asarray(points, float)
    lo, hi = pts.min(0), pts.max(0)
    path = [["M", *pts[0]]] + [["L", *p] for p in pts[1:]] + ([["Z"]] if closed else [])
    return {"type": "Path", "version": "7.4.0", "originX": "center", "originY": "center",
            "left": (lo[0] + hi[0]) / 2 + dx, "top": (lo[1] + hi[1]) / 2 + dy,
            "width": hi[0] - lo[0], "height": hi[1] - lo[1], "strokeWidth": stroke_width,
            "strokeUniform": False, "scaleX": 1, "scaleY": 1, "angle": 0, "path": path}


def _empty():
    return np.zeros(HW, bool)


def test_rectangle_lands_on_exactly_the_expected_pixels():
    # canvas at 2x: fill of a rect with left=20, width=40, stroke 0 covers canvas x in [20, 60)
    # -> image x in [10, 30) -> columns 10..29 (centres 10.5..29.5); rows 15..24
    mask = apply_objects(_empty(), {"objects": [_rect(20, 30, 40, 20, stroke=0)]}, CanvasScale(2, 2))
    expected = _empty()
    expected[15:25, 10:30] = True
    assert np.array_equal(mask, expected)


def test_rectangle_with_stroke_and_centre_origin_and_fractional_scale():
    # fabric puts left/top at the outer stroke edge: fill starts at left + strokeWidth / 2
    scale = CanvasScale(1.5, 1.5)
    left_origin = _rect(14.25, 29.25, 30, 15, stroke=1.5)  # fill x [15, 45) -> image [10, 30)
    centre_origin = _rect(15 + 15, 30 + 7.5, 30, 15, origin="center", stroke=1.5)  # same rectangle
    expected = _empty()
    expected[20:30, 10:30] = True  # y [30, 45) / 1.5 = [20, 30)
    for obj in (left_origin, centre_origin):
        assert np.array_equal(apply_objects(_empty(), {"objects": [obj]}, scale), expected)


def test_canvas_scale_fit_gives_whole_canvas_pixels():
    scale = CanvasScale.fit((408, 512), 540, 540)
    width, height = scale.canvas_size((408, 512))
    assert (width, height) == (540, 430)
    assert scale.sx == 540 / 512 and scale.sy == 430 / 408


def test_brush_stroke_is_the_capsule_around_the_centre_line():
    scale = CanvasScale(2, 2)
    obj = _path([(20, 40), (120, 40)], stroke_width=12)  # image (10, 20)->(60, 20), radius 3
    mask = apply_objects(_empty(), {"objects": [obj]}, scale)
    rows, cols = np.mgrid[0:HW[0], 0:HW[1]] + 0.5
    t = np.clip((cols - 10) / 50, 0, 1)
    dist = np.hypot(cols - (10 + 50 * t), rows - 20)
    assert np.array_equal(mask, dist <= 3)
    assert mask[20, 35] and mask[17, 35] and not mask[16, 35]  # centre 17.5 is 2.5 away, 16.5 is 3.5


def test_eraser_subtracts_only_its_pixels():
    scale = CanvasScale(1, 1)
    start = _empty()
    start[10:60, 10:60] = True
    erased = apply_objects(start, {"objects": [_path([(35, 0), (35, 99)], stroke_width=10)]}, scale, "subtract")
    stroke = apply_objects(_empty(), {"objects": [_path([(35, 0), (35, 99)], stroke_width=10)]}, scale)
    assert np.array_equal(erased, start & ~stroke)
    assert not erased[30, 32] and erased[30, 20]


def test_polygon_add_and_subtract_match_point_in_polygon():
    scale = CanvasScale(2, 2)
    vertices = [(20.3, 30.1), (180.7, 44.2), (90.2, 170.9)]
    obj = {"type": "Polygon", "originX": "left", "originY": "top", "strokeWidth": 1, "scaleX": 1, "scaleY": 1,
           "angle": 0, "points": [{"x": x, "y": y} for x, y in vertices]}
    pts = np.array(vertices)
    obj["left"], obj["top"] = pts[:, 0].min() - 0.5, pts[:, 1].min() - 0.5
    mask = apply_objects(_empty(), {"objects": [obj]}, scale)
    rows, cols = np.mgrid[0:HW[0], 0:HW[1]]
    centres = np.c_[cols.ravel() + 0.5, rows.ravel() + 0.5]
    expected = points_in_poly(centres, pts / 2).reshape(HW)
    assert np.array_equal(mask, expected) and mask.sum() > 1000
    full = np.ones(HW, bool)
    assert np.array_equal(apply_objects(full, {"objects": [obj]}, scale, "subtract"), ~expected)


def test_closed_path_is_filled_and_open_path_is_a_stroke():
    scale = CanvasScale(1, 1)
    square = [(10, 10), (50, 10), (50, 50), (10, 50)]
    filled = apply_objects(_empty(), {"objects": [_path(square, 1, closed=True)]}, scale)
    expected = _empty()
    expected[10:50, 10:50] = True
    assert np.array_equal(filled, expected)
    outline = apply_objects(_empty(), {"objects": [_path(square, 2)]}, scale)
    assert not outline[30, 30] and outline[10, 30]


def test_moved_object_is_placed_by_its_transform():
    scale = CanvasScale(2, 2)
    still = apply_objects(_empty(), {"objects": [_path([(20, 40), (120, 40)], 8)]}, scale)
    moved = apply_objects(_empty(), {"objects": [_path([(20, 40), (120, 40)], 8, dx=20, dy=10)]}, scale)
    assert np.array_equal(np.roll(np.roll(still, 10, axis=1), 5, axis=0), moved)


def test_quadratic_brush_path_from_fabric_is_followed():
    scale = CanvasScale(1, 1)
    path = [["M", 10.0, 10.0], ["Q", 30.0, 10.0, 50.0, 10.0], ["Q", 70.0, 10.0, 90.0, 10.0], ["L", 90.0, 10.0]]
    obj = {"type": "Path", "originX": "center", "originY": "center", "left": 50, "top": 10, "width": 80,
           "height": 0, "strokeWidth": 4, "scaleX": 1, "scaleY": 1, "angle": 0, "path": path}
    mask = apply_objects(_empty(), {"objects": [obj]}, scale)
    assert mask[8:12, 10:90].all() and not mask[7, 50] and not mask[12, 50]


def test_point_clicks_and_boxes_are_read_as_prompts():
    scale = CanvasScale(2, 2)
    # the canvas's point tool: left = x - (radius + strokeWidth / 2), origin left/centre
    click = {"type": "Circle", "originX": "left", "originY": "center", "left": 81 - (4 + 1), "top": 61,
             "radius": 4, "strokeWidth": 2, "scaleX": 1, "scaleY": 1, "angle": 0}
    rect = _rect(20, 30, 40, 20, stroke=0)
    data = {"objects": [click, rect]}
    assert click_points(data, scale, HW) == [(30, 40)]
    assert boxes(data, scale) == [(10.0, 15.0, 30.0, 25.0)]


def test_line_and_circle_objects():
    scale = CanvasScale(1, 1)
    line = {"type": "Line", "originX": "center", "originY": "center", "left": 50, "top": 20, "x1": 20, "y1": 20,
            "x2": 80, "y2": 20, "width": 60, "height": 0, "strokeWidth": 6, "scaleX": 1, "scaleY": 1, "angle": 0}
    mask = apply_objects(_empty(), {"objects": [line]}, scale)
    assert mask[18:23, 20:80].all() and not mask[23, 50]
    circle = {"type": "Circle", "originX": "center", "originY": "center", "left": 60, "top": 50, "radius": 10,
              "strokeWidth": 0, "scaleX": 1, "scaleY": 1, "angle": 0}
    disc = apply_objects(_empty(), {"objects": [circle]}, scale)
    rows, cols = np.mgrid[0:HW[0], 0:HW[1]] + 0.5
    assert np.array_equal(disc, np.hypot(cols - 60, rows - 50) <= 10)


def test_objects_without_geometry_are_ignored_and_bad_paths_refused():
    assert objects_to_shapes({"objects": [{"type": "IText", "text": "hi"}]}, CanvasScale(1, 1)) == []
    assert objects_to_shapes(None, CanvasScale(1, 1)) == []
    bad = {"type": "Path", "left": 0, "top": 0, "path": [["m", 1, 1], ["l", 2, 2]]}
    with pytest.raises(InputError):
        objects_to_shapes({"objects": [bad]}, CanvasScale(1, 1))
