"""Loaders for the prognosis data: bundled survival sets, the stroke CSV, UCR heartbeats.

Survival sets ship inside scikit-survival (offline). The stroke table and the ECG200 /
ECG5000 files are read from paths laid out like ``../shared/data/clinical``; uploads of
the same formats (and a CSV of rows) go through ``read_sequences``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import InputError
from core.prognosis.tabular import Field, Schema

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class SurvivalData:
    """Clinical features (raw, as in the data), follow-up time (days) and event flag."""

    name: str
    frame: pd.DataFrame
    time: np.ndarray
    event: np.ndarray
    schema: Schema
    description: str

    def __len__(self) -> int:
        return len(self.time)


GBSG2_SCHEMA = Schema((
    Field("age", "numeric", "Age", "years", 18, 100),
    Field("menostat", "categorical", "Menopausal status", levels=("Pre", "Post")),
    Field("tsize", "numeric", "Tumour size", "mm", 1, 200),
    Field("tgrade", "categorical", "Tumour grade", levels=("I", "II", "III")),
    Field("pnodes", "numeric", "Positive lymph nodes", "nodes", 0, 100, log=True),
    Field("progrec", "numeric", "Progesterone receptor", "fmol/l", 0, 5000, log=True),
    Field("estrec", "numeric", "Oestrogen receptor", "fmol/l", 0, 5000, log=True),
    Field("horTh", "categorical", "Hormonal therapy", levels=("no", "yes")),
))

VETERANS_SCHEMA = Schema((
    Field("Age_in_years", "numeric", "Age", "years", 18, 100),
    Field("Celltype", "categorical", "Cell type", levels=("squamous", "smallcell", "adeno", "large")),
    Field("Karnofsky_score", "numeric", "Karnofsky score", "points", 0, 100, step=10),
    Field("Months_from_Diagnosis", "numeric", "Months from diagnosis", "months", 0, 200, log=True),
    Field("Prior_therapy", "categorical", "Prior therapy", levels=("no", "yes")),
    Field("Treatment", "categorical", "Treatment", levels=("standard", "test")),
))

SURVIVAL_SETS = {
    "gbsg2": "German Breast Cancer Study Group 2: 686 patients, recurrence-free survival (days)",
    "veterans": "Veterans' Administration lung cancer trial: 137 patients, survival (days)",
}


def load_survival(name: str) -> SurvivalData:
    """A survival set bundled with scikit-survival: ``gbsg2`` or ``veterans``."""
    from sksurv import datasets

    if name == "gbsg2":
        x, y = datasets.load_gbsg2()
        time, event, schema = y["time"], y["cens"], GBSG2_SCHEMA
    elif name == "veterans":
        x, y = datasets.load_veterans_lung_cancer()
        time, event, schema = y["Survival_in_days"], y["Status"], VETERANS_SCHEMA
    else:
        raise InputError(f"unknown survival dataset {name!r}; valid: {', '.join(SURVIVAL_SETS)}")
    frame = pd.DataFrame({c: x[c].astype(str) if str(x[c].dtype) == "category" else x[c] for c in x.columns})
    return SurvivalData(name, frame.reset_index(drop=True), np.ascontiguousarray(time, float),
                        np.ascontiguousarray(event, bool),
                        schema, SURVIVAL_SETS[name])


STROKE_SCHEMA = Schema((
    Field("gender", "categorical", "Gender", levels=("Female", "Male", "Other")),
    Field("age", "numeric", "Age", "years", 0, 120, step=1.0),
    Field("hypertension", "categorical", "Hypertension", levels=("0", "1")),
    Field("heart_disease", "categorical", "Heart disease", levels=("0", "1")),
    Field("ever_married", "categorical", "Ever married", levels=("No", "Yes")),
    Field("work_type", "categorical", "Work type",
          levels=("Private", "Self-employed", "Govt_job", "children", "Never_worked")),
    Field("Residence_type", "categorical", "Residence", levels=("Urban", "Rural")),
    Field("avg_glucose_level", "numeric", "Average glucose", "mg/dL", 30, 600, step=1.0),
    Field("bmi", "numeric", "BMI", "kg/m²", 8, 100, optional=True, step=0.1),
    Field("smoking_status", "categorical", "Smoking",
          levels=("never smoked", "formerly smoked", "smokes", "Unknown")),
))
STROKE_TARGET = "stroke"


def read_table(source: str | Path | bytes, where: str = "CSV") -> pd.DataFrame:
    """A CSV from a path or uploaded bytes; ``N/A`` stays text for the schema to judge."""
    try:
        handle = io.BytesIO(source) if isinstance(source, bytes) else source
        frame = pd.read_csv(handle, keep_default_na=False, dtype=str)
    except FileNotFoundError:
        raise InputError(f"{where} not found: {source}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{where} cannot be read as CSV: {str(exc).splitlines()[0]}") from None
    if frame.empty:
        raise InputError(f"{where} has no rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def load_stroke(source: str | Path | bytes, require_target: bool = True) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Validated stroke rows and, when present (or required), the 0/1 target."""
    frame = read_table(source, "stroke CSV")
    clean = STROKE_SCHEMA.validate(frame, "stroke CSV")
    if STROKE_TARGET not in frame.columns:
        if require_target:
            raise InputError(f"stroke CSV lacks column(s): {STROKE_TARGET}")
        return clean, None
    target = frame[STROKE_TARGET].astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    bad = ~target.isin(["0", "1"])
    if bad.any():
        raise InputError(f"field 'stroke' must be 0 or 1 (row {int(np.flatnonzero(bad)[0]) + 1})")
    return clean, target.astype(int).to_numpy()


def read_sequences(source: str | Path | bytes, name: str = "") -> tuple[np.ndarray, np.ndarray | None]:
    """Series from a UCR ``.ts`` file, a UCR whitespace ``.txt`` (label first) or a CSV of rows.

    Returns ``(X (n, length) float32, labels (n,) str or None)``. The format is sniffed from
    the content: ``@data`` means ``.ts``; commas mean CSV (a ``label`` column or a first
    header row is recognised); otherwise whitespace columns with the label first.
    """
    try:
        text = Path(source).read_text() if not isinstance(source, bytes) else source.decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"sequence file not found: {source}") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise InputError(f"sequence file {name or source} cannot be read as text: {exc}") from None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise InputError("sequence file is empty")
    try:
        if any(ln.lower().startswith("@data") for ln in lines):
            return _read_ts(lines)
        if "," in lines[0] or (len(lines) > 1 and "," in lines[1]):
            return _read_csv(text)
        return _read_txt(lines)
    except ValueError as exc:
        raise InputError(f"sequence file {name or ''} has a non-numeric value: {exc}".replace("  ", " ")) from None


def _read_ts(lines: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
    start = next(i for i, ln in enumerate(lines) if ln.lower().startswith("@data")) + 1
    has_labels = any(ln.lower().startswith("@classlabel true") for ln in lines[:start])
    rows, labels = [], []
    for ln in lines[start:]:
        if ln.startswith("#"):
            continue
        if has_labels:
            values, _, label = ln.rpartition(":")
            labels.append(label.strip())
        else:
            values = ln
        rows.append([float(v) for v in values.split(",")])
    return _stack(rows), (np.asarray(labels) if has_labels else None)


def _read_txt(lines: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
    rows = [[float(v) for v in ln.split()] for ln in lines]
    data = _stack(rows)
    labels = np.asarray([_label_text(v) for v in data[:, 0]])
    return data[:, 1:], labels


def _read_csv(text: str) -> tuple[np.ndarray, np.ndarray | None]:
    frame = pd.read_csv(io.StringIO(text), header=None, dtype=str)
    first = frame.iloc[0].astype(str).str.strip()
    header = not all(_is_number(v) for v in first if v not in ("", "nan"))
    if header:
        frame.columns = first
        frame = frame.iloc[1:].reset_index(drop=True)
    labels = None
    label_cols = [c for c in frame.columns if str(c).strip().lower() in ("label", "class", "target", "y")]
    if label_cols:
        labels = np.asarray([_label_text(float(v)) if _is_number(v) else str(v).strip() for v in frame[label_cols[0]]])
        frame = frame.drop(columns=label_cols)
    frame = frame.dropna(axis=1, how="all")
    rows = [[float(v) for v in row] for row in frame.to_numpy(str)]
    return _stack(rows), labels


def _stack(rows: list[list[float]]) -> np.ndarray:
    lengths = {len(r) for r in rows}
    if len(lengths) != 1:
        raise InputError(f"sequence file has rows of different lengths: {sorted(lengths)}")
    data = np.asarray(rows, dtype=np.float32)
    if not np.isfinite(data).all():
        raise InputError("sequence file has missing or non-finite values")
    return data


def _is_number(value: str) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def _label_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
