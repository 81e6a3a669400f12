"""The committed conditional generators through the shared model checks."""

from __future__ import annotations

from typing import Any

import torch

from core.cache import device_of
from core.registry import ModelSpec
from tests.models.base import BaseModelTester


class GeneratorTester(BaseModelTester):
    """Input: a seeded latent batch and alternating class labels; output: images in [-1, 1]."""

    def make_input(self, spec: ModelSpec, batch: int = 4) -> Any:
        generator = torch.Generator().manual_seed(0)
        z = torch.randn(batch, int(spec.preprocessing.z_dim or 128), generator=generator)
        return z, torch.arange(batch) % len(spec.labels)

    def forward(self, model: Any, inputs: Any) -> torch.Tensor:
        z, y = inputs
        device = device_of(model)
        with torch.no_grad():
            return model(z.to(device), y.to(device)).cpu()

    def check_output(self, spec: ModelSpec, inputs: Any, output: torch.Tensor) -> None:
        size = spec.preprocessing.size
        assert output.shape == (inputs[0].shape[0], 1, *size)
        assert torch.isfinite(output).all() and output.min() >= -1 and output.max() <= 1
        assert output.std() > 0.01, "constant output"

    def test_card_is_a_generator(self, spec: ModelSpec) -> None:
        assert spec.task == "generation" and spec.architecture == "cond_generator"
        assert spec.card.metrics, "the card must state its quality figures (or that they are not measured)"

    def test_label_changes_the_image(self, spec: ModelSpec) -> None:
        from core import cache

        model = cache.get_model(spec.name, "cpu")
        z, _ = self.make_input(spec)
        a = self.forward(model, (z, torch.zeros(len(z), dtype=torch.long)))
        b = self.forward(model, (z, torch.ones(len(z), dtype=torch.long)))
        assert (a - b).abs().mean() > 1e-3


class TestPneumoniaCgan(GeneratorTester):
    model_name = "pneumonia-cgan"


class TestBreastCgan(GeneratorTester):
    model_name = "breast-cgan"
