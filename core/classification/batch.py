"""Batch scoring: many files, folders or zips -> one row per image.

Each file is read with ``core.imaging.load`` (content-sniffed: DICOM, PNG, JPEG, ...); a file
that cannot be read becomes a row with an ``error`` instead of stopping the batch. Images are
scored in batches of ``batch_size`` through the card's preprocessing; each row carries the
calibrated probability, the label in the data set's own coding (``label``), its name, and
the out-of-distribution flag. TTA intervals are optional (16x the compute).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch

from core.cache import device_of, get_model
from core.classification import metrics, ood, uncertainty
from core.classification.calibration import calibrated_probs
from core.classification.inference import (
    batch_probs,
    classification_spec,
    dataset_label,
    model_class_of_dataset_label,
    prepare,
    threshold_of,
)
from core.errors import InputError, MedLensError
from core.imaging import load, sniff
from core.imaging.sources import Entry, to_entries, zip_entries


def expand_sources(sources: Iterable[Any]) -> list[Any]:
    """Paths (files, folders, zips), ``(name, bytes)`` pairs or uploads -> one entry per file."""
    out: list[Entry] = []
    for source in sources:
        if isinstance(source, (str, Path)) and not Path(source).exists():
            raise InputError(f"{source}: no such file or folder")
        if hasattr(source, "read") and hasattr(source, "name"):  # an upload
            if hasattr(source, "seek"):
                source.seek(0)
            source = (source.name, source.read())
        if isinstance(source, tuple) and len(source) == 2 and isinstance(source[1], (bytes, bytearray)):
            entries = [Entry(name=str(source[0]), data=bytes(source[1]))]
        else:
            entries, _ = to_entries(source)
            if isinstance(source, (str, Path)) and Path(source).is_dir():
                entries = [e for e in entries if not _is_sidecar(e.name)]
        for entry in entries:
            if sniff.sniff(entry.head(8)) == sniff.ZIP:
                out.extend(e for e in zip_entries(entry.read(), entry.name) if not _is_sidecar(e.name))
            else:
                out.append(entry)
    return out


SIDECAR_SUFFIXES = (".csv", ".json", ".txt", ".md")


def _is_sidecar(name: str) -> bool:
    """A table or note that travels with a folder or zip of images (e.g. ``labels.csv``): skipped
    there; named on its own it is still read, and refused with a reason."""
    return name.lower().endswith(SIDECAR_SUFFIXES)


def read_entry(entry: Any) -> Any:
    """One entry -> ``MedImage`` (raises InputError with the file's name)."""
    return load(entry.read(), entry.name)


@dataclass
class BatchResult:
    rows: list[dict[str, Any]]
    threshold: float
    positive_label: str

    def frame(self):
        import pandas as pd

        return pd.DataFrame(self.rows)


def score(
    sources: Iterable[Any] | list[Any],
    name: str,
    batch_size: int = 64,
    tta: bool = False,
    device: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Score every image in ``sources`` (see ``expand_sources``) with model ``name``."""
    spec = classification_spec(name)
    entries = expand_sources(sources)
    if not entries:
        raise InputError("no files were given")
    model = get_model(name, device)
    dev = device_of(model)
    threshold = threshold_of(spec)
    labels = list(spec.labels) or ["negative", "positive"]
    rows: list[dict[str, Any]] = []
    pending: list[tuple[str, Any]] = []

    def flush() -> None:
        if not pending:
            return
        batch, grays = prepare([img for _, img in pending], spec)
        batch = batch.to(dev)
        with torch.no_grad():
            probs = calibrated_probs(model(batch), spec)
        flags = ood.flag_many(model, batch, np.array([g.colourfulness for g in grays]), spec)
        spreads = uncertainty.intervals(uncertainty.tta_probs(model, batch, spec), spec) if tta else None
        for i, ((file_name, _), prob) in enumerate(zip(pending, probs)):
            positive = bool(prob >= threshold)
            row = {
                "file": file_name,
                "label": dataset_label(spec, positive),
                "prediction": labels[1] if positive else labels[0],
                "prob": round(float(prob), 4),
                "ood": bool(flags["flag"][i]),
                "error": "",
            }
            if spreads is not None:
                row["prob_low"], row["prob_high"] = round(spreads[i].low, 4), round(spreads[i].high, 4)
                row["low_confidence"] = uncertainty.is_low_confidence(float(prob), spreads[i], spec)
            rows.append(row)
        pending.clear()

    for index, entry in enumerate(entries):
        try:
            pending.append((entry.name, read_entry(entry)))
        except MedLensError as exc:
            rows.append({"file": entry.name, "label": None, "prediction": "", "prob": None, "ood": None, "error": str(exc)})
        except Exception as exc:  # a broken file must not stop the batch
            rows.append({"file": entry.name, "label": None, "prediction": "", "prob": None, "ood": None,
                         "error": f"cannot read ({type(exc).__name__})"})
        if len(pending) >= batch_size:
            flush()
        if progress:
            progress(index + 1, len(entries))
    flush()
    return BatchResult(rows, threshold, labels[1])


def read_truth_csv(data: bytes | str | Path) -> dict[str, int]:
    """A CSV of true labels (columns ``file`` and ``label``, data set coding) -> {file: label}."""
    import io

    import pandas as pd

    try:
        if isinstance(data, (bytes, bytearray)):
            table = pd.read_csv(io.BytesIO(data))
        else:
            table = pd.read_csv(data)
    except Exception as exc:
        raise InputError(f"the labels CSV cannot be read ({type(exc).__name__})") from None
    columns = {c.lower().strip(): c for c in table.columns}
    if "file" not in columns or "label" not in columns:
        raise InputError(f"the labels CSV needs columns 'file' and 'label' (found: {', '.join(map(str, table.columns))})")
    try:
        labels = table[columns["label"]].astype(int)
    except (TypeError, ValueError):
        raise InputError("the labels CSV's 'label' column must hold integers (the data set's coding)") from None
    return {Path(str(f)).name: int(v) for f, v in zip(table[columns["file"]], labels)}


def join_truth(result: BatchResult, truth: dict[str, int], name: str) -> dict[str, np.ndarray]:
    """Model-class truth (1 = positive) and probabilities for the rows that have a true label."""
    spec = classification_spec(name)
    probs, labels = [], []
    for row in result.rows:
        key = Path(str(row["file"])).name
        if row.get("prob") is None or key not in truth:
            continue
        probs.append(row["prob"])
        labels.append(truth[key])
    if not labels:
        raise InputError("no scored file matches a file name in the labels CSV")
    return {"prob": np.array(probs, float), "truth": model_class_of_dataset_label(spec, np.array(labels))}


def evaluate_arrays(name: str, images: list[Any], dataset_labels: np.ndarray, batch_size: int = 64,
                    device: str | None = None) -> dict[str, Any]:
    """AUC / accuracy (at the card's threshold) of model ``name`` on in-memory images."""
    spec = classification_spec(name)
    truth = model_class_of_dataset_label(spec, dataset_labels)
    probs = batch_probs(name, images, batch_size, device)
    threshold = threshold_of(spec)
    c = metrics.confusion(truth, probs, threshold)
    return {
        "model": name,
        "auc": round(metrics.auc(truth, probs), 4),
        "acc": round(metrics.accuracy(truth, probs, threshold), 4),
        "n": int(len(truth)),
        "threshold": round(threshold, 4),
        "sensitivity": round(c["tp"] / max(1, c["tp"] + c["fn"]), 4),
        "specificity": round(c["tn"] / max(1, c["tn"] + c["fp"]), 4),
    }
