"""Stroke-risk helpers against scikit-learn on small cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.prognosis import risk


def test_bootstrap_ci_brackets_sklearn_auc() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.2).astype(int)
    p = np.clip(y * 0.3 + rng.random(300) * 0.7, 0, 1)
    s = risk.scores_with_ci(y, p, n_boot=300)
    assert s["auc"] == round(roc_auc_score(y, p), 4)
    assert s["auc_ci95"][0] < s["auc"] < s["auc_ci95"][1]
    assert s["auprc_ci95"][0] < s["auprc"] < s["auprc_ci95"][1]


def test_reliability_bins_cover_all_rows() -> None:
    rng = np.random.default_rng(1)
    p = rng.random(200)
    y = (rng.random(200) < p).astype(int)
    table = risk.reliability(y, p, bins=5)
    assert sum(table["n"]) == 200
    assert np.all(np.diff(table["predicted"]) > 0)


def test_logistic_risk_equals_sklearn() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = (x[:, 0] + rng.normal(size=200) > 1).astype(int)
    model = risk.fit_logistic_risk(x, y, members=20, seed=0)
    ref = LogisticRegression(C=0.1, max_iter=5000).fit(x, y).predict_proba(x)[:, 1]
    np.testing.assert_allclose(model(torch.from_numpy(x)).detach().numpy(), ref, atol=1e-5)
    out = risk.predict(model, x[:4])
    assert np.all(out["lower"] <= out["upper"]) and out["risk"].shape == (4,)


def test_contributions_add_up_to_the_logit_difference() -> None:
    import pandas as pd

    from core.prognosis.datasets import STROKE_SCHEMA
    from core.prognosis.tabular import Encoder

    rows = pd.DataFrame({"gender": ["Male", "Female"] * 20, "age": np.linspace(1, 80, 40), "hypertension": ["0", "1"] * 20,
                         "heart_disease": ["0"] * 40, "ever_married": ["Yes"] * 40, "work_type": ["Private"] * 40,
                         "Residence_type": ["Urban", "Rural"] * 20, "avg_glucose_level": np.linspace(60, 200, 40),
                         "bmi": [np.nan] + [25.0] * 39, "smoking_status": ["Unknown"] * 40})
    enc = Encoder(STROKE_SCHEMA).fit(STROKE_SCHEMA.validate(rows))
    x = enc.transform(STROKE_SCHEMA.validate(rows))
    y = (np.linspace(1, 80, 40) > 50).astype(int)
    model = risk.fit_logistic_risk(x, y, members=5)
    mean = x.mean(axis=0)
    parts = risk.contributions(model, enc, x[0], mean)
    assert set(parts) == set(STROKE_SCHEMA.names)
    logit = lambda v: float(model.logit(torch.from_numpy(v[None])).detach())  # noqa: E731
    assert sum(parts.values()) == pytest.approx(logit(x[0]) - logit(mean.astype(np.float32)), abs=1e-4)
