"""Prompts that steer a segmentation model: a box and positive/negative clicks.

**Box** (MedSAM-style): crop the box plus a margin, run the model at its own resolution on the
crop, paste the probabilities back; outside the box the probability is 0.

**Clicks**: refinement of the model's probability map seeded at the clicks. Each click adds
(positive) or subtracts (negative) a bump to the model's logits that decays with the
*geodesic* distance from the click, where crossing an image edge costs more than moving over
flat tissue (``skimage.graph.MCP_Geometric`` on ``1 + edge_weight * |gradient|``). A positive
click therefore grows the mask over the region of similar intensity around it, a negative one
removes it, and both stop at strong edges. The bump is strong enough to flip the clicked pixel,
and components holding a positive click survive post-processing.

``simulate_click`` and ``click_curve`` measure it the way the interactive-segmentation
literature does (Xu et al. 2016; RITM): the next click goes to the interior point farthest from
the boundary of the largest error (false negative -> positive click, false positive -> negative),
and the mean Dice is reported after 0, 1, 3 and 5 clicks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from scipy import ndimage
from skimage.filters import sobel
from skimage.graph import MCP_Geometric

from core.errors import InputError
from core.registry import Preprocessing
from core.segmentation.inference import predict_proba, threshold_and_clean
from core.segmentation.metrics import dice_iou
from core.segmentation.preprocess import normalise, prepare_mask, resize, to_channels

WORK_SIZE = 256  # geodesic distances are computed at most at this size (speed)


EDGE_NORMALISATION = Preprocessing(normalisation="percentile", percentiles=(0.5, 99.5))  # image -> [0, 1] for edges


@dataclass(frozen=True)
class Click:
    """A click at pixel (row, col); ``positive`` adds the region, negative removes it."""

    row: int
    col: int
    positive: bool = True


# ---------------------------------------------------------------- box


def _check_box(box: Sequence[float], shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` in pixels, clipped to the image; InputError when empty."""
    if len(box) != 4:
        raise InputError("a box is four numbers: x0, y0, x1, y1")
    x0, y0, x1, y1 = (float(v) for v in box)
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    h, w = shape
    x0, x1 = int(np.clip(np.floor(x0), 0, w)), int(np.clip(np.ceil(x1), 0, w))
    y0, y1 = int(np.clip(np.floor(y0), 0, h)), int(np.clip(np.ceil(y1), 0, h))
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise InputError("the box is empty or outside the image")
    return x0, y0, x1, y1


def box_proba(
    model: torch.nn.Module,
    image: np.ndarray,
    preprocessing: Preprocessing,
    box: Sequence[float],
    margin: float = 0.1,
    tta: bool = False,
) -> np.ndarray:
    """Probability ``(H, W)``: the model run on the box plus ``margin`` (fraction of the box
    size on each side) at model resolution, pasted back; 0 outside the box."""
    image = np.asarray(image)
    h, w = image.shape[:2]
    x0, y0, x1, y1 = _check_box(box, (h, w))
    mx, my = int(round(margin * (x1 - x0))), int(round(margin * (y1 - y0)))
    cx0, cy0, cx1, cy1 = max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my)
    crop_prob = predict_proba(model, image[cy0:cy1, cx0:cx1], preprocessing, tta=tta)
    prob = np.zeros((h, w), np.float32)
    prob[y0:y1, x0:x1] = crop_prob[y0 - cy0 : y1 - cy0, x0 - cx0 : x1 - cx0]
    return prob


def box_mask(model, image, preprocessing, box, margin: float = 0.1, tta: bool = False) -> np.ndarray:
    """Box prompt to a clean binary mask (the card's threshold and post-processing)."""
    return threshold_and_clean(box_proba(model, image, preprocessing, box, margin, tta), preprocessing)


# ---------------------------------------------------------------- clicks


def _work_shape(shape: tuple[int, int]) -> tuple[int, int]:
    scale = min(1.0, WORK_SIZE / max(shape))
    return max(2, round(shape[0] * scale)), max(2, round(shape[1] * scale))


def edge_cost(image: np.ndarray, work_shape: tuple[int, int], edge_weight: float) -> np.ndarray:
    """Per-pixel travel cost at ``work_shape``: ``1 + edge_weight * sobel(gray) / mean``."""
    gray = normalise(to_channels(image, 1)[..., 0], EDGE_NORMALISATION)
    gray = resize(torch.from_numpy(gray)[None, None], work_shape)[0, 0].numpy()
    grad = sobel(gray)
    return 1.0 + edge_weight * grad / (float(grad.mean()) + 1e-6)


def geodesic_distance(cost: np.ndarray, seeds: Sequence[tuple[int, int]]) -> np.ndarray:
    """Minimum accumulated cost from any seed (row, col) to every pixel."""
    mcp = MCP_Geometric(cost, fully_connected=True)
    distances, _ = mcp.find_costs([tuple(int(v) for v in s) for s in seeds])
    return distances


def refine_with_clicks(
    prob: np.ndarray,
    image: np.ndarray,
    clicks: Sequence[Click],
    preprocessing: Preprocessing | None = None,
    *,
    max_radius_fraction: float = 0.15,
    min_radius_fraction: float = 0.02,
    strength: float = 6.0,
    edge_weight: float = 1.0,
    threshold: float | None = None,
) -> np.ndarray:
    """Binary mask ``(H, W)`` from a probability map steered by ``clicks``.

    Each click adds (or, negative, subtracts) ``amplitude / (1 + (d / R)^4)`` to the logits, with
    ``d`` the edge-aware geodesic distance from the click: a flat-topped bump of geodesic radius
    ``R`` that falls off fast past ``R`` and at image edges. ``R`` adapts to the current mask:
    for a negative click, 1.2 x its distance to the mask's border (the local thickness of the
    region to remove); for a positive click, 1.2 x its distance to the nearest foreground (the
    size of the gap to fill); clipped to ``[min, max]_radius_fraction`` x the longer side. The
    amplitude is the click's own logit plus ``strength``, so the clicked pixel always flips.

    Args:
        prob: the model's foreground probability at the image's resolution.
        image: the image (edges slow the spread of a click).
        clicks: in (row, col) pixels of ``image``, applied in order (a later click can undo an
            earlier one).
        edge_weight: how much image edges slow the spread (0: plain distance).
    """
    refiner = ClickRefiner(prob, image, preprocessing, max_radius_fraction=max_radius_fraction,
                           min_radius_fraction=min_radius_fraction, strength=strength, edge_weight=edge_weight,
                           threshold=threshold)
    if not clicks:
        return refiner.mask()
    h, w = refiner.logit.shape
    for c in clicks:
        if not (0 <= c.row < h and 0 <= c.col < w):
            raise InputError(f"click ({c.row}, {c.col}) is outside the {h}x{w} image")
    for c in clicks:
        refiner.add(c)
    return refiner.mask()


class ClickRefiner:
    """``refine_with_clicks`` one click at a time: each click's geodesic bump is computed once.

    ``refine_with_clicks(prob, image, clicks)`` equals adding ``clicks`` in order to a refiner
    and reading ``mask()``; a click simulation of n clicks costs n geodesic maps, not n(n+1)/2.
    """

    def __init__(self, prob: np.ndarray, image: np.ndarray, preprocessing: Preprocessing | None = None, *,
                 max_radius_fraction: float = 0.15, min_radius_fraction: float = 0.02, strength: float = 6.0,
                 edge_weight: float = 1.0, threshold: float | None = None) -> None:
        self.preprocessing = preprocessing or Preprocessing()
        prob = np.asarray(prob, dtype=np.float32)
        self.prob = prob
        h, w = prob.shape
        self.t = float(self.preprocessing.threshold if threshold is None else threshold)
        self.work = _work_shape((h, w))
        self.cost = edge_cost(image, self.work, edge_weight)
        self.scale = max(self.work) / max(h, w)
        self.radii = (min_radius_fraction * max(self.work), max_radius_fraction * max(self.work))
        self.strength = strength
        eps = 1e-4
        clipped = np.clip(prob, eps, 1 - eps)
        bias = np.log(self.t / (1 - self.t)) if 0 < self.t < 1 else 0.0
        self.logit = np.log(clipped / (1 - clipped)) - bias  # 0 is now the decision boundary
        self.clicks: list[Click] = []

    def add(self, click: Click) -> None:
        """Apply one click (in image pixels) to the logits."""
        h, w = self.logit.shape
        current = self.logit > 0
        inside = current if not click.positive else ~current
        thickness = ndimage.distance_transform_edt(np.pad(inside, 1))[1:-1, 1:-1][click.row, click.col]
        radius = float(np.clip(1.2 * thickness * self.scale, *self.radii))
        scale_r, scale_c = self.work[0] / h, self.work[1] / w
        seed = (min(self.work[0] - 1, int(click.row * scale_r)), min(self.work[1] - 1, int(click.col * scale_c)))
        dist = geodesic_distance(self.cost, [seed])
        bump = (1.0 / (1.0 + (dist / radius) ** 4)).astype(np.float32)
        bump = resize(torch.from_numpy(bump)[None, None], (h, w))[0, 0].numpy()
        amplitude = 2 * (abs(float(self.logit[click.row, click.col])) + self.strength)
        self.logit = self.logit + (amplitude if click.positive else -amplitude) * bump
        self.clicks.append(click)

    def mask(self) -> np.ndarray:
        """The binary mask after the clicks so far (the card's post-processing; clicked components kept)."""
        if not self.clicks:
            return threshold_and_clean(self.prob, self.preprocessing, self.t)
        mask = self.logit > 0
        positives = [(c.row, c.col) for c in self.clicks if c.positive and mask[c.row, c.col]]
        mask = threshold_and_clean(mask.astype(np.float32), self.preprocessing, 0.5, keep_points=positives)
        return _remove_negative_components(mask, self.clicks)


def _remove_negative_components(mask: np.ndarray, clicks: Sequence[Click]) -> np.ndarray:
    """A negative click never lies inside the mask (post-processing may have filled it back)."""
    for c in clicks:
        if not c.positive and mask[c.row, c.col]:
            mask = mask.copy()
            mask[c.row, c.col] = False
    return mask


# ---------------------------------------------------------------- evaluation


def simulate_click(pred: np.ndarray, truth: np.ndarray) -> Click | None:
    """Next click of a simulated user: the centre (farthest point from its border) of the
    larger error, positive for a miss, negative for a false alarm; None when perfect."""
    pred = np.asarray(pred, bool)
    truth = np.asarray(truth, bool)
    fn = np.pad(truth & ~pred, 1)
    fp = np.pad(pred & ~truth, 1)
    fn_dist = ndimage.distance_transform_edt(fn)[1:-1, 1:-1]
    fp_dist = ndimage.distance_transform_edt(fp)[1:-1, 1:-1]
    if max(fn_dist.max(), fp_dist.max()) == 0:
        return None
    positive = fn_dist.max() >= fp_dist.max()
    dist = fn_dist if positive else fp_dist
    row, col = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return Click(int(row), int(col), bool(positive))


def click_curve(
    model: torch.nn.Module,
    cases: Sequence[tuple[str, np.ndarray, np.ndarray]],
    preprocessing: Preprocessing,
    counts: Sequence[int] = (0, 1, 3, 5),
    **options: Any,
) -> dict[str, float]:
    """Mean Dice after each number of simulated clicks in ``counts`` over ``cases``
    (``(name, image, truth)``), clicks accumulating per image."""
    scores: dict[int, list[float]] = {n: [] for n in counts}
    for _, image, truth in cases:
        if truth.shape != image.shape[:2]:  # masks of another size: compare at the image's size
            truth = prepare_mask(truth, image.shape[:2])[0] > 0
        prob = predict_proba(model, image, preprocessing)
        clicks: list[Click] = []
        mask = refine_with_clicks(prob, image, clicks, preprocessing, **options)
        for n in range(max(counts) + 1):
            if n in scores:
                scores[n].append(dice_iou(mask, truth)[0])
            click = simulate_click(mask, truth)
            if click is None:  # perfect: stays perfect
                for m in counts:
                    if m > n:
                        scores[m].append(1.0)
                break
            clicks.append(click)
            mask = refine_with_clicks(prob, image, clicks, preprocessing, **options)
    return {f"dice_{n}_clicks": round(float(np.mean(v)), 4) for n, v in scores.items()}
