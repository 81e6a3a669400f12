"""NoC@85 / NoC@90: simulated clicks needed to reach a Dice target (interactive segmentation).

The protocol of the interactive-segmentation literature (Xu et al. 2016; RITM, Sofiiuk et al.
2022): start from the model's own mask; while Dice is below the target, a simulated user clicks
at the centre of the largest error region (``prompts.simulate_click``: positive for a miss,
negative for a false alarm) and the mask is refined with all clicks so far. NoC@t is the mean
number of clicks to reach Dice >= t, counting ``max_clicks`` for an image that never does
(those are also counted as failures, NoF). An image the model already gets right costs 0 clicks.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import torch

from core.registry import Preprocessing
from core.segmentation.inference import predict_proba
from core.segmentation.metrics import dice_iou
from core.segmentation.preprocess import prepare_mask
from core.segmentation.prompts import ClickRefiner, simulate_click

PROTOCOL = ("clicks until Dice >= target, each at the centre of the largest error region (positive for a "
            "miss, negative for a false alarm; Xu et al. 2016, RITM); refinement of the model's probability "
            "map seeded at the clicks (core.segmentation.prompts); mean clicks with {cap} counted for an image "
            "that never reaches the target (also counted in nof)")


def clicks_to_targets(prob: np.ndarray, image: np.ndarray, truth: np.ndarray, preprocessing: Preprocessing,
                      targets: Sequence[float] = (0.85, 0.90), max_clicks: int = 20) -> dict[float, int | None]:
    """For one image: clicks needed to reach each Dice target (None when not within ``max_clicks``)."""
    refiner = ClickRefiner(prob, image, preprocessing)
    mask = refiner.mask()
    needed: dict[float, int | None] = {t: None for t in targets}
    for n in range(max_clicks + 1):
        dice = dice_iou(mask, truth)[0]
        for t in targets:
            if needed[t] is None and dice >= t:
                needed[t] = n
        if all(v is not None for v in needed.values()) or n == max_clicks:
            break
        click = simulate_click(mask, truth)
        if click is None:  # perfect already (Dice 1 reaches every target)
            break
        refiner.add(click)
        mask = refiner.mask()
    return needed


def noc(model: torch.nn.Module, cases: Sequence[tuple[str, np.ndarray, np.ndarray]],
        preprocessing: Preprocessing, targets: Sequence[float] = (0.85, 0.90),
        max_clicks: int = 20) -> dict[str, Any]:
    """``{"noc85", "noc90", "nof85", "nof90", "n", "max_clicks"}`` over ``cases`` ``(name, image, truth)``."""
    per_target: dict[float, list[int | None]] = {t: [] for t in targets}
    for _, image, truth in cases:
        truth = np.asarray(truth, bool)
        if truth.shape != image.shape[:2]:  # masks of another size: compare at the image's size
            truth = prepare_mask(truth, image.shape[:2])[0] > 0
        prob = predict_proba(model, image, preprocessing)
        for t, n in clicks_to_targets(prob, image, truth, preprocessing, targets, max_clicks).items():
            per_target[t].append(n)
    out: dict[str, Any] = {}
    for t, values in per_target.items():
        key = f"{round(t * 100):d}"
        out[f"noc{key}"] = round(float(np.mean([max_clicks if v is None else v for v in values])), 2)
        out[f"nof{key}"] = int(sum(v is None for v in values))
    out.update({"n": len(next(iter(per_target.values()))), "max_clicks": max_clicks})
    return out



def card_rows(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A card's NoC figures (``metrics["noc"]``) as table rows, one per data set; empty when there are none."""
    report = metrics.get("noc", {})
    return [{"data set": name, "NoC@85": v["noc85"], "NoC@90": v["noc90"],
             "never reached .85 / .90": f"{v['nof85']} / {v['nof90']}", "images": v["n"]}
            for name, v in report.items() if isinstance(v, dict) and "noc85" in v]
