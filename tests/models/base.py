"""Shared checks run over every registered model (segmentation_models.pytorch style).

A model's test is three lines::

    class TestLungsCxr(BaseModelTester):
        model_name = "lungs-cxr"

Subclasses may override ``make_input`` and ``check_output`` for their task; the defaults
suit image models (``preprocessing.size`` / ``channels`` from the card).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from core import cache
from core.registry import ModelSpec, get_spec


class BaseModelTester:
    model_name: str = ""
    devices: tuple[str, ...] = ("cpu", "cuda")

    @pytest.fixture
    def spec(self) -> ModelSpec:
        return get_spec(self.model_name)

    def make_input(self, spec: ModelSpec, batch: int = 2) -> Any:
        """A random batch shaped like the model's training input."""
        size = spec.preprocessing.get("size", [64, 64])
        channels = spec.preprocessing.get("channels", 1)
        generator = torch.Generator().manual_seed(0)
        return torch.rand(batch, channels, *size, generator=generator)

    def forward(self, model: Any, inputs: Any) -> torch.Tensor:
        with torch.no_grad():
            return model(inputs)

    def check_output(self, spec: ModelSpec, inputs: Any, output: torch.Tensor) -> None:
        """Default: one row per input and finite values."""
        assert output.shape[0] == inputs.shape[0]
        assert torch.isfinite(output).all()

    def test_card_is_complete(self, spec: ModelSpec) -> None:
        for field in ("description", "data", "metrics", "command"):
            assert spec.card.get(field), f"card of {spec.name} lacks {field!r}"
        if spec.weights is not None:
            assert spec.weights.suffix == ".safetensors"
            assert spec.weights.exists(), f"weights missing: {spec.weights}"

    @pytest.mark.parametrize("device", ["cpu", "cuda"])
    def test_loads_and_runs(self, spec: ModelSpec, device: str) -> None:
        if device == "cuda" and not torch.cuda.is_available():
            pytest.skip("no CUDA device on this machine")
        model = cache.get_model(spec.name, device)
        assert cache.get_model(spec.name, device) is model, "second get must hit the cache"
        inputs = self.make_input(spec)
        inputs = inputs.to(device) if isinstance(inputs, torch.Tensor) else inputs
        output = self.forward(model, inputs)
        self.check_output(spec, inputs, output)

    def test_deterministic_in_eval_mode(self, spec: ModelSpec) -> None:
        model = cache.get_model(spec.name, "cpu")
        inputs = self.make_input(spec)
        first, second = self.forward(model, inputs), self.forward(model, inputs)
        assert torch.equal(first, second)

    def test_weights_round_trip(self, spec: ModelSpec, tmp_path) -> None:
        """Saving the loaded weights with safetensors and loading them back changes nothing."""
        model = cache.get_model(spec.name, "cpu")
        if not isinstance(model, torch.nn.Module):
            pytest.skip("not a torch module")
        from safetensors.torch import load_file, save_file

        path = tmp_path / "w.safetensors"
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
        reloaded = load_file(str(path))
        for key, value in model.state_dict().items():
            assert torch.equal(reloaded[key], value), key
