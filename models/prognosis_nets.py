"""Networks for prognosis: DeepSurv ensemble, stroke logistic model, heartbeat GRU / 1-D CNN.

All take already-encoded float inputs: tabular models a feature matrix ``(N, D)`` made by
``core.prognosis.tabular.Encoder`` (its JSON lives in the card), sequence models a batch of
z-normalised series ``(N, L)`` or ``(N, 1, L)``.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from models.architectures import register_architecture


def _mlp(in_features: int, hidden: tuple[int, ...], dropout: float, out: int = 1) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.SELU(), nn.AlphaDropout(dropout) if dropout else nn.Identity()]
        width = h
    layers.append(nn.Linear(width, out, bias=False))  # a Cox log-risk has no intercept
    return nn.Sequential(*layers)


class DeepSurvEnsemble(nn.Module):
    """``members`` DeepSurv MLPs (Cox partial likelihood), each with its Breslow baseline.

    ``forward(x)`` -> log-risk ``(N, members)``; ``survival(x)`` -> ``S(t | x)`` on the
    stored time grid ``(N, members, T)``, ``S = exp(-H0_m(t) exp(r_m(x)))``. The spread
    over members (trained on bootstrap resamples) is the uncertainty band.
    """

    def __init__(self, in_features: int, hidden: tuple[int, ...] = (32,), dropout: float = 0.1,
                 members: int = 10, n_times: int = 100) -> None:
        super().__init__()
        self.nets = nn.ModuleList(_mlp(in_features, tuple(hidden), dropout) for _ in range(members))
        self.register_buffer("times", torch.zeros(n_times))
        self.register_buffer("base_cumhaz", torch.zeros(members, n_times))
        self.register_buffer("risk_offset", torch.zeros(members))  # training mean log-risk per member

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([net(x) for net in self.nets], dim=1) - self.risk_offset

    def survival(self, x: torch.Tensor) -> torch.Tensor:
        risk = self.forward(x).exp()  # (N, M)
        return torch.exp(-self.base_cumhaz.unsqueeze(0) * risk.unsqueeze(-1))


@register_architecture("deepsurv_ensemble")
def deepsurv_ensemble(in_features: int, hidden: list[int] | tuple[int, ...] = (32,), dropout: float = 0.1,
                      members: int = 10, n_times: int = 100) -> nn.Module:
    return DeepSurvEnsemble(in_features, tuple(hidden), dropout, members, n_times)


class LogisticRisk(nn.Module):
    """Logistic regression with ``members`` bootstrap refits for an interval on the risk.

    ``forward(x)`` -> probability ``(N,)`` from the model fitted on all training rows;
    ``members(x)`` -> probabilities ``(N, members)`` from the bootstrap refits.
    """

    def __init__(self, in_features: int, members: int = 200) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, 1)
        self.register_buffer("boot_weight", torch.zeros(members, in_features))
        self.register_buffer("boot_bias", torch.zeros(members))

    def logit(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).squeeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logit(x))

    def members(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x @ self.boot_weight.T + self.boot_bias)


@register_architecture("logistic_risk")
def logistic_risk(in_features: int, members: int = 200) -> nn.Module:
    return LogisticRisk(in_features, members)


def _as_series(x: torch.Tensor) -> torch.Tensor:
    """(N, L) or (N, 1, L) -> (N, L)."""
    return x.squeeze(1) if x.dim() == 3 else x


class SequenceGRU(nn.Module):
    """Bidirectional GRU over a heartbeat, mean- and max-pooled over time, linear head.

    With ``stem > 0`` two strided convolutions (``stem`` channels, stride 2 each) first turn
    the raw samples into local waveform features at a quarter of the rate, so the GRU runs
    over L/4 steps: it trains much faster and more stably than over raw samples.
    """

    def __init__(self, num_classes: int, hidden: int = 64, layers: int = 2, dropout: float = 0.2,
                 bidirectional: bool = True, stem: int = 0) -> None:
        super().__init__()
        if stem:
            self.stem = nn.Sequential(
                nn.Conv1d(1, stem, 7, stride=2, padding=3), nn.BatchNorm1d(stem), nn.ReLU(),
                nn.Conv1d(stem, stem, 5, stride=2, padding=2), nn.BatchNorm1d(stem), nn.ReLU(),
            )
        else:
            self.stem = nn.Identity()
        self.gru = nn.GRU(stem or 1, hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional,
                          dropout=dropout if layers > 1 else 0.0)
        width = hidden * (2 if bidirectional else 1)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * width, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.stem(_as_series(x).unsqueeze(1))  # (N, C, L')
        out, _ = self.gru(features.transpose(1, 2))  # (N, L', width)
        pooled = torch.cat([out.mean(dim=1), out.amax(dim=1)], dim=1)
        return self.head(pooled)


@register_architecture("sequence_gru")
def sequence_gru(num_classes: int, hidden: int = 64, layers: int = 2, dropout: float = 0.2,
                 bidirectional: bool = True, stem: int = 0) -> nn.Module:
    return SequenceGRU(num_classes, hidden, layers, dropout, bidirectional, stem)


class SequenceCNN(nn.Module):
    """Fully convolutional 1-D baseline (Wang et al. 2017 FCN, narrower): 3 conv blocks + GAP."""

    def __init__(self, num_classes: int, width: int = 32) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        channels = [1, width, 2 * width, width]
        for (cin, cout), k in zip(zip(channels[:-1], channels[1:]), (7, 5, 3)):
            blocks += [nn.Conv1d(cin, cout, k, padding=k // 2), nn.BatchNorm1d(cout), nn.ReLU()]
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(_as_series(x).unsqueeze(1)).mean(dim=-1))


@register_architecture("sequence_cnn1d")
def sequence_cnn1d(num_classes: int, width: int = 32) -> nn.Module:
    return SequenceCNN(num_classes, width)
