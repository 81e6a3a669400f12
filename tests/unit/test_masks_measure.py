"""Measurements on phantoms with known area and spacing."""

from __future__ import annotations

import math

import numpy as np

from core.masks.measure import measure, measure_label
from core.segmentation.severity import lung_summary
from core.masks.overlay import compose, resize_mask


def test_rectangle_area_in_mm2_with_spacing_and_mean_intensity():
    mask = np.zeros((60, 80), bool)
    mask[10:20, 5:25] = True  # 10 x 20 px
    image = np.full((60, 80), -1000.0, np.float32)
    image[mask] = 40.0  # HU
    rows = measure_label("lesion", mask, image, spacing=(0.5, 0.25))
    assert len(rows) == 1
    row = rows[0]
    assert row["area"] == 200 * 0.125 and row["area_unit"] == "mm²"
    assert math.isclose(row["equivalent_diameter"], 2 * math.sqrt(25 / math.pi), abs_tol=1e-3)
    assert row["bbox"] == [10, 5, 20, 25]
    assert row["mean_intensity"] == 40.0


def test_pixel_counts_without_spacing_and_components_largest_first():
    mask = np.zeros((50, 50), bool)
    mask[0:5, 0:5] = True  # 25
    mask[20:30, 20:30] = True  # 100
    mask[40:42, 40:43] = True  # 6
    rows = measure_label("polyp", mask)
    assert [r["component"] for r in rows] == ["all", "1", "2", "3"]
    assert [r["area"] for r in rows] == [131, 100, 25, 6]
    assert rows[0]["area_unit"] == "px" and rows[0]["mean_intensity"] is None
    yy, xx = np.mgrid[0:101, 0:101]
    disc = np.hypot(yy - 50, xx - 50) <= 30
    row = measure_label("disc", disc, spacing=(1, 1))[0]
    assert abs(row["equivalent_diameter"] - 60) < 0.5


def test_colour_images_use_luminance_and_empty_labels_are_skipped():
    image = np.zeros((10, 10, 3), np.float32)
    image[..., 0] = 100
    mask = np.ones((10, 10), bool)
    rows = measure({"a": mask, "b": np.zeros((10, 10), bool)}, image)
    assert [r["label"] for r in rows] == ["a"] and math.isclose(rows[0]["mean_intensity"], 29.9, abs_tol=1e-3)


def test_lungs_left_right_and_percent_affected():
    lung = np.zeros((100, 100), bool)
    lung[20:80, 10:40] = True  # image left = patient's right: 1800 px
    lung[20:80, 60:80] = True  # image right = patient's left: 1200 px
    opacity = np.zeros_like(lung)
    opacity[20:50, 10:40] = True  # half the right lung
    opacity[0:10, 0:10] = True  # outside the lungs: ignored
    out = lung_summary({"lung": lung, "opacity": opacity}, spacing=(0.2, 0.2))
    assert math.isclose(out["lung_area"], 3000 * 0.04)
    assert math.isclose(out["right_lung_area"], 1800 * 0.04) and math.isclose(out["left_lung_area"], 1200 * 0.04)
    assert out["percent_lung_affected"] == 30.0
    assert out["percent_right_lung_affected"] == 50.0 and out["percent_left_lung_affected"] == 0.0
    assert lung_summary({"opacity": opacity}) == {}


def test_overlay_nearest_resize_keeps_pixel_alignment():
    mask = np.zeros((4, 5), bool)
    mask[1, 2] = True
    big = resize_mask(mask, (10, 8))  # 2x
    assert np.array_equal(np.argwhere(big), [[2, 4], [2, 5], [3, 4], [3, 5]])
    out = np.asarray(compose(np.zeros((4, 5), np.uint8), [mask], ["#ff0000"], 1.0, size=(10, 8)))
    assert out[2, 4].tolist() == [255, 0, 0] and out[0, 0].tolist() == [0, 0, 0]


def test_volume_summary_in_mm3_and_ml():
    from core.masks.measure import volume_summary

    vol = np.zeros((4, 10, 10), bool)
    vol[1:3, 0:5, 0:4] = True  # 40 voxels of 0.5 x 0.5 x 2 mm
    rows = volume_summary({"nodule": vol}, spacing=(0.5, 0.5), slice_spacing=2.0)
    assert rows == [{"label": "nodule", "voxels": 40, "slices": [1, 2], "volume_mm3": 20.0, "volume_ml": 0.02}]
    assert "volume_mm3" not in volume_summary({"nodule": vol})[0]
