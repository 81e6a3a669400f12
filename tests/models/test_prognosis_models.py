"""The shared model checks over the four prognosis models (tabular and sequence inputs)."""

from __future__ import annotations

from typing import Any

import torch

from core.registry import ModelSpec
from tests.models.base import BaseModelTester


class _Tabular(BaseModelTester):
    def make_input(self, spec: ModelSpec, batch: int = 2) -> Any:
        generator = torch.Generator().manual_seed(0)
        return torch.randn(batch, spec.arch_args["in_features"], generator=generator)


class _Sequence(BaseModelTester):
    def make_input(self, spec: ModelSpec, batch: int = 2) -> Any:
        generator = torch.Generator().manual_seed(0)
        return torch.randn(batch, spec.preprocessing.length, generator=generator)

    def check_output(self, spec: ModelSpec, inputs: Any, output: torch.Tensor) -> None:
        assert output.shape == (inputs.shape[0], len(spec.labels))
        assert torch.isfinite(output).all()


class TestGbsg2Deepsurv(_Tabular):
    model_name = "gbsg2-deepsurv"

    def check_output(self, spec: ModelSpec, inputs: Any, output: torch.Tensor) -> None:
        assert output.shape == (inputs.shape[0], spec.arch_args["members"])
        assert torch.isfinite(output).all()

    def test_survival_curves_are_probabilities(self, spec: ModelSpec) -> None:
        from core.cache import get_model

        model = get_model(spec.name, "cpu")
        with torch.no_grad():
            curves = model.survival(self.make_input(spec))
        assert curves.shape[-1] == spec.arch_args["n_times"]
        assert torch.all((curves >= 0) & (curves <= 1)) and torch.all(curves.diff(dim=-1) <= 1e-6)


class TestStrokeRisk(_Tabular):
    model_name = "stroke-risk"

    def check_output(self, spec: ModelSpec, inputs: Any, output: torch.Tensor) -> None:
        assert output.shape == (inputs.shape[0],)
        assert torch.all((output > 0) & (output < 1))


class TestEcg200Gru(_Sequence):
    model_name = "ecg200-gru"


class TestEcg5000Gru(_Sequence):
    model_name = "ecg5000-gru"


class TestEcg200Minirocket(_Sequence):
    model_name = "ecg200-minirocket"


class TestEcg5000Minirocket(_Sequence):
    model_name = "ecg5000-minirocket"
