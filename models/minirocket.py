"""MiniRocket features + a linear (ridge) read-out, as a torch module of plain arrays.

MiniRocket (Dempster, Schmidt & Webb, KDD 2021) convolves each series with 84 fixed kernels
of length 9 (weights -1, with +2 at three of the nine positions) at several dilations and
keeps the proportion of positive values (PPV) of each convolution minus a bias. Dilations and
biases are fitted on training series (by sktime at training time); here they are buffers, so
inference re-implements the transform in torch from arrays in safetensors and never needs
sktime, numba or a pickle. The transform follows sktime's ``_minirocket_numba._transform``
exactly: zero padding ("same" output) for every other kernel/dilation pair, the unpadded
("valid") part for the rest.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import torch
import torch.nn as nn

from models.architectures import register_architecture

KERNEL_LENGTH = 9
INDICES = np.asarray(list(combinations(range(KERNEL_LENGTH), 3)), np.int64)  # (84, 3), sktime's order


def fit_dilations(length: int, num_features: int = 10_000, max_dilations_per_kernel: int = 32
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Dilations and features per dilation (sktime's ``_fit_dilations``; depends only on the sizes)."""
    num_features = max(num_features, 84)
    per_kernel = num_features // 84
    true_max = min(per_kernel, max_dilations_per_kernel)
    multiplier = per_kernel / true_max
    max_exponent = np.log2((length - 1) / (KERNEL_LENGTH - 1))
    dilations, counts = np.unique(np.logspace(0, max_exponent, true_max, base=2).astype(np.int32),
                                  return_counts=True)
    counts = (counts * multiplier).astype(np.int32)
    remainder, i = per_kernel - int(counts.sum()), 0
    while remainder > 0:
        counts[i] += 1
        remainder -= 1
        i = (i + 1) % len(counts)
    return dilations.astype(np.int64), counts.astype(np.int64)


def minirocket_transform(x: torch.Tensor, dilations: torch.Tensor, per_dilation: torch.Tensor,
                         biases: torch.Tensor) -> torch.Tensor:
    """PPV features (N, 84 * sum(per_dilation)) of series ``x`` (N, L), float32."""
    n, length = x.shape
    weights = torch.full((84, 1, KERNEL_LENGTH), -1.0, dtype=x.dtype, device=x.device)
    rows = torch.arange(84).repeat_interleave(3)
    weights[rows, 0, torch.from_numpy(INDICES.reshape(-1))] = 2.0
    features, start = [], 0
    for d_index, (dilation, count) in enumerate(zip(dilations.tolist(), per_dilation.tolist())):
        padding = ((KERNEL_LENGTH - 1) * dilation) // 2
        conv = torch.nn.functional.conv1d(x.unsqueeze(1), weights, padding=padding, dilation=dilation)  # (N,84,L)
        b = biases[start:start + 84 * count].view(84, count)
        positive = conv.unsqueeze(-1) > b.view(1, 84, 1, count)  # (N, 84, L, count)
        padded = (d_index + torch.arange(84, device=x.device)) % 2 == 0  # sktime: _padding1 == 0 -> full
        full = positive.float().mean(dim=2)
        valid = positive[:, :, padding:length - padding].float().mean(dim=2)
        features.append(torch.where(padded.view(1, 84, 1), full, valid).reshape(n, 84 * count))
        start += 84 * count
    return torch.cat(features, dim=1)


class MiniRocketClassifier(nn.Module):
    """MiniRocket transform -> standardisation -> ridge scores -> calibrated logits.

    Args:
        length: series length the dilations were fitted for.
        num_classes: output classes (2: ridge gives one score ``d``; logits are ``(0, a*d + b)``).
        num_features: requested feature count (rounded down to a multiple of 84 as in sktime).
    """

    differentiable = False  # PPV is a step function: saliency must use occlusion

    def __init__(self, length: int, num_classes: int = 2, num_features: int = 10_000) -> None:
        super().__init__()
        dilations, per_dilation = fit_dilations(length, num_features)
        total = 84 * int(per_dilation.sum())
        outputs = 1 if num_classes == 2 else num_classes
        self.num_classes = num_classes
        self.register_buffer("dilations", torch.from_numpy(dilations))
        self.register_buffer("per_dilation", torch.from_numpy(per_dilation))
        self.register_buffer("biases", torch.zeros(total))
        self.register_buffer("feature_mean", torch.zeros(total))
        self.register_buffer("feature_scale", torch.ones(total))
        self.register_buffer("ridge_weight", torch.zeros(outputs, total))
        self.register_buffer("ridge_bias", torch.zeros(outputs))
        self.register_buffer("calib_scale", torch.ones(()))
        self.register_buffer("calib_bias", torch.zeros(()))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return minirocket_transform(x.float(), self.dilations, self.per_dilation, self.biases)

    def decision(self, x: torch.Tensor) -> torch.Tensor:
        """Ridge scores (N, 1) for two classes, (N, C) otherwise."""
        z = (self.features(x) - self.feature_mean) / self.feature_scale
        return z @ self.ridge_weight.T + self.ridge_bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = self.decision(x.reshape(x.shape[0], -1)) * self.calib_scale
        if self.num_classes == 2:
            return torch.cat([torch.zeros_like(d), d + self.calib_bias], dim=1)
        return d


@register_architecture("minirocket_ridge")
def minirocket_ridge(length: int, num_classes: int = 2, num_features: int = 10_000) -> nn.Module:
    return MiniRocketClassifier(length, num_classes, num_features)


class SequenceEnsemble(nn.Module):
    """Mean of the class probabilities of a MiniRocket model and a recurrent model; returns log-probs."""

    differentiable = False

    def __init__(self, minirocket: dict, gru: dict) -> None:
        from models.prognosis_nets import sequence_gru

        super().__init__()
        self.minirocket = MiniRocketClassifier(**minirocket)
        self.gru = sequence_gru(**gru)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = (torch.softmax(self.minirocket(x), 1) + torch.softmax(self.gru(x), 1)) / 2
        return torch.log(p.clamp_min(1e-8))


@register_architecture("minirocket_gru_ensemble")
def minirocket_gru_ensemble(minirocket: dict, gru: dict) -> nn.Module:
    return SequenceEnsemble(minirocket, gru)
