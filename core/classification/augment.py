"""Batched random image perturbations on [0, 1] tensors: training augmentation and TTA views.

One function, two strengths: training uses large ranges, test-time augmentation small ones
(views a radiologist would call the same image). All randomness comes from a
``torch.Generator`` so a seeded call is reproducible (TTA intervals are deterministic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentParams:
    """Ranges of the random perturbations (all symmetric around "no change").

    Args:
        rotate_deg: rotation in +- degrees.
        scale: zoom factor range as +- log fraction (0.1 -> 0.90-1.11).
        aspect: anisotropic stretch range as +- log fraction (mimics different squashing).
        translate: shift as +- fraction of the image.
        hflip: flip left-right with probability 0.5.
        gamma: +- log gamma.
        contrast: +- fractional contrast change around the image mean.
        brightness: +- additive brightness.
        lowres_p: probability of a down-then-up resample (to 1/4-2/3 of the size).
        noise: maximum Gaussian noise standard deviation.
    """

    rotate_deg: float = 0.0
    scale: float = 0.0
    aspect: float = 0.0
    translate: float = 0.0
    hflip: bool = False
    gamma: float = 0.0
    contrast: float = 0.0
    brightness: float = 0.0
    lowres_p: float = 0.0
    noise: float = 0.0


def _uniform(n: int, half_range: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(n, generator=generator) * 2 - 1) * half_range


def augment(x: torch.Tensor, params: AugmentParams, generator: torch.Generator) -> torch.Tensor:
    """Randomly perturb a batch ``(B, C, H, W)`` of [0, 1] images; returns [0, 1] images."""
    b = x.shape[0]
    device = x.device
    angle = _uniform(b, math.radians(params.rotate_deg), generator)
    scale = torch.exp(_uniform(b, params.scale, generator))
    aspect = torch.exp(_uniform(b, params.aspect, generator))
    sx, sy = scale * aspect, scale / aspect
    tx, ty = _uniform(b, 2 * params.translate, generator), _uniform(b, 2 * params.translate, generator)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [torch.stack([cos / sx, -sin / sx, tx], 1), torch.stack([sin / sy, cos / sy, ty], 1)], 1
    ).to(device, x.dtype)
    if params.rotate_deg or params.scale or params.aspect or params.translate:
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    if params.hflip:
        flip = (torch.rand(b, generator=generator) < 0.5).to(device)
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    if params.lowres_p > 0:
        h, w = x.shape[-2:]
        chosen = (torch.rand(b, generator=generator) < params.lowres_p).to(device)
        if chosen.any():
            factor = float(torch.empty(1).uniform_(0.25, 0.67, generator=generator))
            small = F.interpolate(x, size=(max(8, int(h * factor)), max(8, int(w * factor))), mode="bilinear", antialias=True)
            back = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
            x = torch.where(chosen[:, None, None, None], back, x)
    x = x.clamp(0, 1)
    if params.gamma:
        x = x.clamp_min(1e-4) ** torch.exp(_uniform(b, params.gamma, generator)).to(device, x.dtype)[:, None, None, None]
    if params.contrast or params.brightness:
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        c = (1 + _uniform(b, params.contrast, generator)).to(device, x.dtype)[:, None, None, None]
        br = _uniform(b, params.brightness, generator).to(device, x.dtype)[:, None, None, None]
        x = (x - mean) * c + mean + br
    if params.noise:
        sigma = (torch.rand(b, generator=generator) * params.noise).to(device, x.dtype)[:, None, None, None]
        x = x + torch.randn(x.shape, generator=generator).to(device, x.dtype) * sigma
    return x.clamp(0, 1)
