"""Train ``ecg200-gru`` / ``ecg5000-gru``: CV of the GRU and the 1-D CNN baseline, then a final fit."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


from core.paths import shared_data_dir
from core.prognosis import store
from core.prognosis.datasets import read_sequences
from core.prognosis.sequence import SequenceRecipe, cross_validate, encode_labels, train_net

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


def train(name: str, data: Path | None = None, seed: int = 0, cv: int = 5, epochs: int | None = None,
          out: str | None = None, command: str = "", baseline: bool = True) -> dict[str, Any]:
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
        metrics[f"cv{cv}_gru"] = cross_validate("sequence_gru", gru_args, x, y, recipe, cv, seed)
        if baseline:
            metrics[f"cv{cv}_cnn1d_baseline"] = cross_validate("sequence_cnn1d", {"num_classes": k, **preset["cnn"]},
                                                               x, y, recipe, cv, seed)
    net = train_net("sequence_gru", gru_args, x, y, recipe, seed=seed)
    wall = time.perf_counter() - started
    card = {
        "name": name,
        "task": "sequence",
        "description": (f"Bidirectional GRU (conv stem, {preset['gru']['hidden']} hidden units) classifying "
                        f"single heartbeats. {preset['about']}."),
        "architecture": {"name": "sequence_gru", "args": gru_args},
        "preprocessing": {"length": int(x.shape[1]), "normalise": "per-series z-score",
                          "label_codes": preset["codes"]},
        "labels": preset["labels"],
        "data": {"file": preset["file"], "series": int(len(y)), "length": int(x.shape[1]),
                 "class_counts": {c: int((y == i).sum()) for i, c in enumerate(preset["codes"])},
                 "note": "official UCR TRAIN split only; the TEST split is withheld"},
        "split": {"cv": f"{cv}-fold StratifiedKFold, shuffle, random_state={seed}, on the TRAIN split",
                  "final_fit": "all TRAIN series"},
        "metrics": metrics,
        "metric_notes": "acc / macro_f1 pooled over the out-of-fold predictions; fold_acc per fold.",
        "command": command or f"python -m core train sequence --model {name} --seed {seed}",
        "training": {"recipe": recipe.to_json(), "seed": seed, "wall_time_s": round(wall, 1),
                     "hardware": store.hardware(), "epochs": recipe.epochs,
                     "augmentation": "amplitude scaling, Gaussian jitter, circular shift, magnitude warp",
                     "baseline": {"architecture": "sequence_cnn1d", "args": {"num_classes": k, **preset["cnn"]}}},
        "intended_use": "Teaching demo of sequence models on public heartbeat data; not for diagnosis.",
    }
    folder = store.save(net, store.model_folder(name, out), card)
    return {"model": name, "folder": str(folder), "metrics": metrics, "wall_time_s": round(wall, 1)}
