"""COCO export: categories, RLE that decodes to exactly the mask, polygons close to it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import InputError
from core.export.coco import build_coco, coco_bytes, decode_annotation, rle_decode, rle_encode


def _masks():
    lung = np.zeros((40, 60), bool)
    lung[5:30, 5:25] = True
    lung[5:30, 35:55] = True
    lung[10:15, 10:15] = False  # a hole
    opacity = np.zeros((40, 60), bool)
    opacity[20:28, 38:50] = True
    return {"lung": lung, "opacity": opacity}


def test_rle_decodes_to_exactly_the_mask():
    masks = _masks()
    coco = build_coco([("cxr.png", masks)], ["lung", "opacity", "polyp"], "rle")
    assert [c["name"] for c in coco["categories"]] == ["lung", "opacity", "polyp"]
    assert len(coco["images"]) == 1 and coco["images"][0]["height"] == 40
    by_cat = {a["category_id"]: a for a in coco["annotations"]}
    assert set(by_cat) == {1, 2}
    assert np.array_equal(decode_annotation(by_cat[1], 40, 60), masks["lung"])
    assert np.array_equal(decode_annotation(by_cat[2], 40, 60), masks["opacity"])
    assert by_cat[2]["bbox"] == [38.0, 20.0, 12.0, 8.0] and by_cat[2]["area"] == 96
    assert np.array_equal(rle_decode(rle_encode(masks["lung"])), masks["lung"])


def test_polygons_one_per_component_close_to_the_filled_mask():
    masks = _masks()
    coco = build_coco([("cxr.png", masks)], ["lung", "opacity"], "polygon")
    lung_anns = [a for a in coco["annotations"] if a["category_id"] == 1]
    assert len(lung_anns) == 2
    decoded = np.zeros((40, 60), bool)
    for ann in lung_anns:
        decoded |= decode_annotation(ann, 40, 60)
    filled = masks["lung"].copy()
    filled[10:15, 10:15] = True  # COCO polygons cannot hold holes
    iou = (decoded & filled).sum() / (decoded | filled).sum()
    assert iou > 0.95


def test_volumes_give_one_coco_image_per_frame_and_json_serialises():
    vol = np.zeros((3, 10, 12), bool)
    vol[1, 2:5, 2:5] = True
    coco = json.loads(coco_bytes([("ct", {"lung": vol})], ["lung"]))
    assert [im["file_name"] for im in coco["images"]] == ["ct#frame0", "ct#frame1", "ct#frame2"]
    assert len(coco["annotations"]) == 1 and coco["annotations"][0]["image_id"] == 2
    with pytest.raises(InputError):
        build_coco([], ["lung"], "bitmap")
