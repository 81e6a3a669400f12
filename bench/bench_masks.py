"""Mask editing speed: one brush stroke applied (and saved), and Segment -> overlay on 512².

``mask_stroke``: a 40-point brush stroke (12 px brush) on a 512x512 mask, timed as
``core.masks.raster.stroke`` (windowed capsules) against a naive rasteriser that
measures every pixel's distance to every segment; also the full edit as the viewer's path does it
(footprint + ``Workspace.paint``: undo entry + SQLite commit). Target: one stroke under 50 ms.

``segment_overlay``: ``core.segmentation.segment`` on a 512x512 image with the first
registered segmentation model, then the overlay composite + JPEG the canvas receives.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bench.runner import benchmark, time_alternating

SIZE = 512


def _stroke_points() -> np.ndarray:
    """A 40-point brush stroke across the image, ``(40, 2)`` x, y in image pixels."""
    t = np.linspace(0, 1, 40)
    return np.c_[60 + 380 * t, 256 + 120 * np.sin(6 * t)]


def _naive(mask: np.ndarray, points: np.ndarray, radius: float) -> np.ndarray:
    rows, cols = np.mgrid[0:mask.shape[0], 0:mask.shape[1]] + 0.5
    out = mask.copy()
    for a, b in zip(points[:-1], points[1:]):
        d = b - a
        t = np.clip(((cols - a[0]) * d[0] + (rows - a[1]) * d[1]) / max(float(d @ d), 1e-12), 0, 1)
        out |= (cols - a[0] - t * d[0]) ** 2 + (rows - a[1] - t * d[1]) ** 2 <= radius * radius
    return out


@benchmark("mask_stroke")
def mask_stroke() -> dict[str, Any]:
    from core.imaging import MedImage
    from core.labeling import LabelingStore, Workspace
    from core.masks.raster import stroke

    points, radius = _stroke_points(), 6.0  # a 12 px brush
    mask = np.zeros((SIZE, SIZE), bool)
    assert np.array_equal(mask | stroke(points, radius, mask.shape), _naive(mask, points, radius))
    with tempfile.TemporaryDirectory() as tmp:
        store = LabelingStore(Path(tmp) / "bench.sqlite")
        session = store.create_session("bench", ["lung"])
        image = MedImage(pixels=np.zeros((1, SIZE, SIZE), np.float32))
        ws = Workspace(store, session, store.add_image(session.id, image, "bench"))
        state = {"on": False}

        def edit_and_save() -> None:  # alternate brush / eraser so every call changes the mask
            ws.paint("lung", 0, stroke(points, radius, mask.shape), erase=state["on"], description="bench")
            state["on"] = not state["on"]

        medians = time_alternating({
            "naive": lambda: _naive(mask, points, radius),
            "apply": lambda: mask | stroke(points, radius, mask.shape),
            "apply_and_save": edit_and_save,
        }, repeats=7)
        store.close()
    return {
        "ratio": medians["naive"] / medians["apply"],
        "ratio_meaning": "naive full-image rasteriser median / core.masks.raster stroke median",
        "apply_median_ms": round(medians["apply"] * 1000, 3),
        "apply_and_save_median_ms": round(medians["apply_and_save"] * 1000, 3),
        "naive_median_ms": round(medians["naive"] * 1000, 3),
        "target_ms": 50,
        "under_target": medians["apply_and_save"] < 0.050,
    }


@benchmark("segment_overlay")
def segment_overlay() -> dict[str, Any]:
    from core.masks.overlay import compose, display_base, to_jpeg
    from core.registry import list_models
    from core.segmentation.service import segment

    models = [s.name for s in list_models("segmentation") if s.weights and s.weights.exists()]
    if not models:
        return {"ratio": float("nan"), "skipped": "no segmentation model with weights is registered"}
    model = "lungs-cxr" if "lungs-cxr" in models else models[0]
    rng = np.random.default_rng(0)
    image = rng.normal(100, 30, (SIZE, SIZE)).astype(np.float32)
    gray = np.clip(image, 0, 255).astype(np.uint8)
    segment(model, image)  # load the model into the cache
    base = display_base(gray, (540, 540))  # cached per image by the page

    mask = segment(model, image).mask

    def segment_only() -> None:
        segment(model, image)

    def overlay() -> None:  # what the page does after Segment: overlay -> JPEG for the canvas
        to_jpeg(compose(gray, [mask], ["#00c853"], 0.4, size=(540, 540), base=base))

    medians = time_alternating({"segment": segment_only, "overlay": overlay}, repeats=7)
    total = medians["segment"] + medians["overlay"]
    return {
        "ratio": medians["segment"] / total,
        "ratio_meaning": "Segment median / (Segment + overlay-and-JPEG medians): the share of Segment->overlay "
                         "time spent in the model (1 = the overlay costs nothing)",
        "model": model,
        "device": str(next(iter(__import__("core.cache", fromlist=["x"]).get_model(model).parameters())).device),
        "segment_median_ms": round(medians["segment"] * 1000, 1),
        "overlay_median_ms": round(medians["overlay"] * 1000, 2),
        "segment_to_overlay_ms": round(total * 1000, 1),
    }
