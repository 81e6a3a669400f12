"""Run a segmentation model on one image of any size and channel count.

``predict_proba`` prepares the image with the card's preprocessing, runs the network (with an
optional horizontal-flip test-time augmentation) and returns the foreground probability at
the image's original resolution; ``threshold_and_clean`` applies the card's threshold and
post-processing. ``core.segmentation.service.segment`` puts them together with prompts and the
enclosing structure (models come from ``core.cache`` there).
"""

from __future__ import annotations

import numpy as np
import torch

from core.cache import device_of
from core.errors import InputError
from core.registry import Preprocessing
from core.segmentation.postprocess import postprocess as clean
from core.segmentation.preprocess import prepare, resize


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
