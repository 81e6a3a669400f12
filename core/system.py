"""What the system panel and ``python -m core models`` show: the device, the registered models,
the cards that were skipped, and what the model cache holds.

The pages and commands read these facts here (they import neither ``registry`` nor ``cache``).
"""

from __future__ import annotations

from typing import Any

from core import cache, registry
from core.errors import MedLensError


def device() -> str:
    """The device models run on, in words (``CPU (2 threads)``, a CUDA card's name), or why none."""
    try:
        return cache.device_name()
    except MedLensError as exc:
        return f"unavailable ({exc})"


def models(task: str | None = None) -> list[dict[str, Any]]:
    """The registry as JSON-ready rows (``ModelSpec.summary``), optionally of one task."""
    return [spec.summary() for spec in registry.list_models(task)]


def card_errors() -> list[str]:
    """One line per model card that was skipped, saying why."""
    return registry.card_errors()


def cache_stats() -> dict[str, Any]:
    """Loads, hits, models held and bytes per device of the process-wide model cache."""
    return cache.stats()


def summary() -> dict[str, Any]:
    """Everything the system panel shows, as plain data."""
    stats = cache_stats()
    return {
        "device": device(),
        "models": models(),
        "loaded": stats["models"],
        "held_bytes": sum(stats["bytes_per_device"].values()),
        "budget_bytes": stats["budget_bytes"],
        "loads": stats["loads"],
        "hits": stats["hits"],
        "card_errors": card_errors(),
    }
