"""Every trainer asks ``core.trainloop.training_device`` and so honours ``MEDLENS_DEVICE``.

Asking for CUDA on a machine without it must stop each trainer with the device error: a
trainer that picked its own device would silently train on the CPU instead.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import ModelError

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")


@pytest.fixture(autouse=True)
def ask_for_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDLENS_DEVICE", "cuda")


def test_classification_member_honours_medlens_device(tmp_path) -> None:
    from core.classification.training import train_member

    with pytest.raises(ModelError, match="CUDA is not available"):
        train_member({}, {}, {}, seed=0, workdir=tmp_path, tag="m0", log=print)


def test_sequence_net_honours_medlens_device() -> None:
    from core.prognosis.sequence import SequenceRecipe, train_net

    x, y = np.zeros((4, 16), np.float32), np.array([0, 1, 0, 1])
    with pytest.raises(ModelError, match="CUDA is not available"):
        train_net("ecg_cnn", {}, x, y, SequenceRecipe())


def test_deepsurv_honours_medlens_device() -> None:
    from core.prognosis.survival import DeepSurvRecipe, fit_deepsurv

    x = np.zeros((4, 3), np.float32)
    with pytest.raises(ModelError, match="CUDA is not available"):
        fit_deepsurv(x, np.arange(1.0, 5.0), np.ones(4, bool), DeepSurvRecipe())


def test_cpu_choice_still_trains(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same path with ``MEDLENS_DEVICE=cpu`` trains and returns a CPU model."""
    from core.prognosis.survival import DeepSurvRecipe, fit_deepsurv

    monkeypatch.setenv("MEDLENS_DEVICE", "cpu")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3)).astype(np.float32)
    model = fit_deepsurv(x, rng.uniform(1, 10, 20), rng.integers(0, 2, 20).astype(bool),
                         DeepSurvRecipe(epochs=2, members=2))
    assert all(p.device.type == "cpu" for p in model.parameters())
