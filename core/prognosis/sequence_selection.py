"""Choose a heartbeat classifier by repeated stratified CV on the TRAIN split, and ship it.

Candidates, simplest first: MiniRocket + ridge (fixed random features, a linear read-out),
the 1-D CNN, the bidirectional GRU, and the mean of MiniRocket's and the GRU's probabilities.
Every candidate sees the same ``repeats x k`` folds (``StratifiedKFold(k, shuffle,
random_state=seed + r)``); the ensemble reuses the two members' out-of-fold probabilities.
The simplest candidate whose paired fold difference to the best has a Nadeau-Bengio corrected
interval reaching 0 is shipped (``core.prognosis.model_selection``). The official TEST
split is never read.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
import torch

from core.prognosis import minirocket, model_selection
from core.prognosis.sequence import SequenceRecipe, predict_proba, scores, train_net, znormalise

SIMPLICITY = ("minirocket", "cnn1d", "gru", "minirocket+gru")


def _fitters(k: int, gru_args: dict[str, Any], cnn_args: dict[str, Any], recipe: SequenceRecipe,
             num_features: int) -> dict[str, Callable[[np.ndarray, np.ndarray, int], torch.nn.Module]]:
    return {
        "minirocket": lambda x, y, s: minirocket.fit_minirocket(znormalise(x), y, k, num_features, seed=s),
        "cnn1d": lambda x, y, s: train_net("sequence_cnn1d", cnn_args, x, y, recipe, seed=s),
        "gru": lambda x, y, s: train_net("sequence_gru", gru_args, x, y, recipe, seed=s),
    }


def repeated_cv(x: np.ndarray, y: np.ndarray, k_classes: int, gru_args: dict[str, Any],
                cnn_args: dict[str, Any], recipe: SequenceRecipe, folds: int = 5, repeats: int = 3,
                seed: int = 0, num_features: int = 10_000,
                candidates: tuple[str, ...] = SIMPLICITY) -> dict[str, Any]:
    """Fold accuracies and pooled per-repeat scores of every candidate (and the ensemble).

    Args:
        candidates: names of ``SIMPLICITY`` to compare, simplest first (the ensemble needs both members).
    """
    import warnings

    from sklearn.model_selection import StratifiedKFold

    names = [n for n in SIMPLICITY if n in candidates]
    if "minirocket+gru" in names and not {"minirocket", "gru"} <= set(names):
        raise ValueError("the minirocket+gru ensemble needs both members among the candidates")
    fitters = {n: f for n, f in _fitters(k_classes, gru_args, cnn_args, recipe, num_features).items() if n in names}
    fold_acc: dict[str, list[float]] = {n: [] for n in names}
    pooled: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    seconds = {n: 0.0 for n in fitters}
    for r in range(repeats):
        proba = {n: np.zeros((len(y), k_classes), np.float32) for n in names}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a class with fewer members than folds (ECG5000)
            splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed + r).split(x, y))
        for f, (tr, te) in enumerate(splits):
            for name, fit in fitters.items():
                started = time.perf_counter()
                net = fit(x[tr], y[tr], (seed + r) * 100 + f)
                proba[name][te] = predict_proba(net, x[te])
                seconds[name] += time.perf_counter() - started
            proba["minirocket+gru"][te] = (proba["minirocket"][te] + proba["gru"][te]) / 2
            for name in names:
                fold_acc[name].append(float((proba[name][te].argmax(1) == y[te]).mean()))
        for name in names:
            pooled[name].append(scores(y, proba[name]))
    results = {n: model_selection.CVResult(np.asarray(fold_acc[n]), np.zeros((repeats, 0)), folds, repeats,
                                           1.0 / folds) for n in names}
    choice = model_selection.choose_simplest(results, names)
    summary = {}
    for n in names:
        s = model_selection.summary(results[n])
        summary[n] = {"acc": s["mean"], "acc_ci95": s["ci95"], "fold_sd": s["fold_sd"],
                      "repeat_acc": [p["acc"] for p in pooled[n]],
                      "macro_f1": round(float(np.mean([p["macro_f1"] for p in pooled[n]])), 4),
                      "fit_seconds": round(seconds.get(n, seconds["minirocket"] + seconds["gru"]), 1)}
    return {"cv": summary, "selection": choice, "folds": folds, "repeats": repeats, "seed": seed}


def fit_chosen(name: str, x: np.ndarray, y: np.ndarray, k_classes: int, gru_args: dict[str, Any],
               cnn_args: dict[str, Any], recipe: SequenceRecipe, seed: int = 0,
               num_features: int = 10_000) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The chosen candidate fitted on every TRAIN series, with its architecture entry for the card."""
    import models  # noqa: F401  (registers the architectures)
    from models.architectures import build_architecture

    mr_args = {"length": int(x.shape[1]), "num_classes": k_classes, "num_features": num_features}
    if name == "minirocket":
        return minirocket.fit_minirocket(znormalise(x), y, k_classes, num_features, seed), {
            "name": "minirocket_ridge", "args": mr_args}
    if name == "cnn1d":
        return train_net("sequence_cnn1d", cnn_args, x, y, recipe, seed), {"name": "sequence_cnn1d", "args": cnn_args}
    if name == "gru":
        return train_net("sequence_gru", gru_args, x, y, recipe, seed), {"name": "sequence_gru", "args": gru_args}
    ensemble = build_architecture("minirocket_gru_ensemble", minirocket=mr_args, gru=gru_args)
    ensemble.minirocket.load_state_dict(minirocket.fit_minirocket(znormalise(x), y, k_classes, num_features,
                                                                  seed).state_dict())
    ensemble.gru.load_state_dict(train_net("sequence_gru", gru_args, x, y, recipe, seed).state_dict())
    return ensemble.eval(), {"name": "minirocket_gru_ensemble", "args": {"minirocket": mr_args, "gru": gru_args}}


DESCRIPTIONS = {
    "minirocket": "MiniRocket features (84 fixed kernels x dilations, PPV) with a ridge classifier",
    "cnn1d": "1-D CNN",
    "gru": "Bidirectional GRU with a convolutional stem",
    "minirocket+gru": "Mean of MiniRocket+ridge and bidirectional GRU probabilities",
}


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("sktime", "numba", "scikit-learn", "torch"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "absent"
    return out
