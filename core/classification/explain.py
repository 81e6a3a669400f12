"""Explanations of a classifier's decision: Grad-CAM and occlusion sensitivity (MONAI).

- ``gradcam``: MONAI ``GradCAM`` on the last residual stage (``layer4``; for an ensemble the
  members' maps are averaged) for the positive class.
- ``occlusion``: occlusion sensitivity (Zeiler & Fergus 2014): how much the positive-class log-odds drop
  when a Gaussian patch hides each region (a perturbation method, independent of gradients).
- ``randomisation_check``: Adebayo et al. (2018) sanity check: the map must change when the
  model's weights are re-initialised at random (low rank correlation with the original map).
MONAI's Grad-CAM registers hooks on the module it is given, so it works on a deep copy
and the cached model is never modified.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from core.classification.inference import resize01

METHODS = ("Grad-CAM", "Occlusion")

# A perceptually ordered blue -> cyan -> yellow -> red ramp (anchors of the "turbo" map).
_RAMP = np.array(
    [[48, 18, 59], [70, 107, 227], [40, 187, 236], [49, 242, 153], [162, 252, 60], [237, 208, 58],
     [251, 128, 34], [208, 47, 5], [122, 4, 3]],
    dtype=np.float32,
)


def _target_layers(model: torch.nn.Module) -> list[str]:
    names = [name for name, _ in model.named_modules() if name.endswith("layer4")]
    if not names:
        raise ValueError("the model has no 'layer4' stage for Grad-CAM")
    return names


def _normalise(maps: np.ndarray) -> np.ndarray:
    """Per-image min-max to [0, 1] (a constant map becomes zeros)."""
    maps = np.asarray(maps, dtype=np.float32)
    out = np.zeros_like(maps)
    for i, m in enumerate(maps):
        span = float(m.max() - m.min())
        out[i] = (m - m.min()) / span if span > 1e-12 else 0.0
    return out


def gradcam(model: torch.nn.Module, batch: torch.Tensor, class_idx: int = 1) -> np.ndarray:
    """Grad-CAM maps ``(N, H, W)`` in [0, 1] at the input's size for class ``class_idx``."""
    from monai.visualize import GradCAM

    work = copy.deepcopy(model).eval()
    layers = _target_layers(work)
    cam = GradCAM(nn_module=work, target_layers=layers if len(layers) > 1 else layers[0])
    maps = []
    with torch.enable_grad():
        for idx in range(len(layers)):
            maps.append(cam(batch.detach().clone(), class_idx=class_idx, layer_idx=idx).detach().cpu().numpy()[:, 0])
    return _normalise(np.mean(maps, axis=0))


def occlusion(model: torch.nn.Module, batch: torch.Tensor, class_idx: int = 1, patch_fraction: float = 0.15,
              stride_fraction: float = 0.5) -> np.ndarray:
    """Occlusion maps ``(N, H, W)`` in [0, 1]: drop of the ``class_idx`` log-odds when a patch
    (``patch_fraction`` of the side, filled with the image mean) hides each region.

    Hand-batched (every occluded copy of an image in one forward pass) because MONAI's
    ``OcclusionSensitivity`` took ~13 s per 28 px image on this CPU.
    """
    size_h, size_w = batch.shape[-2:]
    patch = max(2, int(round(min(size_h, size_w) * patch_fraction)))
    stride = max(1, int(round(patch * stride_fraction)))
    tops = list(range(0, max(1, size_h - patch) + 1, stride))
    lefts = list(range(0, max(1, size_w - patch) + 1, stride))
    maps = []
    model.eval()
    with torch.no_grad():
        for x in batch:
            copies = x[None].repeat(len(tops) * len(lefts), 1, 1, 1)
            fill = x.mean()
            k = 0
            for top in tops:
                for left in lefts:
                    copies[k, :, top : top + patch, left : left + patch] = fill
                    k += 1
            logits = torch.cat([model(x[None]), *[model(c) for c in copies.split(64)]]).double()
            log_odds = logits[:, class_idx] - logits[:, 1 - class_idx] if logits.shape[1] == 2 else logits[:, class_idx]
            drop = (log_odds[0] - log_odds[1:]).cpu().numpy()
            heat = np.zeros((size_h, size_w))
            count = np.zeros((size_h, size_w))
            k = 0
            for top in tops:
                for left in lefts:
                    heat[top : top + patch, left : left + patch] += drop[k]
                    count[top : top + patch, left : left + patch] += 1
                    k += 1
            maps.append(np.clip(heat / np.maximum(count, 1), 0, None))
    return _normalise(np.stack(maps))


def explain(model: torch.nn.Module, batch: torch.Tensor, method: str = "Grad-CAM", class_idx: int = 1) -> np.ndarray:
    """Dispatch by display name (``METHODS``)."""
    if method == "Grad-CAM":
        return gradcam(model, batch, class_idx)
    if method == "Occlusion":
        return occlusion(model, batch, class_idx)
    raise ValueError(f"unknown explanation method {method!r}; valid: {', '.join(METHODS)}")


def randomised_copy(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """A copy of ``model`` with every learnable layer re-initialised (random weights)."""
    clone = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):  # leave the caller's random state alone
        torch.manual_seed(seed)
        for module in clone.modules():
            if hasattr(module, "reset_parameters") and module is not clone:
                module.reset_parameters()
    return clone.eval()


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman correlation of two maps (NaN-safe: constant maps give 0)."""
    from scipy.stats import spearmanr

    a, b = np.ravel(a), np.ravel(b)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)


def randomisation_check(model: torch.nn.Module, batch: torch.Tensor, method: str = "Grad-CAM",
                        max_correlation: float = 0.5) -> dict[str, Any]:
    """Model-randomisation sanity check: maps of the trained vs randomised model must differ.

    Passes when the mean absolute Spearman correlation over the batch is below
    ``max_correlation`` (Adebayo et al. report the average over images: single coarse maps,
    e.g. 4 x 4 Grad-CAM cells of a 28 px model, can correlate by chance).
    """
    trained = explain(model, batch, method)
    random = explain(randomised_copy(model), batch, method)
    corr = [rank_correlation(a, b) for a, b in zip(trained, random)]
    mean_abs = float(np.mean(np.abs(corr)))
    return {"method": method, "rank_correlation": corr, "mean_abs_correlation": mean_abs,
            "max_correlation": max_correlation, "passed": mean_abs < max_correlation}


def colourise(heat: np.ndarray) -> np.ndarray:
    """A [0, 1] map -> RGB uint8 with the blue-to-red ramp."""
    heat = np.clip(np.asarray(heat, dtype=np.float32), 0, 1)
    pos = heat * (len(_RAMP) - 1)
    low = np.floor(pos).astype(int).clip(0, len(_RAMP) - 2)
    frac = (pos - low)[..., None]
    return (_RAMP[low] * (1 - frac) + _RAMP[low + 1] * frac).astype(np.uint8)


def overlay(gray01: np.ndarray, heat: np.ndarray, opacity: float = 0.4) -> np.ndarray:
    """Blend the colourised map over a [0, 1] gray image, per pixel by ``opacity * heat``
    (the map is resized to the image's size)."""
    gray01 = np.clip(np.asarray(gray01, dtype=np.float32), 0, 1)
    if heat.shape != gray01.shape:
        heat = resize01(heat, gray01.shape)
    base = np.repeat((gray01 * 255)[..., None], 3, axis=-1)
    alpha = (opacity * np.clip(heat, 0, 1))[..., None]  # weak evidence leaves the image visible
    blended = (1 - alpha) * base + alpha * colourise(heat).astype(np.float32)
    return np.clip(blended, 0, 255).astype(np.uint8)
