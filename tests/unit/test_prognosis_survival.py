"""Survival pieces checked against scikit-survival on small cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.prognosis.datasets import load_survival
from core.prognosis.survival import (DeepSurvRecipe, breslow, cox_loss, cross_validate, cumhaz_at,
                                     deepsurv_survival_at, ensemble_log_risk, fit_deepsurv, median_time,
                                     risk_groups, score_fold)


def _toy(n: int = 80, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    time = np.round(rng.exponential(np.exp(-(0.8 * x[:, 0] - 0.5 * x[:, 1]))) * 10) + 1  # ties on purpose
    event = rng.random(n) < 0.7
    return x, time.astype(float), event


def test_cox_loss_optimum_matches_sksurv_coefficients() -> None:
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.util import Surv

    x, time, event = _toy()
    ref = CoxPHSurvivalAnalysis(alpha=0, ties="breslow").fit(x, Surv.from_arrays(event, time)).coef_
    beta = torch.zeros(2, requires_grad=True)
    opt = torch.optim.LBFGS([beta], max_iter=200, line_search_fn="strong_wolfe")
    xt, tt, et = torch.tensor(x, dtype=torch.float64), torch.tensor(time), torch.tensor(event, dtype=torch.float64)

    def closure():
        opt.zero_grad()
        loss = cox_loss(xt.float() @ beta, tt.float(), et.float())
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(beta.detach().numpy(), ref, atol=2e-3)


def test_breslow_matches_sksurv_estimator() -> None:
    from sksurv.linear_model.coxph import BreslowEstimator

    x, time, event = _toy()
    risk = 0.3 * x[:, 0]
    times, h0 = breslow(risk, time, event)
    est = BreslowEstimator().fit(risk, event, time)
    np.testing.assert_allclose(h0, est.cum_baseline_hazard_(times), rtol=1e-6)
    assert cumhaz_at(np.array([0.0]), times, h0)[0] == 0.0


def test_perfect_ranking_scores_one() -> None:
    from sksurv.util import Surv

    x, time, event = _toy(60)
    time = time + np.arange(60) * 1e-3  # distinct times: no tied pairs
    y = Surv.from_arrays(event, time)
    risk = -time  # shorter time = higher risk
    flat = lambda xs, ts: np.tile(np.linspace(0.9, 0.5, len(ts)), (len(xs), 1))  # noqa: E731
    scores = score_fold(y, y, risk, flat, x)
    assert scores["harrell"] == pytest.approx(1.0) and 0.9 < scores["uno"] <= 1.0 and 0 < scores["ibs"] < 1


def test_deepsurv_learns_a_signal_and_curves_are_monotone() -> None:
    torch.manual_seed(0)
    x, time, event = _toy(200, seed=1)
    model = fit_deepsurv(x.astype(np.float32), time, event, DeepSurvRecipe(members=2, epochs=60), seed=0)
    from sksurv.metrics import concordance_index_censored

    c = concordance_index_censored(event, time, ensemble_log_risk(model, x))[0]
    assert c > 0.65
    with torch.no_grad():
        s = model.survival(torch.from_numpy(x[:5].astype(np.float32))).numpy()
    assert s.shape == (5, 2, 100) and np.all(np.diff(s, axis=-1) <= 1e-6) and np.all(s <= 1)
    exact = deepsurv_survival_at(model, x[:3], np.array([1.0, 5.0, 20.0]))
    assert exact.shape == (3, 3)


def test_median_and_groups() -> None:
    times = np.arange(5.0)
    assert median_time(times, np.array([1, 0.8, 0.5, 0.3, 0.1])) == 2.0
    assert median_time(times, np.full(5, 0.9)) is None
    assert list(risk_groups(np.array([-1.0, 0.0, 1.0]), np.array([-0.5, 0.5]))) == [0, 1, 2]


def test_cross_validation_runs_deep_and_cox_on_same_folds() -> None:
    report = cross_validate(load_survival("veterans"), DeepSurvRecipe(members=2, epochs=30), k=3, seeds=(0,))
    for model in ("deepsurv", "cox"):
        assert 0.5 < report[model]["harrell_c"] < 0.9
        assert 0 < report[model]["ibs"] < 0.3
