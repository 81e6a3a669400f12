"""Repeated-CV model choice: intervals, the simplest-within-noise rule, calibration figures."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.prognosis import model_selection as ms
from core.prognosis.tabular import Field, Schema


def _result(aucs: list[float], repeats: int = 2, splits: int = 5) -> ms.CVResult:
    return ms.CVResult(np.asarray(aucs, float), np.zeros((repeats, 4)), splits, repeats, 1.0 / splits)


def test_corrected_interval_is_wider_than_plain_standard_error() -> None:
    d = np.random.default_rng(0).normal(0.01, 0.02, 25)
    low, high = ms.corrected_interval(d, 0.2)
    plain = 1.96 * d.std(ddof=1) / np.sqrt(25)
    assert low < d.mean() < high and (high - low) / 2 > plain


def test_simplest_within_noise_is_chosen_and_a_clear_loser_is_not() -> None:
    rng = np.random.default_rng(1)
    base = rng.uniform(0.80, 0.90, 10)
    results = {"simple": _result(base - 0.002 + rng.normal(0, 0.01, 10)),
               "bad": _result(base - 0.10), "complex": _result(base)}
    out = ms.choose_simplest(results, ["bad", "simple", "complex"])
    assert out["best"] == "complex"
    assert out["differences"]["bad"]["within_noise"] is False
    assert out["chosen"] == "simple"


def test_calibration_slope_near_one_for_calibrated_risks_and_below_one_for_overconfident() -> None:
    rng = np.random.default_rng(2)
    p = rng.uniform(0.01, 0.6, 20000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    assert abs(ms.calibration(y, p)["slope"] - 1) < 0.1
    logit = np.log(p / (1 - p)) * 2
    assert ms.calibration(y, 1 / (1 + np.exp(-logit)))["slope"] < 0.6


def test_repeated_cv_scores_every_fold_and_fills_out_of_fold() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    x = rng.normal(size=200)
    y = (rng.uniform(size=200) < 1 / (1 + np.exp(-2 * x))).astype(int)
    clean = pd.DataFrame({"x": x})
    schema = Schema((Field("x", "numeric", min=-10, max=10),))
    out = ms.repeated_cv(clean, y, schema, {"lr": lambda: LogisticRegression()}, splits=4, repeats=3)
    assert out["lr"].auc.shape == (12,) and out["lr"].oof.shape == (3, 200)
    assert (out["lr"].oof > 0).all() and ms.summary(out["lr"])["mean"] > 0.75
