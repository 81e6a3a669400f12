"""Batch mode: one pipeline over many files, results zipped, failures listed (never raised)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from core.errors import InputError
from core.export.image import export, zip_bytes
from core.imaging import load
from core.preprocess.pipeline import Pipeline


def run_batch(files: list[tuple[str, bytes]], pipeline: Pipeline, fmt: str = "png",
              progress: Callable[[int, int, str], None] | None = None,
              deidentify: bool = False) -> tuple[bytes, list[dict[str, Any]]]:
    """(zip bytes, report rows ``{"file", "status", "output"|"reason"}``) for every file.

    PNG exports the middle frame of each image; NIfTI and DICOM the whole image. ``deidentify``
    (DICOM): PS3.15 Basic Profile on every output, named ``imageNNNN`` instead of by the input.
    """
    outputs: list[tuple[str, bytes]] = []
    report: list[dict[str, Any]] = []
    for n, (name, data) in enumerate(files):
        try:
            image = pipeline.apply(load(data, name=name))
            payload, ext = export(image, fmt, frame=image.n_frames // 2, deidentify=deidentify)
            out_name = f"image{n + 1:04d}{ext}" if deidentify else f"{PurePosixPath(name).stem}{ext}"
            outputs.append((out_name, payload))
            report.append({"file": name, "status": "ok", "output": out_name})
        except InputError as exc:
            report.append({"file": name, "status": "skipped", "reason": str(exc)})
        except Exception as exc:  # one bad file never stops the batch
            report.append({"file": name, "status": "failed", "reason": f"{type(exc).__name__}: {exc}"})
        if progress:
            progress(n + 1, len(files), name)
    outputs.append(("pipeline.json", pipeline.to_json().encode()))
    return zip_bytes(outputs), report
