"""Fréchet distance, precision/recall, nearest-neighbour memorisation check, class consistency."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import InputError
from core.synthesis import quality


def test_frechet_distance_zero_for_same_set_and_grows_with_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 4))
    assert quality.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    b = rng.normal(size=(4000, 4)) + np.array([2.0, 0, 0, 0])
    assert quality.frechet_distance(a, b) == pytest.approx(4.0, rel=0.1)  # |mu_a - mu_b|^2, equal covariances
    with pytest.raises(InputError):
        quality.frechet_distance(a[:1], b)


def test_precision_recall_same_vs_disjoint():
    rng = np.random.default_rng(1)
    real, same = rng.normal(size=(300, 3)), rng.normal(size=(300, 3))
    pr = quality.precision_recall(real, same)
    assert pr["precision"] > 0.8 and pr["recall"] > 0.8
    far = quality.precision_recall(real, same + 100)
    assert far["precision"] == 0.0 and far["recall"] == 0.0
    collapsed = quality.precision_recall(real, np.zeros((300, 3)) + rng.normal(scale=0.01, size=(300, 3)))
    assert collapsed["precision"] > 0.9 and collapsed["recall"] < 0.2  # mode collapse: precise, no coverage


def test_nearest_distances_find_copies():
    rng = np.random.default_rng(2)
    train = rng.integers(0, 256, (50, 8, 8), dtype=np.uint8)
    samples = np.stack([train[7], 255 - train[3]])
    d, idx = quality.nearest_distances(samples, train)
    assert d[0] < 1e-3 and idx[0] == 7 and d[1] > 0.1  # cdist (matmul form) is exact to ~1e-4
    val = rng.integers(0, 256, (30, 8, 8), dtype=np.uint8)
    mem = quality.memorisation(samples, train, val)
    assert mem["near_copies"] == 1 and mem["n"] == 2 and mem["near_copy_threshold"] > 0
    with pytest.raises(InputError):
        quality.nearest_distances(samples, train[:, :4, :4])


def write_tiny_classifier(folder, name="tiny-clf", mapping=(0, 1), size=16):
    """A random ``classifier_resnet`` card (task classification) for the feature-space code."""
    import torch
    from safetensors.torch import save_file

    from models.classification_nets import ClassifierResNet

    torch.manual_seed(0)
    args = {"in_channels": 1, "num_classes": 2, "widths": [8, 8, 8, 8], "blocks": [1, 1, 1, 1], "stem_stride": 1,
            "max_pool": False, "small_stem": True, "dropout": 0.0}
    model = ClassifierResNet(**args).eval()
    (folder / name).mkdir(parents=True)
    save_file(model.state_dict(), str(folder / name / "model.safetensors"))
    card = {"name": name, "task": "classification", "description": "random", "architecture": {"name": "classifier_resnet", "args": args},
            "weights": "model.safetensors", "preprocessing": {"size": [size, size], "channels": 1, "mean": 0.5, "std": 0.25, "threshold": 0.5,
                              "window": "dicom-8bit-percentile", "normalisation": "mean-std"},
            "labels": ["a", "b"], "label_mapping": {"dataset_label_of_class": list(mapping)},
            "data": "none", "metrics": {"none": 0}, "command": "test"}
    (folder / name / "card.json").write_text(json.dumps(card))


@pytest.fixture
def tiny_pair(tmp_path, use_cards):
    from tests.unit.test_synthesis_helpers import write_tiny_generator

    write_tiny_generator(tmp_path / "cards")
    write_tiny_classifier(tmp_path / "cards")
    write_tiny_classifier(tmp_path / "cards", name="tiny-clf-flipped", mapping=(1, 0))
    use_cards(tmp_path / "cards")


def test_label_mapping_is_respected(tiny_pair):
    probs = np.array([0.9, 0.1])
    assert quality.predicted_dataset_labels("tiny-clf", probs).tolist() == [1, 0]
    assert quality.predicted_dataset_labels("tiny-clf-flipped", probs).tolist() == [0, 1]  # BreastMNIST-like coding


def test_measure_reports_every_figure(tiny_pair):
    from core.synthesis.generate import sample

    rng = np.random.default_rng(0)
    train = (rng.random((40, 16, 16)).astype(np.float32), np.arange(40) % 2)
    val = (rng.random((20, 16, 16)).astype(np.float32), np.arange(20) % 2)
    figures = quality.measure(lambda c, n, s, t=None: sample("tiny-cgan", c, n, s, t).images, "tiny-clf", train, val,
                              n_consistency=10, truncations=(0.5,))
    assert figures["n_fd"] == 20 and np.isfinite(figures["frechet_distance"])
    assert figures["frechet_distance_real_vs_real"] >= 0
    assert 0 <= figures["class_consistency"]["overall"] <= 1 and figures["class_consistency"]["n"] == 20
    assert set(figures["precision_recall"]) == {"precision", "recall", "k"}
    assert figures["memorisation"]["n"] == 20 and figures["class_consistency_truncated"]["0.5"]["n"] == 20
    assert "no ImageNet Inception" in figures["feature_space"]
