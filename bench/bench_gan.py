"""Sampling throughput of a conditional generator on CPU: one batch of 64 vs. a loop of 64 single samples."""

from __future__ import annotations

from typing import Any

from bench.runner import benchmark, time_alternating

BATCH = 64


def _generator() -> tuple[Any, str]:
    """The committed pneumonia generator (its weights when present), else its architecture at random init."""
    import models  # noqa: F401
    from core.cache import load_model, resolve_device
    from core.registry import registry
    from models.architectures import build_architecture

    spec = registry().get("pneumonia-cgan")
    if spec is not None and spec.weights is not None and spec.weights.exists():
        return load_model(spec, resolve_device("cpu")), spec.name
    from core.synthesis.data import RECIPES

    return build_architecture("cond_generator", **RECIPES["pneumonia-cgan"]["g_args"]).eval(), "pneumonia-cgan (random init)"


@benchmark("gan_sampling")
def gan_sampling() -> dict[str, Any]:
    import torch

    from core.synthesis.generate import latents

    model, name = _generator()
    z = latents(BATCH, model.z_dim, seed=0)
    y = torch.arange(BATCH) % model.n_classes

    def batched() -> None:
        with torch.no_grad():
            model(z, y)

    def looped() -> None:
        with torch.no_grad():
            for i in range(BATCH):
                model(z[i : i + 1], y[i : i + 1])

    medians = time_alternating({"batch64": batched, "loop1": looped}, repeats=5)
    return {
        "ratio": medians["loop1"] / medians["batch64"],
        "ratio_meaning": f"time of {BATCH} batch-1 calls / time of one batch-{BATCH} call (higher = batching helps)",
        "model": name,
        "device": "cpu",
        "threads": torch.get_num_threads(),
        "samples_per_s_batch64": BATCH / medians["batch64"],
        "samples_per_s_loop1": BATCH / medians["loop1"],
        "batch64_median_s": medians["batch64"],
        "loop1_median_s": medians["loop1"],
    }
