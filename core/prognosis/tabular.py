"""Clinical table schemas: field validation and feature encoding, kept as JSON in cards.

A ``Schema`` lists each input field (numeric with unit and accepted range, or categorical
with its levels). ``validate`` turns a DataFrame into clean typed columns or raises an
``InputError`` that names the field; ``Encoder`` maps clean columns to a float matrix
(log1p on skewed numbers, standardisation, one-hot categories) with parameters that are
plain JSON, so a model never needs pickles to read its input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from core.errors import InputError


@dataclass(frozen=True)
class Field:
    """One input field.

    Args:
        name: column name in the data.
        kind: ``numeric`` or ``categorical``.
        label: human label for forms.
        unit: unit of a numeric field ("" when none).
        min, max: accepted range of a numeric field (inclusive).
        levels: accepted values of a categorical field (first is the reference level).
        log: encode a numeric field as ``log1p`` (skewed counts and concentrations).
        optional: a numeric field that may be missing (imputed, with a missing indicator).
        step: form step for a numeric field.
    """

    name: str
    kind: str
    label: str = ""
    unit: str = ""
    min: float | None = None
    max: float | None = None
    levels: tuple[str, ...] = ()
    log: bool = False
    optional: bool = False
    step: float = 1.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["levels"] = list(self.levels)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Field":
        data = dict(data)
        data["levels"] = tuple(str(v) for v in data.get("levels", ()))
        return cls(**data)


@dataclass(frozen=True)
class Schema:
    fields: tuple[Field, ...]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def to_json(self) -> list[dict[str, Any]]:
        return [f.to_json() for f in self.fields]

    @classmethod
    def from_json(cls, data: Sequence[dict[str, Any]]) -> "Schema":
        return cls(tuple(Field.from_json(d) for d in data))

    def validate(self, frame: pd.DataFrame, where: str = "input") -> pd.DataFrame:
        """Check columns, types, levels and ranges; a clean copy of the schema's columns.

        Raises:
            InputError: naming the first offending field (and row for tables).
        """
        missing = [n for n in self.names if n not in frame.columns]
        if missing:
            raise InputError(f"{where} lacks column(s): {', '.join(missing)}")
        clean = pd.DataFrame(index=frame.index)
        for f in self.fields:
            column = frame[f.name]
            if f.kind == "numeric":
                text = column.astype(str).str.strip()
                blank = column.isna() | text.isin(["", "N/A", "NA", "nan", "NaN", "None"])
                values = pd.to_numeric(column.where(~blank), errors="coerce")
                bad = values.isna() & ~blank
                if bad.any():
                    row = _row(frame, bad)
                    raise InputError(f"field '{f.name}' must be a number ({row}: {column[bad].iloc[0]!r})")
                if blank.any() and not f.optional:
                    raise InputError(f"field '{f.name}' is missing ({_row(frame, blank)})")
                out = (values < f.min) if f.min is not None else pd.Series(False, index=values.index)
                if f.max is not None:
                    out |= values > f.max
                if out.any():
                    raise InputError(
                        f"field '{f.name}' is out of range [{f.min:g}, {f.max:g}] {f.unit}".rstrip()
                        + f" ({_row(frame, out)}: {values[out].iloc[0]:g})"
                    )
                clean[f.name] = values.astype(float)
            else:
                values = column.astype(str).str.strip()
                values = values.str.replace(r"\.0$", "", regex=True)  # 1.0 -> "1" for 0/1 codes
                bad = ~values.isin(f.levels)
                if bad.any():
                    raise InputError(
                        f"field '{f.name}' must be one of {', '.join(f.levels)} "
                        f"({_row(frame, bad)}: {column[bad].iloc[0]!r})"
                    )
                clean[f.name] = values
        return clean


def _row(frame: pd.DataFrame, mask: pd.Series) -> str:
    if len(frame) == 1:
        return "value"
    position = int(np.flatnonzero(mask.to_numpy())[0])
    return f"row {position + 1}"


@dataclass
class Encoder:
    """Feature encoding fitted on training rows; ``state`` is JSON.

    Numeric: optional ``log1p``, missing -> training median (+ a ``<name>_missing`` 0/1
    column when the field is optional), then standardised. Categorical: one-hot, the
    first level dropped as reference.
    """

    schema: Schema
    state: dict[str, Any] = field(default_factory=dict)

    def fit(self, clean: pd.DataFrame) -> "Encoder":
        state: dict[str, Any] = {}
        for f in self.schema.fields:
            if f.kind == "numeric":
                v = clean[f.name].to_numpy(float)
                v = np.log1p(v) if f.log else v
                median = float(np.nanmedian(v))
                filled = np.where(np.isnan(v), median, v)
                state[f.name] = {"median": median, "mean": float(filled.mean()), "std": float(filled.std() or 1.0)}
        self.state = state
        return self

    @property
    def feature_names(self) -> list[str]:
        names: list[str] = []
        for f in self.schema.fields:
            if f.kind == "numeric":
                names.append(f.name)
                if f.optional:
                    names.append(f"{f.name}_missing")
            else:
                names += [f"{f.name}={level}" for level in f.levels[1:]]
        return names

    def feature_fields(self) -> list[str]:
        """For each encoded column, the input field it comes from (for attributions)."""
        owners: list[str] = []
        for f in self.schema.fields:
            if f.kind == "numeric":
                owners += [f.name] * (2 if f.optional else 1)
            else:
                owners += [f.name] * (len(f.levels) - 1)
        return owners

    def transform(self, clean: pd.DataFrame) -> np.ndarray:
        columns: list[np.ndarray] = []
        for f in self.schema.fields:
            if f.kind == "numeric":
                s = self.state[f.name]
                v = clean[f.name].to_numpy(float)
                v = np.log1p(v) if f.log else v
                missing = np.isnan(v)
                v = np.where(missing, s["median"], v)
                columns.append((v - s["mean"]) / s["std"])
                if f.optional:
                    columns.append(missing.astype(float))
            else:
                values = clean[f.name].to_numpy(str)
                columns += [(values == level).astype(float) for level in f.levels[1:]]
        return np.stack(columns, axis=1).astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        return {"schema": self.schema.to_json(), "state": self.state}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Encoder":
        return cls(Schema.from_json(data["schema"]), dict(data["state"]))
