"""Train ``gbsg2-deepsurv``: cross-validate against Cox and RSF, then fit on all patients."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from core.prognosis import store
from core.prognosis.datasets import load_survival
from core.prognosis.survival import (DeepSurvRecipe, cross_validate, cohort_reference, ensemble_log_risk,
                                     fit_deepsurv, kaplan_meier_by_group, risk_groups)
from core.prognosis.tabular import Encoder


def train(name: str, dataset: str, recipe: DeepSurvRecipe, seed: int, cv_seeds: tuple[int, ...],
          k: int = 5, out: str | None = None, second: str | None = "veterans", command: str = "") -> dict[str, Any]:
    """Cross-validation report (deep model and both baselines on the same folds), final fit, save."""
    started = time.perf_counter()
    data = load_survival(dataset)
    metrics: dict[str, Any] = {}
    if cv_seeds:
        metrics[f"{dataset}_cv"] = cross_validate(data, recipe, k, cv_seeds, ("deepsurv", "cox", "rsf"))
        if second:
            metrics[f"{second}_cv"] = cross_validate(load_survival(second), recipe, k, cv_seeds,
                                                     ("deepsurv", "cox", "rsf"))
    clean = data.schema.validate(data.frame, dataset)
    encoder = Encoder(data.schema).fit(clean)
    x = encoder.transform(clean)
    model = fit_deepsurv(x, data.time, data.event, recipe, seed=seed)
    log_risk = ensemble_log_risk(model, x)
    cuts = np.percentile(log_risk, [100 / 3, 200 / 3])
    groups = risk_groups(log_risk, cuts)
    km = kaplan_meier_by_group(data.time, data.event, groups)
    field_stats = {
        f.name: ({"min": float(clean[f.name].min()), "max": float(clean[f.name].max()),
                  "median": float(clean[f.name].median())} if f.kind == "numeric"
                 else {"counts": {k: int(v) for k, v in clean[f.name].value_counts().items()}})
        for f in data.schema.fields
    }
    wall = time.perf_counter() - started
    card = {
        "name": name,
        "task": "survival",
        "description": (f"DeepSurv-style ensemble ({recipe.members} MLPs, hidden {list(recipe.hidden)}, "
                        "Cox partial likelihood, bootstrap members) predicting recurrence-free survival "
                        f"curves on {data.description}."),
        "architecture": {"name": "deepsurv_ensemble",
                         "args": {"in_features": int(x.shape[1]), "hidden": list(recipe.hidden),
                                  "dropout": recipe.dropout, "members": recipe.members,
                                  "n_times": recipe.n_times}},
        "preprocessing": {
            "encoder": encoder.to_json(),
            "time_unit": "days",
            "field_stats": field_stats,
            "reference": cohort_reference(clean, data.schema).iloc[0].to_dict(),
        },
        "labels": [f"log_risk_member_{m}" for m in range(recipe.members)],
        "outputs": "forward(x) -> log-risk (N, members); survival(x) -> S(t|x) (N, members, T) on the 'times' buffer",
        "cohort": {
            "dataset": dataset,
            "risk_cuts": [float(c) for c in cuts],
            "groups": ["low", "intermediate", "high"],
            "km": {str(g): {"t": [round(float(v), 1) for v in t], "s": [round(float(v), 4) for v in s],
                            "n": int((groups == g).sum())} for g, (t, s) in km.items()},
            "note": "risk groups are tertiles of the final model's risk on its own training cohort (in-sample)",
        },
        "data": {"dataset": dataset, "source": "sksurv.datasets.load_gbsg2() (bundled with scikit-survival)",
                 "n": len(data), "events": int(data.event.sum()),
                 "second_set": second and f"{second}: sksurv.datasets.load_veterans_lung_cancer()"},
        "split": {"final_fit": "all patients", "cv": f"{k}-fold StratifiedKFold on the event, shuffle, "
                  f"random_state in {list(cv_seeds)}; encoder fitted per training fold; DeepSurv, Cox and "
                  "RSF on the same folds"},
        "metrics": metrics,
        "metric_notes": ("harrell_c/uno_c: mean over all folds x seeds; Uno's tau = 80th percentile of training "
                         "times; IBS over 20 times between the 10th and 80th percentile of test times. "
                         "cox = sksurv CoxPHSurvivalAnalysis (Breslow), rsf = sksurv RandomSurvivalForest "
                         "(200 trees, min_samples_split=10, min_samples_leaf=15)."),
        "command": command or f"python -m core train survival --model {name} --dataset {dataset} --seed {seed}",
        "training": {"recipe": recipe.to_json(), "seed": seed, "wall_time_s": round(wall, 1),
                     "hardware": store.hardware(), "epochs": recipe.epochs},
        "intended_use": ("Research and teaching demo of survival modelling on a public trial cohort; "
                         "not for clinical decisions."),
    }
    folder = store.save(model, store.model_folder(name, out), card)
    return {"model": name, "folder": str(folder), "metrics": metrics, "wall_time_s": round(wall, 1)}
