"""Benchmark registry and timing helpers.

Benchmarks are functions in ``bench/bench_*.py`` decorated with ``@benchmark(name)``; each
returns a dict with at least ``ratio`` (candidate speed-up over its baseline, higher is
better unless the dict says otherwise) plus the medians it measured. Candidates are timed
alternately in one process over several repetitions, so that machine noise hits them
alike; the claims are ratios, not absolute times.
"""

from __future__ import annotations

import importlib
import pkgutil
import statistics
import time
from typing import Any, Callable

BENCHMARKS: dict[str, Callable[[], dict[str, Any]]] = {}


def benchmark(name: str) -> Callable[[Callable[[], dict[str, Any]]], Callable[[], dict[str, Any]]]:
    """Register a benchmark function under ``name``."""

    def decorator(function: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
        BENCHMARKS[name] = function
        return function

    return decorator


def discover() -> dict[str, Callable[[], dict[str, Any]]]:
    """Import every ``bench/bench_*.py`` so its benchmarks register."""
    import bench

    for info in pkgutil.iter_modules(bench.__path__):
        if info.name.startswith("bench_"):
            importlib.import_module(f"bench.{info.name}")
    return BENCHMARKS


def _calls_per_sample(function: Callable[[], Any], min_seconds: float) -> int:
    """How many calls make one sample last at least ``min_seconds`` (for very fast calls)."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            function()
        if time.perf_counter() - start >= min_seconds or number >= 1_000_000:
            return number
        number *= 10


def time_alternating(
    candidates: dict[str, Callable[[], Any]], repeats: int = 7, min_seconds: float = 0.02
) -> dict[str, float]:
    """Median seconds per call of each candidate, timed in turn ``repeats`` times."""
    numbers = {name: _calls_per_sample(f, min_seconds) for name, f in candidates.items()}
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, function in candidates.items():
            start = time.perf_counter()
            for _ in range(numbers[name]):
                function()
            samples[name].append((time.perf_counter() - start) / numbers[name])
    return {name: statistics.median(values) for name, values in samples.items()}
