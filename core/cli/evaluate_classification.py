"""``python -m core evaluate classification``: AUC and accuracy on a labelled folder or npz."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from core.classification.batch import expand_sources, read_entry
from core.classification.service import evaluate, model
from core.errors import InputError

HELP = "AUC / accuracy of a classifier on a folder (one subfolder per class) or an npz split"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--folder", help="folder with one subfolder per class (NORMAL, PNEUMONIA; or 0, 1)")
    source.add_argument("--npz", help="npz holding <split>_images and <split>_labels (data set coding)")
    parser.add_argument("--split", default="test", help="split name inside the npz (default test)")
    parser.add_argument("--batch-size", type=int, default=64)


def _folder(root: Path, spec) -> tuple[list[Any], np.ndarray]:
    if not root.is_dir():
        raise InputError(f"{root}: no such folder")
    dataset_of_class = list(spec.card.dataset_label_of_class)
    names = {str(n).lower(): dataset_of_class[i] for i, n in enumerate(spec.card.folder_of_class)}
    names.update({str(v): v for v in dataset_of_class})  # subfolders may be named by the data set label
    images, labels = [], []
    subfolders = [d for d in sorted(root.iterdir()) if d.is_dir()]
    unknown = [d.name for d in subfolders if d.name.lower() not in names]
    if not subfolders or unknown:
        raise InputError(
            f"{root}: expected subfolders named {', '.join(sorted(set(names)))}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    for sub in subfolders:
        for entry in expand_sources([sub]):
            images.append(read_entry(entry))
            labels.append(names[sub.name.lower()])
    if not images:
        raise InputError(f"{root}: no images found")
    return images, np.array(labels)


def _npz(path: Path, split: str) -> tuple[list[Any], np.ndarray]:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        data = np.load(path)
    except Exception as exc:
        raise InputError(f"{path}: not a readable npz ({type(exc).__name__})") from None
    keys = (f"{split}_images", f"{split}_labels")
    missing = [k for k in keys if k not in data.files]
    if missing:
        raise InputError(f"{path.name} lacks {', '.join(missing)} (has: {', '.join(data.files)})")
    return list(data[keys[0]]), np.asarray(data[keys[1]]).ravel()


def run(args: argparse.Namespace) -> dict[str, Any]:
    spec = model(args.model)
    images, labels = _folder(Path(args.folder), spec) if args.folder else _npz(Path(args.npz), args.split)
    return evaluate(args.model, images, labels, batch_size=max(1, args.batch_size))
