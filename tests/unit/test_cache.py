"""Model cache: one load under concurrency, LRU eviction under a budget, clear errors."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import torch

from core import cache, registry
from core.errors import ModelError
from tests.conftest import write_tiny_model


def test_get_model_returns_eval_model_and_hits(tiny_model: str) -> None:
    model = cache.get_model(tiny_model, "cpu")
    assert not model.training
    assert cache.get_model(tiny_model, "cpu") is model
    stats = cache.stats()
    assert stats["loads"] >= 1 and stats["hits"] >= 1
    assert stats["bytes_per_device"]["cpu"] == cache.model_nbytes(model) > 0


def test_tiny_model_really_learned(tiny_model: str) -> None:
    """The fixture model must tell bright from dark images (it is a real trained model)."""
    model = cache.get_model(tiny_model, "cpu")
    dark, bright = torch.full((1, 1, 16, 16), 0.1), torch.full((1, 1, 16, 16), 0.9)
    with torch.no_grad():
        assert model(dark).argmax().item() == 0
        assert model(bright).argmax().item() == 1


def test_eight_threads_load_once(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_load = cache.load_model
    barrier = threading.Barrier(8)

    def slow_load(spec, device):
        calls.append(spec.name)
        threading.Event().wait(0.2)  # widen the race window
        return real_load(spec, device)

    monkeypatch.setattr(cache, "load_model", slow_load)
    results = []

    def worker() -> None:
        barrier.wait()
        results.append(cache.get_model(tiny_model, "cpu"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [tiny_model]
    assert len(results) == 8 and all(r is results[0] for r in results)


@pytest.mark.slow
def test_lru_eviction_past_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, use_cards) -> None:
    for name in ("tiny-a", "tiny-b", "tiny-c"):
        write_tiny_model(tmp_path, name)
    use_cards(tmp_path)
    one_model = cache.model_nbytes(cache.load_model(registry.get_spec("tiny-a"), torch.device("cpu")))
    monkeypatch.setenv("MEDLENS_CACHE_MB", str(2.5 * one_model / 1024 / 1024))  # room for two
    cache.get_model("tiny-a", "cpu")
    cache.get_model("tiny-b", "cpu")
    cache.get_model("tiny-a", "cpu")  # a is now most recently used
    evictions = cache.CACHE.evictions
    cache.get_model("tiny-c", "cpu")  # evicts b, the least recently used
    loaded = [m["name"] for m in cache.stats()["models"]]
    assert loaded == ["tiny-a", "tiny-c"]
    assert cache.CACHE.evictions == evictions + 1


def test_unknown_model_is_a_model_error(tiny_model: str) -> None:
    with pytest.raises(ModelError, match="valid: .*tiny-test"):
        cache.get_model("nope", "cpu")


def test_missing_weights_say_how_to_reproduce(tiny_model: str) -> None:
    spec = registry.get_spec(tiny_model)
    spec.weights.unlink()
    with pytest.raises(ModelError, match="missing.*reproduce them with"):
        cache.get_model(tiny_model, "cpu")


def test_weights_of_wrong_shape_are_refused(tiny_model: str) -> None:
    spec = registry.get_spec(tiny_model)
    card = json.loads(spec.card_path.read_text())
    card["architecture"]["args"]["num_classes"] = 3
    spec.card_path.write_text(json.dumps(card))
    registry.reload()
    with pytest.raises(ModelError, match="do not match"):
        cache.get_model(tiny_model, "cpu")


def test_corrupt_weights_are_refused(tiny_model: str) -> None:
    registry.get_spec(tiny_model).weights.write_bytes(b"garbage")
    with pytest.raises(ModelError, match="cannot be read"):
        cache.get_model(tiny_model, "cpu")


def test_device_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDLENS_DEVICE", "cpu")
    assert cache.resolve_device().type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="CUDA is not available"):
            cache.resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_memory_released_on_clear(tiny_model: str) -> None:
    cache.get_model(tiny_model, "cuda")
    assert torch.cuda.memory_allocated() > 0
    cache.clear()
    assert torch.cuda.memory_allocated() == 0
