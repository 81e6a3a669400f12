"""MiniRocket: our torch transform reproduces sktime's; the ridge read-out reproduces sklearn's on
sktime's features; the fitted model is plain arrays that survive safetensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.prognosis.sequence import occlusion_saliency, saliency, znormalise
from models.minirocket import MiniRocketClassifier, fit_dilations

sktime = pytest.importorskip("sktime")


def _series(n: int = 40, length: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, length)
    y = np.arange(n) % 2
    x = np.sin(2 * np.pi * (3 + 2 * y[:, None]) * t) + 0.3 * rng.normal(size=(n, length))
    return znormalise(x), y


@pytest.mark.parametrize("length", [40, 96, 140])
def test_dilations_match_sktime(length: int) -> None:
    from sktime.transformations.rocket._minirocket_numba import _fit_dilations

    ours = fit_dilations(length, 10_000)
    theirs = _fit_dilations(length, 10_000, 32)
    assert np.array_equal(ours[0], theirs[0]) and np.array_equal(ours[1], theirs[1])


def test_transform_and_predictions_reproduce_sktime() -> None:
    from sklearn.linear_model import RidgeClassifierCV
    from sktime.transformations.panel.rocket import MiniRocket

    from core.prognosis.minirocket import ALPHAS, fit_minirocket

    x, y = _series()
    model = fit_minirocket(x[:30], y[:30], 2, num_features=84 * 20, seed=3)
    rocket = MiniRocket(num_kernels=84 * 20, random_state=3, n_jobs=1).fit(x[:30, None, :])
    theirs = rocket.transform(x[30:, None, :]).to_numpy()
    with torch.no_grad():
        ours = model.features(torch.from_numpy(x[30:])).numpy()
    assert ours.shape == theirs.shape
    assert np.mean(np.abs(ours - theirs) > 1e-6) < 1e-3  # identical but for rare float ties
    train = rocket.transform(x[:30, None, :]).to_numpy()
    mean, scale = train.mean(0), np.where(train.std(0) > 1e-8, train.std(0), 1.0)
    ridge = RidgeClassifierCV(alphas=ALPHAS).fit((train - mean) / scale, y[:30])
    with torch.no_grad():
        pred = model(torch.from_numpy(x[30:])).argmax(1).numpy()
    assert np.array_equal(pred, ridge.predict((theirs - mean) / scale))


def test_state_is_arrays_only_and_round_trips(tmp_path) -> None:
    from safetensors.torch import load_file, save_file

    from core.prognosis.minirocket import fit_minirocket

    x, y = _series()
    model = fit_minirocket(x, y, 2, num_features=84 * 10, seed=0)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "m.safetensors"))
    fresh = MiniRocketClassifier(x.shape[1], 2, 84 * 10)
    fresh.load_state_dict(load_file(str(tmp_path / "m.safetensors")))
    with torch.no_grad():
        assert torch.equal(fresh(torch.from_numpy(x)), model(torch.from_numpy(x)))
        proba = torch.softmax(model(torch.from_numpy(x)), 1).numpy()
    assert (proba.argmax(1) == y).mean() > 0.9 and np.allclose(proba.sum(1), 1, atol=1e-5)


def test_saliency_of_a_step_function_model_uses_occlusion() -> None:
    from core.prognosis.minirocket import fit_minirocket

    x, y = _series()
    model = fit_minirocket(x, y, 2, num_features=84 * 10, seed=0)
    sal, cls = saliency(model, x[0])
    assert sal.shape == (x.shape[1],) and sal.max() == pytest.approx(1.0) and cls in (0, 1)
    assert np.array_equal(sal, occlusion_saliency(model, x[0])[0])


def test_multiclass_gets_a_temperature_and_a_row_for_an_absent_class() -> None:
    """Five classes, the last absent from the training series: five outputs, that class never
    predicted; the softmax temperature is fitted (not left at 1) and keeps the argmax."""
    from core.prognosis.minirocket import fit_minirocket

    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 96)
    y = np.arange(60) % 4
    x = znormalise(np.sin(2 * np.pi * (2 + 2 * y[:, None]) * t) + 0.3 * rng.normal(size=(60, 96)))
    model = fit_minirocket(x, y, 5, num_features=84 * 10, seed=0)
    with torch.no_grad():
        raw = model.decision(torch.from_numpy(x))
        logits = model(torch.from_numpy(x))
    assert logits.shape == (60, 5)
    assert float(model.calib_scale) != pytest.approx(1.0)
    assert torch.equal(logits.argmax(1), raw.argmax(1))
    assert (logits.argmax(1).numpy() == y).mean() > 0.9 and not (logits.argmax(1) == 4).any()
