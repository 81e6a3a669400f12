"""Fit a MiniRocket + ridge classifier into ``models.minirocket.MiniRocketClassifier`` arrays.

Dilations and biases come from sktime's MiniRocket (needs sktime and numba, training only);
features are computed by our torch transform (the one inference uses), standardised, and a
``RidgeClassifierCV`` (alphas 10^-3..10^3, as in the paper) is fitted on them. For two classes
a Platt scaling of the ridge score turns it into a probability; its two numbers are fitted on
out-of-fold scores (inner stratified CV) so they are not fitted on training residuals.
"""

from __future__ import annotations

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
    a, b = 1.0, 0.0
    if num_classes == 2:
        oof = np.zeros(len(y))
        for tr, te in StratifiedKFold(inner_folds, shuffle=True, random_state=seed).split(x, y):
            m, s = _standardise(features[tr])
            oof[te] = _ridge((features[tr] - m) / s, y[tr]).decision_function((features[te] - m) / s)
        a, b = _platt(y, oof)
    with torch.no_grad():
        model.feature_mean.copy_(torch.from_numpy(mean.astype(np.float32)))
        model.feature_scale.copy_(torch.from_numpy(scale.astype(np.float32)))
        model.ridge_weight.copy_(torch.from_numpy(np.atleast_2d(ridge.coef_).astype(np.float32)))
        model.ridge_bias.copy_(torch.from_numpy(np.atleast_1d(ridge.intercept_).astype(np.float32)))
        model.calib_scale.fill_(a)
        model.calib_bias.fill_(b)
    model.alpha = float(ridge.alpha_)
    return model.eval()
