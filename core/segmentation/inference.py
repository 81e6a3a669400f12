"""Run a segmentation model on one image of any size and channel count.

``predict_proba`` prepares the image with the card's preprocessing, runs the network (with an
optional horizontal-flip test-time augmentation) and returns the foreground probability at
the image's original resolution. ``segment`` adds the card's threshold and post-processing and
is what pages and the command line call (models come from ``core.cache``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.cache import device_of, get_model
from core.errors import InputError, ModelError
from core.registry import Preprocessing, get_spec
from core.segmentation.postprocess import postprocess as clean
from core.segmentation.preprocess import prepare, resize


@dataclass
class SegmentationResult:
    """Probability map and mask at the input's resolution, plus what produced them."""

    prob: np.ndarray  # float32 (H, W) in [0, 1]
    mask: np.ndarray  # bool (H, W)
    threshold: float
    model: str

    @property
    def area_fraction(self) -> float:
        return float(self.mask.mean())


@torch.no_grad()
def logits_at_model_size(model: torch.nn.Module, batch: np.ndarray | torch.Tensor, tta: bool = False) -> torch.Tensor:
    """Logits ``(N, 1, h, w)`` for a prepared batch ``(N, C, h, w)``; ``tta`` averages in the
    horizontally flipped prediction (flipped back)."""
    inputs = torch.as_tensor(batch, dtype=torch.float32, device=device_of(model))
    logits = model(inputs)
    if tta:
        logits = (logits + torch.flip(model(torch.flip(inputs, dims=[-1])), dims=[-1])) / 2
    return logits.float()


def _check_image(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[0] == 1 and array.shape[-1] not in (1, 3, 4):
        array = array[0]  # a single frame (1, H, W)
    if array.ndim not in (2, 3) or array.size == 0:
        raise InputError(f"segmentation needs one 2-D image, got shape {tuple(array.shape)}")
    return array


def predict_proba(
    model: torch.nn.Module,
    image: np.ndarray,
    preprocessing: Preprocessing,
    tta: bool = False,
) -> np.ndarray:
    """Foreground probability ``(H, W)`` float32 in [0, 1] at the image's own size."""
    image = _check_image(image)
    prepared = prepare(image, preprocessing)[None]
    logits = logits_at_model_size(model, prepared, tta=tta)
    logits = resize(logits.cpu(), tuple(image.shape[:2]))  # interpolate logits, then squash
    return torch.sigmoid(logits)[0, 0].numpy().astype(np.float32)


def threshold_and_clean(prob: np.ndarray, preprocessing: Preprocessing, threshold: float | None = None,
                        postprocess: bool = True, keep_points=()) -> np.ndarray:
    """Binary mask from a probability map with the card's threshold and post-processing."""
    t = float(preprocessing.threshold if threshold is None else threshold)
    mask = prob >= t
    if postprocess:
        mask = clean(mask, preprocessing.postprocess, dict(preprocessing.postprocess_options), keep_points)
    return mask


def segment(
    image: np.ndarray,
    model_name: str,
    *,
    threshold: float | None = None,
    tta: bool = False,
    postprocess: bool = True,
    device: str | None = None,
) -> SegmentationResult:
    """Segment ``image`` ``(H, W[, C])`` with registered model ``model_name``."""
    try:
        spec = get_spec(model_name)
    except KeyError as exc:
        raise ModelError(str(exc.args[0])) from None
    model = get_model(model_name, device)
    prob = predict_proba(model, image, spec.preprocessing, tta=tta)
    t = float(spec.threshold if threshold is None else threshold)
    mask = threshold_and_clean(prob, spec.preprocessing, t, postprocess)
    region = within_region(image, spec.preprocessing, model_name, tta=tta, device=device)
    if region is not None:  # e.g. opacity only inside the lungs
        prob = prob * region
        mask = mask & region
    return SegmentationResult(prob=prob, mask=mask, threshold=t, model=model_name)


def within_region(image: np.ndarray, preprocessing: Preprocessing, model_name: str = "", tta: bool = False,
                  device: str | None = None) -> np.ndarray | None:
    """The mask of the model named by the card's ``preprocessing.within`` (None when unset):
    a model whose target lies inside another structure (opacity inside the lungs) is
    restricted to it."""
    within = preprocessing.within
    if not within or within == model_name:
        return None
    return segment(image, within, tta=tta, device=device).mask
