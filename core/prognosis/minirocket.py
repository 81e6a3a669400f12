"""Fit a MiniRocket + ridge classifier into ``models.minirocket.MiniRocketClassifier`` arrays.

Dilations and biases come from sktime's MiniRocket (needs sktime and numba, training only);
features are computed by our torch transform (the one inference uses), standardised, and a
``RidgeClassifierCV`` (alphas 10^-3..10^3, as in the paper) is fitted on them. For two classes
a Platt scaling of the ridge score turns it into a probability, for more a temperature of the
softmax of the ridge scores; both are fitted on out-of-fold scores (inner stratified CV) so they
are not fitted on training residuals.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from models.minirocket import MiniRocketClassifier

ALPHAS = np.logspace(-3, 3, 10)


def sktime_parameters(x: np.ndarray, num_features: int = 10_000, seed: int = 0
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dilations, features per dilation, biases) fitted by sktime's MiniRocket on series ``x`` (N, L)."""
    from sktime.transformations.panel.rocket import MiniRocket

    rocket = MiniRocket(num_kernels=num_features, random_state=seed, n_jobs=1)
    rocket.fit(np.asarray(x, np.float32)[:, None, :])
    dilations, per_dilation, biases = rocket.parameters
    return np.asarray(dilations), np.asarray(per_dilation), np.asarray(biases, np.float32)


def _ridge(z: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.linear_model import RidgeClassifierCV

    return RidgeClassifierCV(alphas=ALPHAS).fit(z, y)


def _standardise(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    return mean, np.where(scale > 1e-8, scale, 1.0)


def _platt(y: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(C=1e4, max_iter=1000).fit(scores.reshape(-1, 1), y)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def _full_rows(ridge: Any, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Ridge weights (rows, F) and biases with one row per class of ``range(num_classes)`` (one row for
    two classes); a class absent from the training fold (ECG5000's rarest has 2 series) gets a zero
    row and bias -1, the ridge target of "not this class", so it is never predicted."""
    coef, intercept = np.atleast_2d(ridge.coef_), np.atleast_1d(ridge.intercept_)
    if num_classes == 2:
        return coef, intercept
    weight = np.zeros((num_classes, coef.shape[1]))
    bias = np.full(num_classes, -1.0)
    present = np.asarray(ridge.classes_, dtype=int)
    if len(present) == 2:  # sklearn keeps one row for two classes: +score for classes_[1]
        weight[present] = np.vstack([-coef[0], coef[0]])
        bias[present] = [-intercept[0], intercept[0]]
    else:
        weight[present], bias[present] = coef, intercept
    return weight, bias


def _temperature(y: np.ndarray, scores: np.ndarray) -> float:
    """The scale ``a`` minimising the log loss of ``softmax(a * scores)`` (multi-class ridge scores are
    not probabilities; one fitted number makes them calibrated-ish without changing the argmax)."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    def nll(log_a: float) -> float:
        return -float(log_softmax(np.exp(log_a) * scores, axis=1)[np.arange(len(y)), y].mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-3.0, 5.0), method="bounded").x))


def fit_minirocket(x: np.ndarray, y: np.ndarray, num_classes: int, num_features: int = 10_000,
                   seed: int = 0, inner_folds: int = 5) -> MiniRocketClassifier:
    """A fitted ``MiniRocketClassifier`` (eval mode) for z-normalised series ``x`` and class indices ``y``."""
    from sklearn.model_selection import StratifiedKFold

    model = MiniRocketClassifier(x.shape[1], num_classes, num_features)
    dilations, per_dilation, biases = sktime_parameters(x, num_features, seed)
    if not (np.array_equal(dilations, model.dilations.numpy())
            and np.array_equal(per_dilation, model.per_dilation.numpy())):
        raise RuntimeError("sktime's MiniRocket dilations differ from models.minirocket.fit_dilations")
    with torch.no_grad():
        model.biases.copy_(torch.from_numpy(biases))
        features = model.features(torch.from_numpy(np.asarray(x, np.float32))).numpy()
    mean, scale = _standardise(features)
    ridge = _ridge((features - mean) / scale, y)
    oof = np.zeros((len(y), 1 if num_classes == 2 else num_classes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a class with fewer members than inner folds (ECG5000)
        inner = list(StratifiedKFold(inner_folds, shuffle=True, random_state=seed).split(x, y))
    for tr, te in inner:
        m, s = _standardise(features[tr])
        weight, bias = _full_rows(_ridge((features[tr] - m) / s, y[tr]), num_classes)
        oof[te] = ((features[te] - m) / s) @ weight.T + bias
    a, b = _platt(y, oof[:, 0]) if num_classes == 2 else (_temperature(y, oof), 0.0)
    with torch.no_grad():
        model.feature_mean.copy_(torch.from_numpy(mean.astype(np.float32)))
        model.feature_scale.copy_(torch.from_numpy(scale.astype(np.float32)))
        weight, bias = _full_rows(ridge, num_classes)
        model.ridge_weight.copy_(torch.from_numpy(weight.astype(np.float32)))
        model.ridge_bias.copy_(torch.from_numpy(bias.astype(np.float32)))
        model.calib_scale.fill_(a)
        model.calib_bias.fill_(b)
    model.alpha = float(ridge.alpha_)
    return model.eval()
