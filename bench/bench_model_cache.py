"""Cold load of a model from disk vs. a cached ``get_model``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.runner import benchmark, time_alternating


def _largest_registered_model() -> str | None:
    from core.registry import list_models

    with_weights = [s for s in list_models() if s.weights and s.weights.exists() and s.task != "test"]
    if not with_weights:
        return None
    return max(with_weights, key=lambda s: s.weights.stat().st_size).name


@benchmark("model_cache")
def model_cache() -> dict[str, Any]:
    import os

    from core import cache, registry

    name = _largest_registered_model()
    tmp = None
    if name is None:  # before real models land, use the tiny test model
        from tests.conftest import write_tiny_model

        tmp = tempfile.TemporaryDirectory()
        write_tiny_model(Path(tmp.name))
        os.environ["MEDLENS_MODEL_DIRS"] = tmp.name
        registry.reload()
        name = "tiny-test"
    spec = registry.get_spec(name)
    device = cache.resolve_device("cpu")
    cache.clear()
    cache.get_model(name, device)  # warm the cache
    medians = time_alternating({
        "cold": lambda: cache.load_model(spec, device),
        "cached": lambda: cache.get_model(name, device),
    }, repeats=7)
    weights_bytes = spec.weights.stat().st_size if spec.weights else 0
    if tmp is not None:
        os.environ.pop("MEDLENS_MODEL_DIRS", None)
        registry.reload()
        tmp.cleanup()
    return {
        "ratio": medians["cold"] / medians["cached"],
        "ratio_meaning": "cold load median / cached get_model median",
        "model": name,
        "weights_bytes": weights_bytes,
        "cold_median_s": medians["cold"],
        "cached_median_s": medians["cached"],
    }
