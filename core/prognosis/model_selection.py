"""Model choice by repeated stratified cross-validation, with honest intervals.

One validation split chose the stroke model before; on 4,088 rows with 199 positives the
AUC of a single split moves by several hundredths with the seed. Here every candidate is
scored on the same ``repeats x splits`` folds, differences are paired fold by fold, and the
interval of a difference uses the Nadeau-Bengio corrected variance (folds share training
rows, so the plain standard error is too small). The simplest candidate whose difference to
the best is within that interval is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from core.prognosis.tabular import Encoder, Schema


@dataclass(frozen=True)
class CVResult:
    """Fold AUCs (``repeats * splits``, repeat-major) and pooled out-of-fold probabilities per repeat."""

    auc: np.ndarray
    oof: np.ndarray  # (repeats, n)
    splits: int
    repeats: int
    test_fraction: float


def repeated_cv(clean: pd.DataFrame, y: np.ndarray, schema: Schema,
                makers: dict[str, Callable[[], Any]], splits: int = 5, repeats: int = 5,
                seed: int = 0) -> dict[str, CVResult]:
    """Score each candidate on the same repeated stratified folds (encoder fitted per fold).

    Args:
        clean: validated rows (``schema.validate`` output).
        y: 0/1 target.
        makers: name -> factory of an unfitted scikit-learn classifier.
        splits, repeats: ``RepeatedStratifiedKFold`` shape; ``seed`` its random_state.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import RepeatedStratifiedKFold

    aucs = {k: [] for k in makers}
    oof = {k: np.zeros((repeats, len(y))) for k in makers}
    folds = RepeatedStratifiedKFold(n_splits=splits, n_repeats=repeats, random_state=seed).split(clean, y)
    for i, (tr, te) in enumerate(folds):
        enc = Encoder(schema).fit(clean.iloc[tr])
        x_tr, x_te = enc.transform(clean.iloc[tr]), enc.transform(clean.iloc[te])
        for name, make in makers.items():
            p = make().fit(x_tr, y[tr]).predict_proba(x_te)[:, 1]
            aucs[name].append(roc_auc_score(y[te], p))
            oof[name][i // splits, te] = p
    return {k: CVResult(np.asarray(aucs[k]), oof[k], splits, repeats, 1.0 / splits) for k in makers}


def corrected_interval(diffs: np.ndarray, test_fraction: float, level: float = 0.95) -> tuple[float, float]:
    """Nadeau-Bengio corrected resampled-t interval of the mean of fold scores (or paired differences)."""
    k = len(diffs)
    var = float(np.var(diffs, ddof=1)) * (1.0 / k + test_fraction / (1.0 - test_fraction))
    half = float(stats.t.ppf(0.5 + level / 2, k - 1)) * np.sqrt(var)
    mean = float(np.mean(diffs))
    return float(mean - half), float(mean + half)


def summary(result: CVResult) -> dict[str, Any]:
    """Mean fold AUC, its corrected 95 % interval, and the range of the per-repeat means."""
    per_repeat = result.auc.reshape(result.repeats, result.splits).mean(axis=1)
    low, high = corrected_interval(result.auc, result.test_fraction)
    return {"mean": round(float(result.auc.mean()), 4), "ci95": [round(low, 4), round(high, 4)],
            "fold_sd": round(float(result.auc.std(ddof=1)), 4),
            "repeat_means_range": [round(float(per_repeat.min()), 4), round(float(per_repeat.max()), 4)]}


def choose_simplest(results: dict[str, CVResult], simplicity: Sequence[str]) -> dict[str, Any]:
    """The simplest candidate whose paired difference to the best has a corrected interval reaching 0.

    Args:
        simplicity: candidate names from simplest to most complex (all keys of ``results``).

    Returns:
        ``best`` (highest mean), ``chosen``, and per candidate the difference to the best with
        its corrected 95 % interval and whether it is ``within_noise``.
    """
    best = max(results, key=lambda k: results[k].auc.mean())
    differences: dict[str, Any] = {}
    for name in simplicity:
        diff = results[name].auc - results[best].auc
        low, high = corrected_interval(diff, results[name].test_fraction) if name != best else (0.0, 0.0)
        differences[name] = {"minus_best": round(float(diff.mean()), 4), "ci95": [round(low, 4), round(high, 4)],
                             "within_noise": bool(high >= 0.0)}
    chosen = next(n for n in simplicity if differences[n]["within_noise"])
    return {"best": best, "chosen": chosen, "differences": differences}


def calibration(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Calibration intercept and slope (logistic recalibration of y on logit p) and the Brier score.

    A well calibrated model has slope 1 and intercept 0; a slope below 1 means over-confident
    risks (too extreme), above 1 too timid.
    """
    from sklearn.linear_model import LogisticRegression

    q = np.clip(p, 1e-6, 1 - 1e-6)
    logit = np.log(q / (1 - q)).reshape(-1, 1)
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(logit, y)
    return {"slope": round(float(fit.coef_[0, 0]), 3), "intercept": round(float(fit.intercept_[0]), 3),
            "brier": round(float(np.mean((p - y) ** 2)), 4), "mean_predicted": round(float(p.mean()), 4),
            "prevalence": round(float(y.mean()), 4)}
