"""Synthetic samples out: a zip of PNGs + labels.csv, a folder, or an npz like the shared files.

Zip / folder layout::

    images/00000_normal.png ...   8-bit grayscale PNG, one per sample
    labels.csv                    file,label,label_name,model,seed,truncation[,nearest_real_distance[,near_copy]]

The npz holds ``train_images`` ``(N, H, W)`` uint8 and ``train_labels`` ``(N, 1)`` uint8 in the
data set's label coding, the layout of ``../shared/data/medmnist/*.npz``, so it drops into code
that reads those files.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from typing import TYPE_CHECKING

from core.errors import InputError

if TYPE_CHECKING:  # annotations only: exports sit below the task that makes the samples
    from core.synthesis.generate import Samples


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "class"


def file_names(samples: Samples) -> list[str]:
    return [f"images/{i:05d}_{_safe(samples.label_names[int(v)])}.png" for i, v in enumerate(samples.labels)]


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def near_copy_flags(distances: np.ndarray, threshold: float | None) -> np.ndarray:
    """True where a sample is closer to a training image than the card's near-copy threshold
    (the gallery's "near-copy" mark and the zip's ``near_copy`` column come from here)."""
    distances = np.asarray(distances, dtype=float)
    if threshold is None:
        return np.zeros(distances.shape, dtype=bool)
    return distances < float(threshold)


def labels_csv(samples: Samples, distances: np.ndarray | None = None, threshold: float | None = None) -> str:
    """One row per sample: file, label, model, seed, truncation [, distance [, near_copy]]."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["file", "label", "label_name", "model", "seed", "truncation"]
    flags = None
    if distances is not None:
        header.append("nearest_real_distance")
        if threshold is not None:
            header.append("near_copy")
            flags = near_copy_flags(distances, threshold)
    writer.writerow(header)
    for i, (name, value) in enumerate(zip(file_names(samples), samples.labels)):
        row = [name, int(value), samples.label_names[int(value)], samples.model, samples.seed,
               "" if samples.truncation is None else samples.truncation]
        if distances is not None:
            row.append(f"{float(distances[i]):.5f}")
        if flags is not None:
            row.append("yes" if flags[i] else "no")
        writer.writerow(row)
    return out.getvalue()


def to_zip(samples: Samples, distances: np.ndarray | None = None, threshold: float | None = None) -> bytes:
    """The samples as a zip (PNGs + labels.csv), in memory: every image and caption the gallery shows."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, image in zip(file_names(samples), samples.images):
            archive.writestr(name, png_bytes(image))
        archive.writestr("labels.csv", labels_csv(samples, distances, threshold))
    return buffer.getvalue()


def to_npz(samples: Samples) -> bytes:
    """The samples as an npz with ``train_images`` / ``train_labels`` (shared medmnist layout)."""
    if samples.labels.max(initial=0) > 255:
        raise InputError("labels above 255 do not fit the uint8 layout of the shared npz files")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, train_images=np.asarray(samples.images, np.uint8),
                        train_labels=np.asarray(samples.labels, np.uint8).reshape(-1, 1))
    return buffer.getvalue()


def write(samples: Samples, out: Path, distances: np.ndarray | None = None) -> Path:
    """Write to ``out``: a ``.zip`` file, an ``.npz`` file, or else a folder (PNGs + labels.csv)."""
    out = Path(out)
    suffix = out.suffix.lower()
    try:
        if suffix == ".zip":
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(to_zip(samples, distances))
        elif suffix == ".npz":
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(to_npz(samples))
        else:
            if out.exists() and not out.is_dir():
                raise InputError(f"{out} exists and is not a folder")
            (out / "images").mkdir(parents=True, exist_ok=True)
            for name, image in zip(file_names(samples), samples.images):
                (out / name).write_bytes(png_bytes(image))
            (out / "labels.csv").write_text(labels_csv(samples, distances))
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror or exc}") from None
    return out
