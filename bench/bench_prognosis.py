"""Prognosis speed: batch survival scoring and the Cox partial-likelihood loss.

``survival_batch``: scoring the 686 GBSG2 patients with ``gbsg2-deepsurv`` in one
vectorised ``predict_table`` call against one call per patient (what a naive page loop
would do). ``cox_loss``: the O(n log n) ``logcumsumexp`` loss against the textbook O(n²)
risk-set sum on 686 patients (values checked equal before timing).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from bench.runner import benchmark, time_alternating


@benchmark("survival_batch")
def survival_batch() -> dict[str, Any]:
    from core.cache import get_model
    from core.prognosis.datasets import load_survival
    from core.prognosis.survival import predict_table
    from core.prognosis.tabular import Encoder
    from core.registry import get_spec

    spec = get_spec("gbsg2-deepsurv")
    model, encoder = get_model(spec.name, "cpu"), Encoder.from_json(spec.preprocessing.encoder)
    data = load_survival("gbsg2")
    clean = encoder.schema.validate(data.frame)
    rows = [clean.iloc[[i]] for i in range(len(clean))]
    medians = time_alternating({
        "per_row": lambda: [predict_table(model, encoder, r) for r in rows],
        "batch": lambda: predict_table(model, encoder, clean),
    }, repeats=5)
    return {"ratio": medians["per_row"] / medians["batch"], "median_s": medians, "n": len(clean)}


def _naive_cox(log_risk: torch.Tensor, time: torch.Tensor, event: torch.Tensor) -> torch.Tensor:
    total = torch.zeros(())
    for i in torch.nonzero(event).flatten():
        at_risk = time >= time[i]
        total = total + log_risk[i] - torch.logsumexp(log_risk[at_risk], dim=0)
    return -total / event.sum()


@benchmark("cox_loss")
def cox_loss_speed() -> dict[str, Any]:
    from core.prognosis.datasets import load_survival
    from core.prognosis.survival import cox_loss

    data = load_survival("gbsg2")
    time = torch.from_numpy(np.ascontiguousarray(data.time)).float()
    event = torch.from_numpy(np.ascontiguousarray(data.event)).float()
    log_risk = torch.from_numpy(np.random.default_rng(0).normal(size=len(time))).float()
    assert torch.allclose(cox_loss(log_risk, time, event), _naive_cox(log_risk, time, event), atol=1e-4)
    medians = time_alternating({
        "naive": lambda: _naive_cox(log_risk, time, event),
        "vectorised": lambda: cox_loss(log_risk, time, event),
    }, repeats=5)
    return {"ratio": medians["naive"] / medians["vectorised"], "median_s": medians, "n": len(time)}
