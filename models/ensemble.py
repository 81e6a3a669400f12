"""A mean ensemble of identical networks (``mean_ensemble``), one module with one weights file.

The members share one architecture (a registered name and its arguments) and differ only in
their weights; ``forward`` returns the mean of their logits, so the card's threshold and
post-processing apply as for a single network and inference code needs no change. Members are
built through the registry, never a nested ensemble, and their number is bounded, so a card
cannot ask for an unbounded network.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn as nn

from models.architectures import ARCHITECTURES, register_architecture

MAX_MEMBERS = 16


class MeanEnsemble(nn.Module):
    """``n`` networks of one architecture; the output is the mean of their outputs."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(x) for member in self.members]).mean(dim=0)


def build_members(name: str, args: Mapping[str, Any], n: int) -> list[nn.Module]:
    """``n`` networks of the registered single architecture ``name``. Ensembles (names ending in
    ``_ensemble``) cannot be members and ``n`` is bounded, so a card cannot ask for an unbounded network."""
    if name.endswith("_ensemble") or name not in ARCHITECTURES:
        raise ValueError(f"an ensemble member must be a registered single network, not {name!r}")
    if not isinstance(n, int) or not 1 <= n <= MAX_MEMBERS:
        raise ValueError(f"an ensemble has 1 to {MAX_MEMBERS} members, not {n!r}")
    return [ARCHITECTURES[name](**dict(args)) for _ in range(n)]


@register_architecture("mean_ensemble")
def mean_ensemble(member: Mapping[str, Any], n: int) -> nn.Module:
    """``n`` copies of ``member`` (``{"name": registered architecture, "args": {...}}``), averaged."""
    return MeanEnsemble(build_members(str(member.get("name", "")), member.get("args") or {}, n))
