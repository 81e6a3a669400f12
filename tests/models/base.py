"""Shared checks run over every registered model (segmentation_models.pytorch style).

A model's test is three lines::

    class TestLungsCxr(BaseModelTester):
        model_name = "lungs-cxr"

Subclasses may override ``make_input``, ``forward`` and ``check_output`` for their task; the
defaults suit image models (``preprocessing.size`` / ``channels`` from the card). Every tester
runs on each of its ``devices`` that is present (CPU always; CUDA when available), and checks
that the model rebuilt from its card with the committed weights still gives the stored
reference output (``tests/models/reference/<name>.json``, written by
``python -m tests.models.make_reference``) on a fixed input.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from core import cache
from core.registry import ModelSpec, get_spec
from models.architectures import build_architecture

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
REFERENCE_VALUES = 16  # leading output values stored per model


def present(devices: tuple[str, ...]) -> list[str]:
    """The devices of ``devices`` this machine has (CUDA only when available)."""
    return [d for d in devices if d != "cuda" or torch.cuda.is_available()]


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rebuild(spec: ModelSpec) -> torch.nn.Module:
    """The card's architecture with the committed weights, built here without the cache."""
    model = build_architecture(spec.architecture, **spec.arch_args)
    model.load_state_dict(load_file(str(spec.weights)), strict=True)
    return model.eval()


def summarise(output: torch.Tensor) -> dict[str, Any]:
    """A few numbers that pin an output: shape, sums and its leading values."""
    flat = output.detach().double().cpu().flatten()
    return {"shape": list(output.shape), "sum": float(flat.sum()), "abs_sum": float(flat.abs().sum()),
            "first": [float(v) for v in flat[:REFERENCE_VALUES]]}


class BaseModelTester:
    model_name: str = ""
    devices: tuple[str, ...] = ("cpu", "cuda")

    @pytest.fixture
    def spec(self) -> ModelSpec:
        return get_spec(self.model_name)

    def make_input(self, spec: ModelSpec, batch: int = 2) -> Any:
        """A seeded random batch shaped like the model's training input."""
        size = spec.preprocessing.size or (64, 64)
        generator = torch.Generator().manual_seed(0)
        return torch.rand(batch, spec.preprocessing.channels, *size, generator=generator)

    def forward(self, model: Any, inputs: Any) -> torch.Tensor:
        with torch.no_grad():
            return model(inputs)

    def to_device(self, inputs: Any, device: str) -> Any:
        if isinstance(inputs, torch.Tensor):
            return inputs.to(device)
        return type(inputs)(x.to(device) if isinstance(x, torch.Tensor) else x for x in inputs)

    def check_output(self, spec: ModelSpec, inputs: Any, output: torch.Tensor) -> None:
        """Default: one row per input and finite values."""
        assert output.shape[0] == inputs.shape[0]
        assert torch.isfinite(output).all()

    def test_card_is_complete(self, spec: ModelSpec) -> None:
        card = spec.card
        for name, value in (("description", card.description), ("data", card.data), ("metrics", card.metrics),
                            ("command", card.command), ("modality", card.modality)):
            assert value, f"card of {spec.name} lacks {name!r}"
        assert spec.weights is not None and spec.weights.suffix == ".safetensors"
        assert spec.weights.exists(), f"weights missing: {spec.weights}"

    def test_loads_and_runs_on_each_device(self, spec: ModelSpec) -> None:
        devices = present(self.devices)
        assert "cpu" in devices, "every model must run on the CPU"
        for device in devices:
            model = cache.get_model(spec.name, device)
            assert cache.get_model(spec.name, device) is model, "second get must hit the cache"
            inputs = self.to_device(self.make_input(spec), device)
            self.check_output(spec, inputs, self.forward(model, inputs))

    def test_deterministic_in_eval_mode(self, spec: ModelSpec) -> None:
        for device in present(self.devices):
            model = cache.get_model(spec.name, device)
            inputs = self.to_device(self.make_input(spec), device)
            first, second = self.forward(model, inputs), self.forward(model, inputs)
            assert torch.equal(first, second), device

    def test_committed_weights_give_the_reference_output(self, spec: ModelSpec) -> None:
        """Rebuild from the card, load the committed weights, same output as the stored reference."""
        path = REFERENCE_DIR / f"{spec.name}.json"
        assert path.exists(), f"no reference for {spec.name}: run python -m tests.models.make_reference"
        reference = json.loads(path.read_text())
        assert file_sha256(spec.weights) == reference["weights_sha256"], "the committed weights changed"
        for device in present(self.devices):
            model = rebuild(spec).to(device)
            got = summarise(self.forward(model, self.to_device(self.make_input(spec), device)))
            assert got["shape"] == reference["shape"], device
            tol = 1e-4 if device == "cpu" else 1e-2  # CUDA kernels differ from CPU in the last digits
            assert got["first"] == pytest.approx(reference["first"], rel=tol, abs=tol), device
            assert got["abs_sum"] == pytest.approx(reference["abs_sum"], rel=tol), device
