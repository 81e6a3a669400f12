"""Train ``stroke-risk``: compare LR / GBM / MLP on a validation split, ship the logistic model."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from core.prognosis import risk, store
from core.prognosis.datasets import STROKE_SCHEMA, load_stroke
from core.prognosis.tabular import Encoder


def out_of_fold_logistic(clean, y: np.ndarray, seed: int) -> np.ndarray:
    """5-fold out-of-fold probabilities of the shipped recipe (for the reliability table)."""
    from sklearn.model_selection import StratifiedKFold

    p = np.zeros(len(y))
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(clean, y):
        enc = Encoder(STROKE_SCHEMA).fit(clean.iloc[tr])
        model = risk.candidates(seed)["logistic"]().fit(enc.transform(clean.iloc[tr]), y[tr])
        p[te] = model.predict_proba(enc.transform(clean.iloc[te]))[:, 1]
    return p


def train(name: str, csv: Path, seed: int = 0, members: int = 200, out: str | None = None,
          command: str = "") -> dict[str, Any]:
    started = time.perf_counter()
    clean, y = load_stroke(csv)
    comparison = risk.compare(clean, y, STROKE_SCHEMA, seed)
    oof = out_of_fold_logistic(clean, y, seed)
    encoder = Encoder(STROKE_SCHEMA).fit(clean)
    x = encoder.transform(clean)
    model = risk.fit_logistic_risk(x, y, members=members, seed=seed)
    best = max(comparison["cv5_auc"], key=lambda k: comparison["cv5_auc"][k]["mean"])
    wall = time.perf_counter() - started
    metrics = {
        "validation": comparison["validation"],
        "cv5_auc": comparison["cv5_auc"],
        "best_by_cv5_auc": best,
        "shipped": "logistic",
        "calibration_oof5": {**risk.reliability(y, oof), "brier": round(float(np.mean((oof - y) ** 2)), 4),
                             "mean_predicted": round(float(oof.mean()), 4), "prevalence": round(float(y.mean()), 4)},
    }
    card = {
        "name": name,
        "task": "risk",
        "description": ("Stroke risk (probability of a recorded stroke) from 10 clinical fields: logistic "
                        f"regression (L2, C=0.1) with {members} bootstrap refits for the risk interval."),
        "architecture": {"name": "logistic_risk", "args": {"in_features": int(x.shape[1]), "members": members}},
        "preprocessing": {"encoder": encoder.to_json(), "feature_names": encoder.feature_names,
                          "feature_mean": [round(float(v), 6) for v in x.mean(axis=0)]},
        "labels": ["stroke"],
        "outputs": "forward(x) -> P(stroke) (N,); members(x) -> bootstrap probabilities (N, members)",
        "data": {"file": "clinical/stroke/stroke_train.csv", "rows": int(len(y)), "positives": int(y.sum()),
                 "source": "Kaggle Stroke Prediction Dataset (fedesoriano), train part; test part withheld"},
        "split": {"validation": f"stratified 25 % of stroke_train.csv, random_state={seed} (train 75 %)",
                  "cv": f"5-fold StratifiedKFold, shuffle, random_state={seed}",
                  "final_fit": "all rows of stroke_train.csv"},
        "metrics": metrics,
        "metric_notes": "AUC / AUPRC with 95 % percentile bootstrap intervals (1000 resamples of the validation split).",
        "command": command or f"python -m core train risk --model {name} --seed {seed}",
        "training": {"seed": seed, "wall_time_s": round(wall, 1), "hardware": store.hardware(), "epochs": None,
                     "compared": {"logistic": "LogisticRegression(C=0.1)",
                                  "gbm": "HistGradientBoostingClassifier(lr=0.03, 200 iters, depth 3, min leaf 40, l2=1)",
                                  "mlp": "MLPClassifier(32 hidden, alpha=1.0)"}},
        "intended_use": "Teaching demo of clinical risk modelling on a public data set; not for clinical decisions.",
    }
    folder = store.save(model, store.model_folder(name, out), card)
    return {"model": name, "folder": str(folder), "validation": comparison["validation"],
            "cv5_auc": comparison["cv5_auc"], "wall_time_s": round(wall, 1)}
