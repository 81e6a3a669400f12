"""Training of the prognosis models (``python -m core train risk|sequence|survival``).

- ``train_risk``: ``stroke-risk``, LR / GBM / MLP chosen by repeated stratified CV (simplest within noise);
- ``train_sequence``: ``ecg200-gru`` / ``ecg5000-gru``, CV of the GRU and a 1-D CNN baseline, final fit;
- ``train_survival``: ``gbsg2-deepsurv``, CV against Cox and RSF, final fit on all patients.
Every model is written with ``core.trainloop.save_model`` (safetensors + card, atomically).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from core.paths import shared_data_dir
from core.prognosis import model_selection, risk, sequence_selection
from core.prognosis.datasets import STROKE_SCHEMA, load_stroke, load_survival, read_sequences
from core.prognosis.sequence import SequenceRecipe, encode_labels, train_net
from core.prognosis.sequence import cross_validate as cross_validate_sequence
from core.prognosis.survival import (DeepSurvRecipe, cohort_reference, ensemble_log_risk, fit_deepsurv,
                                     kaplan_meier_by_group, risk_groups)
from core.prognosis.survival import cross_validate as cross_validate_survival
from core.prognosis.tabular import Encoder
from core.trainloop import hardware, model_folder, save_model, training_device


def select_risk(clean, y: np.ndarray, seed: int, splits: int, repeats: int) -> dict[str, Any]:
    """Repeated stratified CV of every stroke candidate; the simplest within noise of the best is chosen.

    Within the logistic family (the only one shipped, as a torch ``LogisticRisk``) the C whose
    out-of-fold calibration slope is nearest 1 is kept, among those within noise.
    """
    makers = risk.selection_candidates(seed)
    results = model_selection.repeated_cv(clean, y, STROKE_SCHEMA, makers, splits, repeats, seed)
    choice = model_selection.choose_simplest(results, list(makers))
    slopes = {k: float(np.mean([model_selection.calibration(y, p)["slope"] for p in r.oof]))
              for k, r in results.items()}
    shippable = [k for k in makers if k.startswith("logistic")]
    if choice["chosen"] in shippable:
        calm = [k for k in shippable if choice["differences"][k]["within_noise"]]
        shipped = min(calm, key=lambda k: abs(slopes[k] - 1.0))
    else:
        shipped = max(shippable, key=lambda k: results[k].auc.mean())
    oof = results[shipped].oof
    per_repeat = [model_selection.calibration(y, p) for p in oof]
    return {
        "cv": {k: model_selection.summary(r) for k, r in results.items()},
        "selection": {**choice, "shipped": shipped,
                      "rule": ("simplest candidate (order as listed) whose paired fold difference to the best "
                               "has a Nadeau-Bengio corrected 95 % interval reaching 0; within the logistic family "
                               "(only it can be shipped, as a torch LogisticRisk) the C whose out-of-fold "
                               "calibration slope is nearest 1, among those within noise"),
                      "oof_calibration_slope": {k: round(v, 3) for k, v in slopes.items()}},
        "calibration_oof": {
            "per_repeat_mean": {key: round(float(np.mean([c[key] for c in per_repeat])), 4)
                                for key in ("slope", "intercept", "brier", "mean_predicted")},
            "slope_range": [min(c["slope"] for c in per_repeat), max(c["slope"] for c in per_repeat)],
            "prevalence": round(float(y.mean()), 4),
            "reliability_repeat0": risk.reliability(y, oof[0]),
        },
    }


def train_risk(name: str, csv: Path, seed: int = 0, members: int = 200, out: str | None = None,
               command: str = "", splits: int = 5, repeats: int = 5) -> dict[str, Any]:
    """``stroke-risk``: choose by repeated stratified CV (simplest within noise), ship a logistic model."""
    started = time.perf_counter()
    clean, y = load_stroke(csv)
    comparison = risk.compare(clean, y, STROKE_SCHEMA, seed)
    chosen = select_risk(clean, y, seed, splits, repeats)
    shipped = chosen["selection"]["shipped"]
    c_value = risk.logistic_c(shipped)
    encoder = Encoder(STROKE_SCHEMA).fit(clean)
    x = encoder.transform(clean)
    model = risk.fit_logistic_risk(x, y, members=members, seed=seed, C=c_value)
    wall = time.perf_counter() - started
    metrics = {
        f"cv{splits}x{repeats}_auc": chosen["cv"],
        "selection": chosen["selection"],
        "shipped": shipped,
        "calibration_oof": chosen["calibration_oof"],
        "validation": comparison["validation"],
        "cv5_auc": comparison["cv5_auc"],
    }
    card = {
        "name": name,
        "task": "risk",
        "modality": "clinical table",
        "body_part": "",
        "description": ("Stroke risk (probability of a recorded stroke) from 10 clinical fields: logistic "
                        f"regression (L2, C={c_value:g}, chosen by {repeats}x{splits}-fold stratified CV) with "
                        f"{members} bootstrap refits for the risk interval."),
        "architecture": {"name": "logistic_risk", "args": {"in_features": int(x.shape[1]), "members": members}},
        "preprocessing": {"encoder": encoder.to_json(), "feature_names": encoder.feature_names,
                          "feature_mean": [round(float(v), 6) for v in x.mean(axis=0)]},
        "labels": ["stroke"],
        "outputs": "forward(x) -> P(stroke) (N,); members(x) -> bootstrap probabilities (N, members)",
        "data": {"file": "clinical/stroke/stroke_train.csv", "rows": int(len(y)), "positives": int(y.sum()),
                 "source": "Kaggle Stroke Prediction Dataset (fedesoriano), train part; test part withheld"},
        "split": {"validation": f"stratified 25 % of stroke_train.csv, random_state={seed} (train 75 %)",
                  "cv": f"5-fold StratifiedKFold, shuffle, random_state={seed}",
                  "selection_cv": (f"RepeatedStratifiedKFold({splits} splits x {repeats} repeats, "
                                   f"random_state={seed}) on all of stroke_train.csv"),
                  "final_fit": "all rows of stroke_train.csv"},
        "metrics": metrics,
        "metric_notes": (f"cv{splits}x{repeats}_auc: mean fold AUC with a Nadeau-Bengio corrected 95 % interval "
                         "and the range of the per-repeat means; selection: paired differences to the best. "
                         "calibration_oof: logistic recalibration slope/intercept and Brier of the pooled "
                         "out-of-fold risks, averaged over repeats. validation: the earlier single 25 % split "
                         "(AUC / AUPRC with 95 % percentile bootstrap intervals, 1000 resamples)."),
        "command": command or f"python -m core train risk --model {name} --seed {seed}",
        "training": {"seed": seed, "wall_time_s": round(wall, 1), "hardware": hardware(), "epochs": None,
                     "compared": risk.SELECTION_DESCRIPTIONS},
        "intended_use": "Teaching demo of clinical risk modelling on a public data set; not for clinical decisions.",
    }
    folder = save_model(model_folder(name, out), model, card)
    return {"model": name, "folder": str(folder), f"cv{splits}x{repeats}_auc": chosen["cv"],
            "selection": chosen["selection"], "calibration_oof": chosen["calibration_oof"]["per_repeat_mean"],
            "wall_time_s": round(wall, 1)}


# ----- sequences -----

PRESETS: dict[str, dict[str, Any]] = {
    "ecg200-gru": {
        "file": "clinical/ecg200/ECG200_TRAIN.ts",
        "codes": ["-1", "1"],
        "labels": ["myocardial infarction", "normal"],
        "gru": {"hidden": 64, "layers": 1, "stem": 32, "dropout": 0.2},
        "cnn": {"width": 32},
        "recipe": {"epochs": 100},
        "about": "ECG200 (UCR; Olszewski 2001): one heartbeat, 96 samples; normal vs myocardial infarction",
    },
    "ecg5000-gru": {
        "file": "clinical/ecg5000/ECG5000_TRAIN.txt",
        "codes": ["1", "2", "3", "4", "5"],
        "labels": ["normal", "R-on-T PVC", "PVC", "supraventricular premature", "unclassified"],
        "gru": {"hidden": 32, "layers": 1, "stem": 32, "dropout": 0.2},
        "cnn": {"width": 32},
        "recipe": {"epochs": 40},
        "about": "ECG5000 (UCR; BIDMC CHF chf07): one heartbeat, 140 samples; 5 beat classes",
    },
}


def train_sequence(name: str, data: Path | None = None, seed: int = 0, cv: int = 5, epochs: int | None = None,
          out: str | None = None, command: str = "", baseline: bool = True) -> dict[str, Any]:
    """``ecg200-gru`` / ``ecg5000-gru``: CV of the GRU and the 1-D CNN baseline, then a final fit."""
    preset = PRESETS[name]
    started = time.perf_counter()
    path = Path(data) if data else shared_data_dir() / preset["file"]
    x, labels = read_sequences(path)
    y = encode_labels(labels, preset["codes"])
    recipe = SequenceRecipe.from_json({**preset["recipe"], **({"epochs": epochs} if epochs else {})})
    k = len(preset["codes"])
    gru_args = {"num_classes": k, **preset["gru"]}
    metrics: dict[str, Any] = {}
    if cv:
        metrics[f"cv{cv}_gru"] = cross_validate_sequence("sequence_gru", gru_args, x, y, recipe, cv, seed)
        if baseline:
            metrics[f"cv{cv}_cnn1d_baseline"] = cross_validate_sequence("sequence_cnn1d", {"num_classes": k, **preset["cnn"]},
                                                               x, y, recipe, cv, seed)
    net = train_net("sequence_gru", gru_args, x, y, recipe, seed=seed)
    wall = time.perf_counter() - started
    card = {
        **_ecg_card_head(name, preset, x, y, {"name": "sequence_gru", "args": gru_args},
                         f"Bidirectional GRU (conv stem, {preset['gru']['hidden']} hidden units) classifying "
                         f"single heartbeats. {preset['about']}."),
        "split": {"cv": f"{cv}-fold StratifiedKFold, shuffle, random_state={seed}, on the TRAIN split",
                  "final_fit": "all TRAIN series"},
        "metrics": metrics,
        "metric_notes": "acc / macro_f1 pooled over the out-of-fold predictions; fold_acc per fold.",
        "command": command or f"python -m core train sequence --model {name} --seed {seed}",
        "training": {"recipe": recipe.to_json(), "seed": seed, "wall_time_s": round(wall, 1),
                     "hardware": hardware(training_device()), "epochs": recipe.epochs,
                     "augmentation": "amplitude scaling, Gaussian jitter, circular shift, magnitude warp",
                     "baseline": {"architecture": "sequence_cnn1d", "args": {"num_classes": k, **preset["cnn"]}}},
        "intended_use": "Teaching demo of sequence models on public heartbeat data; not for diagnosis.",
    }
    folder = save_model(model_folder(name, out), net, card)
    return {"model": name, "folder": str(folder), "metrics": metrics, "wall_time_s": round(wall, 1)}


# ----- survival -----

def train_survival(name: str, dataset: str, recipe: DeepSurvRecipe, seed: int, cv_seeds: tuple[int, ...],
          k: int = 5, out: str | None = None, second: str | None = "veterans", command: str = "") -> dict[str, Any]:
    """``gbsg2-deepsurv``: CV against Cox and RSF on the same folds, then a final fit on all patients."""
    started = time.perf_counter()
    data = load_survival(dataset)
    metrics: dict[str, Any] = {}
    if cv_seeds:
        metrics[f"{dataset}_cv"] = cross_validate_survival(data, recipe, k, cv_seeds, ("deepsurv", "cox", "rsf"))
        if second:
            metrics[f"{second}_cv"] = cross_validate_survival(load_survival(second), recipe, k, cv_seeds,
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
        "modality": "clinical table",
        "body_part": "BREAST",
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
                     "hardware": hardware(training_device()), "epochs": recipe.epochs},
        "intended_use": ("Research and teaching demo of survival modelling on a public trial cohort; "
                         "not for clinical decisions."),
    }
    folder = save_model(model_folder(name, out), model, card)
    return {"model": name, "folder": str(folder), "metrics": metrics, "wall_time_s": round(wall, 1)}


SELECTED = {"ecg200-minirocket": "ecg200-gru",  # shipped name -> the preset whose data, GRU and CNN it uses
            "ecg5000-minirocket": "ecg5000-gru"}
# The candidates compared (simplest first) where not all of sequence_selection.SIMPLICITY: on ECG5000 the
# 1-D CNN already trailed the GRU in ecg5000-gru's 5-fold CV (.934 vs .948), and one thread is all we have.
CANDIDATES = {"ecg5000-minirocket": ("minirocket", "gru", "minirocket+gru")}
CANDIDATE_NAMES = {"minirocket": "MiniRocket", "cnn1d": "a 1-D CNN", "gru": "a GRU", "minirocket+gru": "MiniRocket+GRU"}


def _ecg_card_head(name: str, preset: dict[str, Any], x: np.ndarray, y: np.ndarray, architecture: dict[str, Any],
                   description: str) -> dict[str, Any]:
    """What every heartbeat model's card says first: identity, network, input and the TRAIN data."""
    return {
        "name": name,
        "task": "sequence",
        "modality": "ECG",
        "body_part": "HEART",
        "description": description,
        "architecture": architecture,
        "preprocessing": {"length": int(x.shape[1]), "normalisation": "series-zscore", "label_codes": preset["codes"]},
        "notes": {"normalisation": "each series z-scored on its own (mean 0, sd 1) before the network"},
        "labels": preset["labels"],
        "data": {"file": preset["file"], "series": int(len(y)), "length": int(x.shape[1]),
                 "class_counts": {c: int((y == i).sum()) for i, c in enumerate(preset["codes"])},
                 "note": "official UCR TRAIN split only; the TEST split is withheld"},
    }


def train_selected(name: str, data: str | None = None, seed: int = 0, folds: int = 5, repeats: int = 3,
                   out: str | None = None, command: str = "", num_features: int = 10_000) -> dict[str, Any]:
    """Repeated CV of every candidate on the TRAIN file, then the chosen one fitted on all of it."""
    preset = PRESETS[SELECTED[name]]
    started = time.perf_counter()
    x, labels = read_sequences(Path(data) if data else shared_data_dir() / preset["file"])
    y = encode_labels(labels, preset["codes"])
    k = len(preset["codes"])
    recipe = SequenceRecipe.from_json(preset["recipe"])
    gru_args, cnn_args = {"num_classes": k, **preset["gru"]}, {"num_classes": k, **preset["cnn"]}
    candidates = CANDIDATES.get(name, sequence_selection.SIMPLICITY)
    cv = sequence_selection.repeated_cv(x, y, k, gru_args, cnn_args, recipe, folds, repeats, seed, num_features,
                                        candidates)
    chosen = cv["selection"]["chosen"]
    among = [CANDIDATE_NAMES[c] for c in candidates]
    net, architecture = sequence_selection.fit_chosen(chosen, x, y, k, gru_args, cnn_args, recipe, seed, num_features)
    wall = time.perf_counter() - started
    card = {
        **_ecg_card_head(name, preset, x, y, architecture,
                         f"{sequence_selection.DESCRIPTIONS[chosen]}, chosen by {repeats}x{folds}-fold stratified CV "
                         f"on the TRAIN split among {', '.join(among[:-1])} and {among[-1]}. {preset['about']}."),
        "split": {"cv": (f"{repeats} repeats of {folds}-fold StratifiedKFold (shuffle, random_state={seed}.."
                         f"{seed + repeats - 1}) on the TRAIN split; the same folds for every candidate"),
                  "final_fit": "all TRAIN series"},
        "metrics": {f"cv{folds}x{repeats}": cv["cv"], "selection": cv["selection"], "shipped": chosen},
        "metric_notes": ("acc: mean fold accuracy with a Nadeau-Bengio corrected 95 % interval; repeat_acc: "
                         "pooled out-of-fold accuracy of each repeat; selection: paired fold differences to the "
                         "best; the simplest candidate within noise is shipped (order: "
                         f"{', '.join(candidates)})."),
        "command": command or f"python -m core train sequence --model {name} --seed {seed} --cv {folds} "
                              f"--repeats {repeats}",
        "training": {"seed": seed, "wall_time_s": round(wall, 1), "hardware": hardware(), "epochs": None,
                     "recipe_gru_cnn": recipe.to_json(), "gru": gru_args,
                     **({"cnn1d": cnn_args} if "cnn1d" in candidates else {}),
                     "minirocket": {"num_features": num_features, "transform": "sktime MiniRocket (fit: dilations, "
                                    "biases) re-implemented in torch for inference (models/minirocket.py)",
                                    "classifier": "StandardScaler + RidgeClassifierCV(alphas=logspace(-3,3,10)); "
                                    + ("Platt scaling" if k == 2 else "a softmax temperature")
                                    + " fitted on inner 5-fold out-of-fold ridge scores"},
                     "packages": sequence_selection.package_versions()},
        "intended_use": "Teaching demo of sequence models on public heartbeat data; not for diagnosis.",
        # the GRU preset was a candidate on the same folds: the chosen model replaces it as the default
        **({"supersedes": [SELECTED[name]]} if chosen != "gru" else {}),
    }
    folder = save_model(model_folder(name, out), net, card)
    return {"model": name, "folder": str(folder), "cv": cv["cv"], "selection": cv["selection"],
            "shipped": chosen, "wall_time_s": round(wall, 1)}
