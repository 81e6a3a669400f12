"""The rasterisation rule of mask edits (``core.masks.raster``): strokes are capsules around the
centre line, polygons take the pixel centres inside (checked against scikit-image)."""

from __future__ import annotations

import numpy as np
from skimage.measure import points_in_poly

from core.masks.raster import fill_polygon, stroke

HW = (100, 120)


def test_brush_stroke_is_the_capsule_around_the_centre_line() -> None:
    mask = stroke(np.array([[10.0, 20.0], [60.0, 20.0]]), 3.0, HW)
    rows, cols = np.mgrid[0:HW[0], 0:HW[1]] + 0.5
    t = np.clip((cols - 10) / 50, 0, 1)
    assert np.array_equal(mask, np.hypot(cols - (10 + 50 * t), rows - 20) <= 3)
    assert mask[20, 35] and mask[17, 35] and not mask[16, 35]  # centre 17.5 is 2.5 away, 16.5 is 3.5


def test_one_point_is_a_disc_and_shapes_off_the_image_take_nothing() -> None:
    rows, cols = np.mgrid[0:HW[0], 0:HW[1]] + 0.5
    assert np.array_equal(stroke(np.array([[40.0, 30.0]]), 5.0, HW), np.hypot(cols - 40, rows - 30) <= 5)
    assert not stroke(np.array([[-50.0, -50.0], [-20.0, -30.0]]), 4.0, HW).any()
    assert not fill_polygon(np.array([[200.0, 10.0], [260.0, 10.0], [230.0, 60.0]]), HW).any()


def test_polygon_matches_point_in_polygon() -> None:
    vertices = np.array([(10.15, 15.05), (90.35, 22.1), (45.1, 85.45)])
    mask = fill_polygon(vertices, HW)
    rows, cols = np.mgrid[0:HW[0], 0:HW[1]]
    centres = np.c_[cols.ravel() + 0.5, rows.ravel() + 0.5]
    assert np.array_equal(mask, points_in_poly(centres, vertices).reshape(HW)) and mask.sum() > 1000


def test_polygon_edges_are_half_open() -> None:
    mask = fill_polygon(np.array([[2.0, 3.0], [6.0, 3.0], [6.0, 5.0], [2.0, 5.0]]), (10, 10))
    expected = np.zeros((10, 10), bool)
    expected[3:5, 2:6] = True
    assert np.array_equal(mask, expected)
