"""The segmentation journey, once, for the page and the command line.

``segment(name, image, box=, clicks=, within=)`` runs a registered model on one 2-D frame with
its card's preprocessing and threshold, steered by an optional box and clicks, restricted to the
structure named by the card's ``within`` (opacity inside the lungs) with the share of it
affected. The mask editor (``core.ui.segmentation``), ``python -m core segment`` and the
evaluation all call it; they never read a card or load weights themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core import models_fit
from core.cache import get_model
from core.errors import MedLensError
from core.imaging import MedImage
from core.labeling import Workspace, mean_entropy
from core.registry import ModelSpec, list_models, preferred_order, require_spec
from core.segmentation.evaluate import matched_cases
from core.segmentation.inference import predict_proba, threshold_and_clean
from core.segmentation.metrics import dice_iou
from core.segmentation.preprocess import resize
from core.segmentation import noc as noc_mod
from core.segmentation.prompts import Click, box_proba, click_curve, refine_with_clicks
from core.segmentation.severity import severity_from_masks

TASK = "segmentation"
Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class Segmentation:
    """One frame's result: probability and mask at the frame's size, and what produced them.

    ``region`` is the mask of the enclosing structure (the card's ``within`` model) the mask was
    restricted to, and ``severity`` the share of it affected (``severity_from_masks().summary()``);
    both are None for a model without ``within`` or when ``within=False`` was asked.
    """

    prob: np.ndarray  # float32 (H, W) in [0, 1]
    mask: np.ndarray  # bool (H, W)
    threshold: float
    model: str
    label: str
    within: str | None = None
    region: np.ndarray | None = None
    severity: dict[str, Any] | None = None

    @property
    def area_fraction(self) -> float:
        return float(self.mask.mean())


# ---------------------------------------------------------------- the models a page can offer


def _spec(name: str) -> ModelSpec:
    return require_spec(name, TASK)


def _threshold(spec: ModelSpec, threshold: float | None) -> float:
    """The threshold asked for, else the card's (0.5 when the card names none)."""
    return float(spec.threshold if threshold is None else threshold)


def _within(spec: ModelSpec) -> str | None:
    """The model whose mask this model's output is restricted to (None when unset)."""
    within = spec.preprocessing.within
    return within if within and within != spec.name else None


def require_model(name: str) -> None:
    """InputError (listing the valid names) unless ``name`` is a registered segmentation model."""
    _spec(name)


def _models() -> list[ModelSpec]:
    """The registered segmentation models, a superseding model just before the one it replaces."""
    return preferred_order(list_models(TASK))


def model_names() -> list[str]:
    """The registered segmentation models, in picker order (``registry.preferred_order``)."""
    return [spec.name for spec in _models()]


def model_label(name: str | None) -> str | None:
    """The foreground label a model writes (its card's last label); None when unknown or 'background'."""
    if not name:
        return None
    try:
        labels = _spec(name).labels
    except MedLensError:
        return None
    return labels[-1] if labels and labels[-1].lower() != "background" else None


def model_for_label(label: str) -> str | None:
    """The registered segmentation model whose foreground label is ``label`` (the preferred one of several)."""
    for spec in _models():
        if spec.labels and spec.labels[-1].lower() == label.lower():
            return spec.name
    return None


def compatibility(name: str, image: MedImage) -> tuple[bool, str]:
    """``(ok, reason)``: whether model ``name``'s card (modality, body part) suits ``image``."""
    return models_fit.compatibility(_spec(name).card, image)


def default_model(image: MedImage, preferred: str | None = None) -> str | None:
    """The model a picker starts on: ``preferred`` when it suits ``image``, else the first that does."""
    specs = _models()
    if not specs:
        return None
    if preferred and any(s.name == preferred for s in specs) and compatibility(preferred, image)[0]:
        return preferred
    return specs[models_fit.first_compatible([s.card for s in specs], image)].name


def model_card(name: str) -> dict[str, Any]:
    """What a page shows about a model: description, labels, metrics, intended use, command."""
    spec = _spec(name)
    card = spec.card
    return {"description": card.description, "labels": list(card.labels), "metrics": dict(card.metrics),
            "intended_use": card.intended_use, "command": card.command}


# ---------------------------------------------------------------- one frame


def probability(name: str, image: np.ndarray, *, box: Sequence[float] | None = None, tta: bool = False,
                device: str | None = None) -> np.ndarray:
    """The model's foreground probability ``(H, W)`` for one frame; with ``box``, 0 outside it."""
    spec = _spec(name)
    model = get_model(name, device)
    if box is not None:
        return box_proba(model, image, spec.preprocessing, box, tta=tta)
    return predict_proba(model, image, spec.preprocessing, tta=tta)


def _inside(box: Sequence[float], shape: tuple[int, int]) -> np.ndarray:
    """Boolean ``(H, W)``: the pixels a box ``(x0, y0, x1, y1)`` covers (clipped to the image)."""
    h, w = shape
    x0, y0, x1, y1 = (float(v) for v in box)
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    inside = np.zeros((h, w), bool)
    r0, r1 = max(0, int(np.floor(y0))), min(h, int(np.ceil(y1)))
    c0, c1 = max(0, int(np.floor(x0))), min(w, int(np.ceil(x1)))
    inside[r0:r1, c0:c1] = True
    return inside


def segment(
    name: str,
    image: np.ndarray,
    *,
    box: Sequence[float] | None = None,
    clicks: Sequence[Click] = (),
    within: bool = True,
    threshold: float | None = None,
    tta: bool = False,
    prob: np.ndarray | None = None,
    outside: np.ndarray | None = None,
    postprocess: bool = True,
    device: str | None = None,
) -> Segmentation:
    """Segment one frame ``(H, W[, C])`` with registered model ``name``.

    Args:
        box: ``(x0, y0, x1, y1)`` in pixels: the model runs on the box (plus a margin) only.
        clicks: positive/negative clicks that grow or cut the mask (``prompts.refine_with_clicks``).
        within: restrict to the card's enclosing structure and measure the share affected.
        threshold: the probability threshold; default the card's.
        prob: a probability map already computed for this frame and model (interactive clicks
            reuse it instead of running the network again).
        outside: with ``box``, the mask kept outside the box (the box edits only inside it).
    """
    spec = _spec(name)
    t = _threshold(spec, threshold)
    if prob is None:
        prob = probability(name, image, box=box, tta=tta, device=device)
    if clicks:
        mask = refine_with_clicks(prob, image, list(clicks), spec.preprocessing, threshold=t)
    else:
        mask = threshold_and_clean(prob, spec.preprocessing, t, postprocess)
    if box is not None and outside is not None:
        mask = np.where(_inside(box, mask.shape), mask, np.asarray(outside, bool))
    label = model_label(name) or (spec.labels[-1] if spec.labels else "structure")
    result = Segmentation(prob=prob, mask=mask, threshold=t, model=name, label=label)
    parent = _within(spec) if within else None
    if parent is not None:  # e.g. opacity only inside the lungs
        region = segment(parent, image, tta=tta, device=device).mask
        result.within, result.region = parent, region
        result.prob = prob * region
        result.mask = mask & region
        result.severity = severity_from_masks(region, result.mask).summary()
    return result


# ---------------------------------------------------------------- images, volumes, sessions


def segment_image(name: str, image: MedImage, **options: Any) -> list[Segmentation]:
    """``segment`` on every frame of a ``MedImage`` (a series or cine: one result per frame)."""
    return [segment(name, image.frame(index), **options) for index in range(image.n_frames)]


def segment_into(ws: Workspace, name: str, frames: Sequence[int], fallback_label: str,
                 progress: Progress | None = None) -> tuple[str, bool]:
    """Run ``name`` on ``frames`` of the workspace image into the model's own label, one undoable
    edit per frame (saved at once). The label is added to the session when missing;
    ``fallback_label`` is used when the card names none. Returns ``(label, label_was_added)``."""
    label = model_label(name) or fallback_label
    added = label not in ws.labels
    if added:
        ws.add_labels([label])
    for i, frame in enumerate(frames):
        result = segment(name, ws.image.frame(frame))
        ws.probs[(label, frame)] = result.prob
        ws.clicks.pop((label, frame), None)
        ws.edit(label, frame, result.mask, f"model {name}")
        if progress is not None:
            progress(i + 1, len(frames))
    return label, added


def score_uncertainty(ws: Workspace, name: str, progress: Progress | None = None) -> int:
    """Run ``name`` on the first frame of every image of the workspace's session and store the mean
    entropy of its probabilities (0 = sure everywhere) for active-learning order. Returns the count."""
    store = ws.store
    images = store.list_images(ws.session.id)
    for i, record in enumerate(images):
        image = ws.image if record.id == ws.image_id else store.load_image(record.id)
        store.set_uncertainty(record.id, mean_entropy(probability(name, image.frame(0))))
        if progress is not None:
            progress(i + 1, len(images))
    return len(images)


# ---------------------------------------------------------------- evaluation


def evaluate(name: str, images: Path, masks: Path, *, tta: bool = False, device: str | None = None,
             clicks: bool = False, noc: bool = False) -> dict[str, Any]:
    """``{"model", "dice", "iou", "n"}``: mean per-image Dice/IoU of ``name`` (as ``segment`` runs it, at
    the card's threshold) on a folder of images and masks with the same names; a mask of another size
    gets the probability resized to it. With ``clicks``, also the mean Dice after 0/1/3/5 simulated
    clicks (``prompts.click_curve``); with ``noc``, NoC@85/90 (``noc.noc``: clicks to Dice .85/.90)."""
    spec = _spec(name)
    dices, ious = [], []
    for _, image, truth in matched_cases(images, masks):
        found = segment(name, image, tta=tta, device=device)
        mask = found.mask
        if mask.shape != truth.shape:
            prob = resize(torch.from_numpy(found.prob)[None, None], truth.shape)[0, 0].numpy()
            mask = threshold_and_clean(prob, spec.preprocessing, found.threshold)
        d, i = dice_iou(mask, truth)
        dices.append(d)
        ious.append(i)
    result: dict[str, Any] = {"model": name, "dice": float(np.mean(dices)), "iou": float(np.mean(ious)), "n": len(dices)}
    if clicks:
        cases = list(matched_cases(images, masks))
        result["clicks"] = click_curve(get_model(name, device), cases, spec.preprocessing)
    if noc:
        result["noc"] = noc_mod.noc(get_model(name, device), list(matched_cases(images, masks)), spec.preprocessing)
    return result
