"""The process-wide model cache shared by every browser session.

``get_model(name)`` returns the eval-mode model on the chosen device, loading it from its
card's weights (safetensors only) the first time. Loads are thread-safe: when eight
sessions ask for the same model at once, one thread loads and the others wait for it.
Past ``MEDLENS_CACHE_MB`` the least recently used models are evicted and the GPU memory
they held is released. ``stats()`` feeds the home page and the benchmarks.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import torch
from safetensors.torch import load_file

from core.errors import ModelError
from core.registry import ModelSpec, get_spec
from models.architectures import build_architecture

DEFAULT_BUDGET_MB = 4096


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device``, else ``MEDLENS_DEVICE``, else CUDA when available, else CPU."""
    choice = device or os.environ.get("MEDLENS_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(choice)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(f"device {choice!r} was asked for but CUDA is not available")
    return resolved


def device_of(model: Any) -> torch.device:
    """The device a model's parameters live on (CPU for a model without parameters)."""
    try:
        return next(model.parameters()).device
    except (StopIteration, AttributeError):
        return torch.device("cpu")


def device_name(device: torch.device | None = None) -> str:
    """A human name for the device: ``CPU`` or the CUDA card's name."""
    device = device or resolve_device()
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    return f"CPU ({torch.get_num_threads()} threads)"


def budget_bytes() -> int:
    return int(float(os.environ.get("MEDLENS_CACHE_MB", DEFAULT_BUDGET_MB)) * 1024 * 1024)


def model_nbytes(model: Any) -> int:
    """Bytes held by a model's parameters and buffers (or its ``nbytes`` attribute)."""
    if isinstance(model, torch.nn.Module):
        tensors = list(model.parameters()) + list(model.buffers())
        return sum(t.numel() * t.element_size() for t in tensors)
    return int(getattr(model, "nbytes", 0))


def load_model(spec: ModelSpec, device: torch.device) -> Any:
    """Build a model from its spec and load its weights, bypassing the cache."""
    model = build_architecture(spec.architecture, **spec.arch_args)
    if spec.weights is not None:
        if not spec.weights.exists():
            how = spec.card.command
            raise ModelError(
                f"weights of model {spec.name!r} are missing ({spec.weights.name})"
                + (f"; reproduce them with: {how}" if how else "")
            )
        try:
            state = load_file(str(spec.weights))
        except Exception as exc:  # corrupt file: say so in one line
            raise ModelError(f"weights of model {spec.name!r} cannot be read: {exc}") from None
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise ModelError(f"weights of model {spec.name!r} do not match its architecture: {first}") from None
    return model.to(device).eval()


@dataclass
class _Entry:
    model: Any
    device: torch.device
    nbytes: int
    loaded_at: float
    load_seconds: float


class ModelCache:
    """LRU cache of loaded models keyed by (name, device)."""

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self.loads = 0
        self.hits = 0
        self.evictions = 0

    def get(self, name: str, device: str | torch.device | None = None) -> Any:
        dev = resolve_device(device)
        key = (name, str(dev))
        with self._lock:
            entry = self._hit(key)
            if entry is not None:
                return entry.model
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # one loader per key; the others wait here, then hit
            with self._lock:
                entry = self._hit(key)
                if entry is not None:
                    return entry.model
            try:
                spec = get_spec(name)
            except KeyError as exc:
                raise ModelError(str(exc.args[0])) from None
            start = time.perf_counter()
            model = load_model(spec, dev)
            entry = _Entry(model, dev, model_nbytes(model), time.time(), time.perf_counter() - start)
            with self._lock:
                self._entries[key] = entry
                self.loads += 1
                self._evict_over_budget(keep=key)
            return model

    def _hit(self, key: tuple[str, str]) -> _Entry | None:
        """The entry for ``key`` marked most recently used, or None (caller holds the lock)."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            self.hits += 1
        return entry

    def _evict_over_budget(self, keep: tuple[str, str]) -> None:
        """Drop least recently used entries until under budget (never the one just loaded)."""
        budget = budget_bytes()
        freed_cuda = False
        while sum(e.nbytes for e in self._entries.values()) > budget and len(self._entries) > 1:
            key = next(iter(self._entries))
            if key == keep:
                break
            entry = self._entries.pop(key)
            freed_cuda |= entry.device.type == "cuda"
            self.evictions += 1
            del entry
        if freed_cuda:
            _release_cuda()

    def clear(self) -> None:
        """Evict everything and release GPU memory."""
        with self._lock:
            had_cuda = any(e.device.type == "cuda" for e in self._entries.values())
            self._entries.clear()
            self._key_locks.clear()
        if had_cuda:
            _release_cuda()

    def loaded(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"name": n, "device": d, "bytes": e.nbytes, "load_seconds": round(e.load_seconds, 4)}
                for (n, d), e in self._entries.items()
            ]

    def stats(self) -> dict[str, Any]:
        """Loads, hits, evictions, bytes per device, and the loaded models (LRU first)."""
        loaded = self.loaded()
        per_device: dict[str, int] = {}
        for item in loaded:
            per_device[item["device"]] = per_device.get(item["device"], 0) + item["bytes"]
        stats: dict[str, Any] = {
            "loads": self.loads,
            "hits": self.hits,
            "evictions": self.evictions,
            "budget_bytes": budget_bytes(),
            "bytes_per_device": per_device,
            "models": loaded,
        }
        if torch.cuda.is_available():
            stats["cuda_allocated_bytes"] = torch.cuda.memory_allocated()
        return stats


def _release_cuda() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


CACHE = ModelCache()


def get_model(name: str, device: str | torch.device | None = None) -> Any:
    """The eval-mode model ``name`` on ``device`` (see ``resolve_device``), loaded once."""
    return CACHE.get(name, device)


def stats() -> dict[str, Any]:
    return CACHE.stats()


def clear() -> None:
    CACHE.clear()
