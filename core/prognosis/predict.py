"""What the page and the evaluate commands call: validated input in, predictions out.

Every function takes a registered model name and goes through ``core.cache.get_model``;
bad input raises ``InputError`` naming the field.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.cache import get_model
from core.errors import InputError
from core.paths import shared_data_dir
from core.prognosis import risk as risk_mod
from core.prognosis import survival as surv_mod
from core.prognosis.datasets import STROKE_TARGET, read_sequences, read_table
from core.prognosis.sequence import check_length, encode_labels, predict_proba, saliency, scores, znormalise
from core.prognosis.tabular import Encoder
from core.registry import ModelSpec, get_spec

CPU = "cpu"  # small models: CPU keeps tensors out of CUDA for the page


def _encoder(spec: ModelSpec) -> Encoder:
    return Encoder.from_json(spec.preprocessing.encoder)


def _frame(values: dict[str, Any] | pd.DataFrame) -> pd.DataFrame:
    return values if isinstance(values, pd.DataFrame) else pd.DataFrame([values])


def check_form(name: str, values: dict[str, Any]) -> None:
    """Raise ``InputError`` naming the first field of a one-patient form that the model refuses
    (a page calls this on every change, so invalid input blocks the run before it starts)."""
    _encoder(get_spec(name)).schema.validate(_frame(values), "form")


# ---------------------------------------------------------------- survival

def survival_patient(name: str, values: dict[str, Any]) -> dict[str, Any]:
    """One patient's curve, band, median, 1/3/5-year probabilities, risk group, attributions."""
    spec = get_spec(name)
    encoder = _encoder(spec)
    clean = encoder.schema.validate(_frame(values), "patient form")
    reference = encoder.schema.validate(pd.DataFrame([dict(spec.preprocessing.reference)]), "reference")
    pred = surv_mod.predict_patient(get_model(name, CPU), encoder, clean, reference)
    cohort = spec.card.cohort
    group = int(surv_mod.risk_groups(np.array([pred.log_risk]), np.asarray(cohort["risk_cuts"]))[0])
    return {"prediction": pred, "group": group, "group_name": cohort["groups"][group], "cohort": cohort}


def survival_batch(name: str, table: pd.DataFrame | bytes | str | Path) -> pd.DataFrame:
    """Score many patients: risk, group, median survival and 1/3/5-year survival per row."""
    spec = get_spec(name)
    encoder = _encoder(spec)
    frame = table if isinstance(table, pd.DataFrame) else read_table(table)
    clean = encoder.schema.validate(frame, "CSV")
    out = surv_mod.predict_table(get_model(name, CPU), encoder, clean)
    times, cuts = out["times"], np.asarray(spec.card.cohort["risk_cuts"])
    result = frame[encoder.schema.names].copy()
    result["log_risk"] = np.round(out["log_risk"], 4)
    result["risk_group"] = [spec.card.cohort["groups"][g] for g in surv_mod.risk_groups(out["log_risk"], cuts)]
    medians = [surv_mod.median_time(times, s) for s in out["survival"]]
    result["median_survival_days"] = [round(m) if m is not None else None for m in medians]
    for year in surv_mod.SURVIVAL_YEARS:
        t = year * 365.25
        if t <= times[-1]:
            idx = np.searchsorted(times, t, side="right") - 1
            result[f"survival_{year}y"] = np.round(out["survival"][:, idx], 4)
            result[f"survival_{year}y_low"] = np.round(out["lower"][:, idx], 4)
            result[f"survival_{year}y_high"] = np.round(out["upper"][:, idx], 4)
    outputs = [c for c in result.columns if c not in encoder.schema.names]
    return result[outputs + encoder.schema.names]  # results first, inputs after


# ---------------------------------------------------------------- stroke risk

def stroke_rows(name: str, table: pd.DataFrame | bytes | str | Path) -> pd.DataFrame:
    """Risk and its bootstrap interval for each row (extra columns, e.g. ``stroke``, are kept)."""
    spec = get_spec(name)
    encoder = _encoder(spec)
    frame = table if isinstance(table, pd.DataFrame) else read_table(table)
    clean = encoder.schema.validate(frame, "CSV")
    out = risk_mod.predict(get_model(name, CPU), encoder.transform(clean))
    scored = pd.DataFrame({"stroke_risk": np.round(out["risk"], 4), "risk_low95": np.round(out["lower"], 4),
                           "risk_high95": np.round(out["upper"], 4)}, index=frame.index)
    return pd.concat([scored, frame], axis=1)  # results first: they are what the user looks for


def stroke_patient(name: str, values: dict[str, Any]) -> dict[str, Any]:
    """One person's risk, interval and per-field contributions (log-odds vs the training mean)."""
    spec = get_spec(name)
    encoder = _encoder(spec)
    clean = encoder.schema.validate(_frame(values), "form")
    x = encoder.transform(clean)
    model = get_model(name, CPU)
    out = risk_mod.predict(model, x)
    parts = risk_mod.contributions(model, encoder, x[0], np.asarray(spec.preprocessing.feature_mean))
    return {"risk": float(out["risk"][0]), "lower": float(out["lower"][0]), "upper": float(out["upper"][0]),
            "contributions": parts, "prevalence": spec.card.metrics["calibration_oof"]["prevalence"]}


def evaluate_risk(name: str, csv: str | Path | bytes) -> dict[str, Any]:
    frame = read_table(csv if isinstance(csv, bytes) else Path(csv), "CSV")
    missing = [c for c in _encoder(get_spec(name)).schema.names + [STROKE_TARGET] if c not in frame.columns]
    if missing:
        raise InputError(f"CSV lacks column(s): {', '.join(missing)}")
    target = frame[STROKE_TARGET].astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    if not target.isin(["0", "1"]).all():
        raise InputError("field 'stroke' must be 0 or 1")
    y = target.astype(int).to_numpy()
    if y.min() == y.max():
        raise InputError("field 'stroke' must contain both 0 and 1 to compute AUC")
    p = stroke_rows(name, frame)["stroke_risk"].to_numpy()
    s = risk_mod.scores_with_ci(y, p)
    return {"auc": s["auc"], "auprc": s["auprc"], "n": s["n"], "auc_ci95": s["auc_ci95"],
            "auprc_ci95": s["auprc_ci95"], "positives": s["positives"]}


# ---------------------------------------------------------------- sequences

def load_sequences(name: str, source: bytes | str | Path, filename: str = "") -> tuple[np.ndarray, np.ndarray | None]:
    spec = get_spec(name)
    x, labels = read_sequences(source, filename)
    return check_length(x, int(spec.preprocessing.length), name), labels


def sequence_predict(name: str, series: np.ndarray) -> dict[str, Any]:
    """Class probabilities of one series plus the saliency of the predicted class (gradient or occlusion)."""
    spec = get_spec(name)
    x = check_length(series, int(spec.preprocessing.length), name)[0]
    model = get_model(name, CPU)
    proba = predict_proba(model, x[None])[0]
    sal, cls = saliency(model, x)
    return {"probs": dict(zip(spec.labels, proba.astype(float).tolist())), "label": spec.labels[cls],
            "saliency": sal, "series": x,
            "saliency_method": "gradient" if getattr(model, "differentiable", True) else "occlusion"}


def sequence_batch(name: str, beats: np.ndarray) -> list[dict[str, Any]]:
    """Label and class probabilities of each beat ``(k, length)`` (one forward pass)."""
    spec = get_spec(name)
    x = check_length(beats, int(spec.preprocessing.length), name)
    proba = predict_proba(get_model(name, CPU), x)
    return [{"label": spec.labels[int(p.argmax())], "probs": dict(zip(spec.labels, p.astype(float).tolist()))}
            for p in proba]


def _row_keys(x: np.ndarray) -> list[bytes]:
    """One key per series as the model sees it (z-normalised, 3 decimals): a rescaled copy matches."""
    return [row.tobytes() for row in np.round(znormalise(np.asarray(x, np.float32)), 3).astype(np.float32)]


@lru_cache(maxsize=8)
def _training_keys(name: str) -> frozenset[bytes] | None:
    """The keys of the model's training series (its card's ``data.file`` in the shared data), or
    None when that file is not on this machine."""
    file = get_spec(name).card.data.get("file")
    path = shared_data_dir() / file if file else None
    if path is None or not path.is_file():
        return None
    x, _ = read_sequences(path)
    return frozenset(_row_keys(x))


def training_overlap(name: str, x: np.ndarray) -> int | None:
    """How many of the series ``x`` are in the model's own training data (None: unknown here)."""
    keys = _training_keys(name)
    return None if keys is None else sum(k in keys for k in _row_keys(x))


def sequence_report(name: str, data: bytes, filename: str = "") -> dict[str, Any]:
    """``evaluate_sequence`` for the page: accuracy, macro-F1, n, which data and split it is, and
    how many series are the model's own training data (figures on those are not a test)."""
    spec = get_spec(name)
    x, labels = load_sequences(name, data, filename)
    if labels is None:
        raise InputError("field 'label' is missing: the file has no class labels to evaluate against")
    y = encode_labels(labels, list(spec.preprocessing.label_codes))
    result: dict[str, Any] = scores(y, predict_proba(get_model(name, CPU), x))
    overlap = training_overlap(name, x)
    trained_on = spec.card.data.get("file", "its training file")
    if overlap is None:
        split = f"unknown: the model's training file ({trained_on}) is not on this machine to compare"
    elif overlap == len(x):
        split = f"the model's own training data ({trained_on}): not a test of the model"
    elif overlap:
        split = f"mixed: {overlap} of {len(x)} series are the model's training data ({trained_on})"
    else:
        split = f"not the model's training data (none of the {len(x)} series is in {trained_on})"
    return {**result, "data": filename or "upload", "split": split, "in_training_data": overlap}


def evaluate_sequence(name: str, data: str | Path | bytes) -> dict[str, Any]:
    spec = get_spec(name)
    x, labels = load_sequences(name, data if isinstance(data, bytes) else Path(data))
    if labels is None:
        raise InputError("field 'label' is missing: the file has no class labels to evaluate against")
    y = encode_labels(labels, list(spec.preprocessing.label_codes))
    return scores(y, predict_proba(get_model(name, CPU), x))
