"""Stroke risk: compare logistic regression, gradient boosting and an MLP; ship the logistic.

Features come from ``STROKE_SCHEMA`` through the JSON ``Encoder`` (standardised numbers,
a missing-BMI indicator, one-hot categories). The shipped model is a plain logistic
regression (unweighted, so its probabilities are calibrated by construction; the
reliability table checks it) stored as a torch ``LogisticRisk`` with bootstrap refits for
the interval on an individual risk. Its per-field contributions are exact: coefficient x
(value - training mean), in log-odds.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
from scipy import stats

from core.prognosis.tabular import Encoder


def bootstrap_ci(y: np.ndarray, p: np.ndarray, metric: Callable[[np.ndarray, np.ndarray], float],
                 n: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric(y, p)`` (``scipy.stats.bootstrap``, paired
    resampling of rows; resamples with one class only are left out)."""
    y, p = np.asarray(y), np.asarray(p)

    def statistic(yy: np.ndarray, pp: np.ndarray) -> float:
        return float(metric(yy, pp)) if yy.min() != yy.max() else np.nan

    values = stats.bootstrap((y, p), statistic, paired=True, vectorized=False, n_resamples=n, method="percentile",
                             random_state=np.random.default_rng(seed)).bootstrap_distribution
    alpha = (1 - level) / 2 * 100
    return float(np.nanpercentile(values, alpha)), float(np.nanpercentile(values, 100 - alpha))


def scores_with_ci(y: np.ndarray, p: np.ndarray, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    return {
        "auc": round(float(roc_auc_score(y, p)), 4),
        "auc_ci95": [round(v, 4) for v in bootstrap_ci(y, p, roc_auc_score, n_boot, seed)],
        "auprc": round(float(average_precision_score(y, p)), 4),
        "auprc_ci95": [round(v, 4) for v in bootstrap_ci(y, p, average_precision_score, n_boot, seed)],
        "n": int(len(y)), "positives": int(y.sum()),
    }


def candidates(seed: int = 0) -> dict[str, Callable[[], Any]]:
    """The three compared model families (scikit-learn), fresh per fit."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    return {
        "logistic": lambda: LogisticRegression(C=0.1, max_iter=5000),
        "gbm": lambda: HistGradientBoostingClassifier(learning_rate=0.03, max_iter=200, max_depth=3,
                                                      min_samples_leaf=40, l2_regularization=1.0,
                                                      random_state=seed),
        "mlp": lambda: MLPClassifier(hidden_layer_sizes=(32,), alpha=1.0, max_iter=2000, early_stopping=False,
                                     random_state=seed),
    }


LOGISTIC_C = (0.03, 0.1, 0.3, 1.0)

SELECTION_DESCRIPTIONS = {
    **{f"logistic_C{c:g}": f"LogisticRegression(C={c:g})" for c in LOGISTIC_C},
    "gbm_stumps": "HistGradientBoostingClassifier(lr=0.05, 200 iters, depth 1, min leaf 40, l2=1)",
    "gbm": "HistGradientBoostingClassifier(lr=0.03, 200 iters, depth 3, min leaf 40, l2=1)",
    "mlp": "MLPClassifier(32 hidden, alpha=1.0)",
}


def selection_candidates(seed: int = 0) -> dict[str, Callable[[], Any]]:
    """Candidates for repeated-CV selection, simplest first (stronger L2 counts as simpler)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    makers: dict[str, Callable[[], Any]] = {
        f"logistic_C{c:g}": (lambda c=c: LogisticRegression(C=c, max_iter=5000)) for c in LOGISTIC_C}
    makers["gbm_stumps"] = lambda: HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=200, max_depth=1, min_samples_leaf=40, l2_regularization=1.0,
        random_state=seed)
    base = candidates(seed)
    makers["gbm"], makers["mlp"] = base["gbm"], base["mlp"]
    return makers


def logistic_c(name: str) -> float:
    """The C of a ``logistic_C<c>`` candidate name."""
    return float(name.removeprefix("logistic_C"))


def compare(clean: pd.DataFrame, y: np.ndarray, encoder_schema: Any, seed: int = 0,
            val_fraction: float = 0.25, n_boot: int = 1000) -> dict[str, Any]:
    """Validation split (stratified, ``seed``) and 5-fold CV AUC for each candidate."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, train_test_split

    tr, va = train_test_split(np.arange(len(y)), test_size=val_fraction, random_state=seed, stratify=y)
    enc = Encoder(encoder_schema).fit(clean.iloc[tr])
    x_tr, x_va = enc.transform(clean.iloc[tr]), enc.transform(clean.iloc[va])
    result: dict[str, Any] = {"validation": {}, "cv5_auc": {}, "val_probs": {}}
    for name, make in candidates(seed).items():
        p = make().fit(x_tr, y[tr]).predict_proba(x_va)[:, 1]
        result["validation"][name] = scores_with_ci(y[va], p, n_boot, seed)
        result["val_probs"][name] = p
        aucs = []
        for ctr, cte in StratifiedKFold(5, shuffle=True, random_state=seed).split(clean, y):
            e = Encoder(encoder_schema).fit(clean.iloc[ctr])
            q = make().fit(e.transform(clean.iloc[ctr]), y[ctr]).predict_proba(e.transform(clean.iloc[cte]))[:, 1]
            aucs.append(roc_auc_score(y[cte], q))
        result["cv5_auc"][name] = {"mean": round(float(np.mean(aucs)), 4), "sd": round(float(np.std(aucs)), 4)}
    result["val_y"] = y[va]
    return result


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 8) -> dict[str, list[float]]:
    """Quantile-binned mean predicted vs observed rate (for the reliability plot)."""
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    out: dict[str, list[float]] = {"predicted": [], "observed": [], "n": []}
    for b in range(len(edges) - 1):
        mask = which == b
        if mask.any():
            out["predicted"].append(round(float(p[mask].mean()), 4))
            out["observed"].append(round(float(y[mask].mean()), 4))
            out["n"].append(int(mask.sum()))
    return out


def fit_logistic_risk(x: np.ndarray, y: np.ndarray, members: int = 200, seed: int = 0, C: float = 0.1) -> torch.nn.Module:
    """Fit the shipped logistic model on all rows plus ``members`` bootstrap refits."""
    from sklearn.linear_model import LogisticRegression

    from models.prognosis_nets import LogisticRisk

    model = LogisticRisk(x.shape[1], members)
    full = LogisticRegression(C=C, max_iter=5000).fit(x, y)
    with torch.no_grad():
        model.linear.weight.copy_(torch.from_numpy(full.coef_).float())
        model.linear.bias.copy_(torch.from_numpy(full.intercept_).float())
        rng = np.random.default_rng(seed)
        for b in range(members):
            idx = rng.integers(0, len(y), len(y))
            fit = LogisticRegression(C=C, max_iter=5000).fit(x[idx], y[idx])
            model.boot_weight[b] = torch.from_numpy(fit.coef_[0]).float()
            model.boot_bias[b] = float(fit.intercept_[0])
    return model.eval()


def predict(model: torch.nn.Module, x: np.ndarray, level: float = 0.95) -> dict[str, np.ndarray]:
    """Risk with its bootstrap percentile interval, per row."""
    xt = torch.from_numpy(x.astype(np.float32))
    with torch.no_grad():
        risk = model(xt).numpy()
        boots = model.members(xt).numpy()
    alpha = (1 - level) / 2 * 100
    return {"risk": risk.astype(float), "lower": np.percentile(boots, alpha, axis=1),
            "upper": np.percentile(boots, 100 - alpha, axis=1)}


def contributions(model: torch.nn.Module, encoder: Encoder, x_row: np.ndarray,
                  feature_mean: np.ndarray) -> dict[str, float]:
    """Per input field: sum of coefficient x (encoded value - training mean), in log-odds."""
    coef = model.linear.weight.detach().numpy()[0]
    parts = coef * (x_row - feature_mean)
    out: dict[str, float] = {}
    for owner, value in zip(encoder.feature_fields(), parts):
        out[owner] = out.get(owner, 0.0) + float(value)
    return out
