"""Masks as COCO JSON (instances format) with categories, as RLE or polygons.

One COCO ``image`` per frame (``file_name`` = the image name, plus ``#frame<i>`` for volumes),
one ``category`` per label (ids 1..n in label order). ``rle``: one annotation per label and
frame, compressed RLE (pycocotools) that decodes to exactly the mask. ``polygon``: one
annotation per 8-connected component, its outer contour (``skimage.measure.find_contours`` at
0.5, in pixel-edge coordinates); holes are not representable as COCO polygons and are lost.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any, Iterable, Literal, Sequence

import numpy as np
from pycocotools import mask as coco_mask
from scipy import ndimage
from skimage import measure

from core.errors import InputError

Encoding = Literal["rle", "polygon"]


def rle_encode(mask: np.ndarray) -> dict[str, Any]:
    """Compressed COCO RLE (``counts`` as str) of a ``(H, W)`` mask."""
    rle = coco_mask.encode(np.asfortranarray(np.asarray(mask, np.uint8)))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def rle_decode(rle: dict[str, Any]) -> np.ndarray:
    counts = rle["counts"]
    rle = {"size": rle["size"], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    return coco_mask.decode(rle).astype(bool)


def polygons(mask: np.ndarray) -> list[list[float]]:
    """Outer contours ``[x0, y0, x1, y1, ...]`` (pixel edges at integers) of each component."""
    mask = np.asarray(mask, bool)
    out = []
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    for k in range(1, count + 1):
        component = np.pad(ndimage.binary_fill_holes(labels == k), 1)
        contours = measure.find_contours(component.astype(np.float32), 0.5)
        if not contours:
            continue
        contour = max(contours, key=len)  # (row, col) in padded pixel-centre coordinates
        xy = np.stack([contour[:, 1] - 1 + 0.5, contour[:, 0] - 1 + 0.5], axis=1)
        if len(xy) >= 3:
            out.append([round(float(v), 2) for v in xy.ravel()])
    return out


def _annotation(ann_id: int, image_id: int, category_id: int, mask: np.ndarray, encoding: Encoding) -> list[dict[str, Any]]:
    if encoding == "rle":
        rle = rle_encode(mask)
        x, y, w, h = (float(v) for v in coco_mask.toBbox(coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))))
        return [{"id": ann_id, "image_id": image_id, "category_id": category_id, "segmentation": rle,
                 "area": int(mask.sum()), "bbox": [x, y, w, h], "iscrowd": 0}]
    anns = []
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    for k in range(1, count + 1):
        component = labels == k
        polys = polygons(component)
        if not polys:
            continue
        rows, cols = np.nonzero(component)
        anns.append({"id": ann_id + len(anns), "image_id": image_id, "category_id": category_id,
                     "segmentation": polys, "area": int(component.sum()),
                     "bbox": [float(cols.min()), float(rows.min()), float(cols.max() - cols.min() + 1),
                              float(rows.max() - rows.min() + 1)], "iscrowd": 0})
    return anns


def build_coco(items: Iterable[tuple[str, dict[str, np.ndarray]]], labels: Sequence[str],
               encoding: Encoding = "rle", description: str = "MedLens masks") -> dict[str, Any]:
    """COCO dict for ``items = [(image name, {label: (frames, H, W) or (H, W) mask}), ...]``."""
    if encoding not in ("rle", "polygon"):
        raise InputError("COCO encoding is 'rle' or 'polygon'")
    categories = [{"id": i + 1, "name": label, "supercategory": "structure"} for i, label in enumerate(labels)]
    cat_id = {label: i + 1 for i, label in enumerate(labels)}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for name, masks in items:
        arrays = {k: (np.asarray(v, bool)[None] if np.ndim(v) == 2 else np.asarray(v, bool)) for k, v in masks.items()}
        if not arrays:
            continue
        frames, h, w = next(iter(arrays.values())).shape
        for f in range(frames):
            image_id = len(images) + 1
            images.append({"id": image_id, "file_name": name if frames == 1 else f"{name}#frame{f}",
                           "height": int(h), "width": int(w), "frame": f})
            for label in labels:
                if label in arrays and arrays[label][f].any():
                    annotations += _annotation(len(annotations) + 1, image_id, cat_id[label], arrays[label][f], encoding)
    return {
        "info": {"description": description, "date_created": _dt.datetime.now(_dt.timezone.utc).isoformat(),
                 "version": "1.0"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }


def coco_bytes(items: Iterable[tuple[str, dict[str, np.ndarray]]], labels: Sequence[str], encoding: Encoding = "rle") -> bytes:
    return json.dumps(build_coco(items, labels, encoding)).encode()


def decode_annotation(annotation: dict[str, Any], height: int, width: int) -> np.ndarray:
    """The mask of one annotation (RLE or polygons), via pycocotools."""
    seg = annotation["segmentation"]
    if isinstance(seg, list):
        rles = coco_mask.frPyObjects(seg, height, width)
        return coco_mask.decode(coco_mask.merge(rles)).astype(bool)
    return rle_decode(seg)
