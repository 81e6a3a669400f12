"""Classification data: the training recipes and the data they read from ``../shared/data``.

- ``pneumonia-cxr``: ``cxr_pneumonia/train`` with a validation split carved **by patient**
  (the patient key from the file name, see that folder's README), stratified by class;
- ``breast-us`` (three ResNets from scratch) and ``breast-us-lite0`` (the ImageNet EfficientNet-Lite0
  encoder, fine-tuned): BreastMNIST official train / val (``medmnist/breastmnist_28.npz``); the
  model's positive class is malignant = ``1 - label``.
Every choice of a recipe (``RECIPES``) is written to the card of the model it trains.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from core.classification.inference import resize01, to_gray01
from core.paths import ensure_private_dir

PATIENT_PATTERNS = [
    (re.compile(r"^(NORMAL2-IM-\d+)-"), 1),
    (re.compile(r"^(IM-\d+)-"), 1),
    (re.compile(r"^(person\d+)_"), 1),
]

RECIPES: dict[str, dict[str, Any]] = {
    "breast-us": {
        "data": "breastmnist",
        "size": 28,
        "architecture": "classifier_ensemble",
        "arch_args": {
            "n_members": 3, "in_channels": 1, "num_classes": 2, "widths": [32, 64, 128, 256],
            "blocks": [1, 1, 1, 1], "stem_stride": 1, "max_pool": False, "small_stem": True, "dropout": 0.3,
        },
        "epochs": 80, "batch_size": 32, "lr": 2e-3, "weight_decay": 5e-4, "label_smoothing": 0.05,
        "ema_decay": 0.98, "select": "last",
        "augment": {"rotate_deg": 15, "scale": 0.15, "aspect": 0.1, "translate": 0.08, "hflip": True,
                    "gamma": 0.3, "contrast": 0.2, "brightness": 0.08, "noise": 0.03},
        "hflip_invariant": True,
        "mean": 0.5, "std": 0.25,
    },
    "breast-us-lite0": {
        "data": "breastmnist",
        "size": 28,
        "architecture": "classifier_ensemble",
        "arch_args": {"n_members": 3, "member": "lite0_classifier", "num_classes": 2, "size": 112, "dropout": 0.3},
        "pretrained": "efficientnet-lite0", "candidate_for": "breast-us", "weights": "float16",
        "epochs": 20, "batch_size": 32, "lr": 1e-3, "encoder_lr": 3e-4, "weight_decay": 1e-4, "label_smoothing": 0.0,
        "ema_decay": 0.9, "select": "last",
        "augment": {"rotate_deg": 15, "scale": 0.15, "aspect": 0.1, "translate": 0.08, "hflip": True,
                    "gamma": 0.3, "contrast": 0.2, "brightness": 0.08, "noise": 0.03},
        "hflip_invariant": True,
        "mean": 0.5, "std": 0.5,  # (x - .5) / .5: the Lite0 encoder's own ImageNet input scaling
    },
    "pneumonia-cxr": {
        "data": "cxr",
        "size": 128,
        "architecture": "classifier_resnet",
        "arch_args": {
            "in_channels": 1, "num_classes": 2, "widths": [32, 64, 128, 256], "blocks": [1, 1, 1, 1],
            "stem_stride": 2, "max_pool": True, "small_stem": False, "dropout": 0.2,
        },
        "epochs": 60, "batch_size": 32, "lr": 2e-3, "weight_decay": 5e-4, "label_smoothing": 0.05,
        "ema_decay": 0.995, "select": "best", "val_fraction": 0.15,
        "augment": {"rotate_deg": 10, "scale": 0.15, "aspect": 0.15, "translate": 0.08, "hflip": False,
                    "gamma": 0.35, "contrast": 0.25, "brightness": 0.08, "lowres_p": 0.2, "noise": 0.03},
        "hflip_invariant": False,
        "mean": 0.5, "std": 0.25,
    },
}


def cxr_patient_key(file_name: str) -> str:
    """Patient key of a Kermany chest X-ray file name (README of cxr_pneumonia)."""
    stem = Path(file_name).name
    for pattern, group in PATIENT_PATTERNS:
        match = pattern.match(stem)
        if match:
            return match.group(group)
    return Path(stem).stem  # unknown pattern: the image is its own patient


def patient_split(keys: list[str], labels: np.ndarray, val_fraction: float, seed: int) -> np.ndarray:
    """Boolean validation mask: whole patients, ``val_fraction`` of the patients of each class."""
    rng = np.random.default_rng(seed)
    keys_arr = np.asarray(keys)
    val = np.zeros(len(keys), dtype=bool)
    for cls in np.unique(labels):
        patients = np.unique(keys_arr[labels == cls])
        chosen = rng.choice(patients, size=int(round(val_fraction * len(patients))), replace=False)
        val |= np.isin(keys_arr, chosen) & (labels == cls)
    return val


def load_image_file(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("L"))


def cxr_files(root: Path) -> tuple[list[Path], np.ndarray]:
    """The images of ``root/{NORMAL,PNEUMONIA}`` in training order, and their labels (1 = pneumonia)."""
    files = sorted((root / "NORMAL").glob("*.jpeg")) + sorted((root / "PNEUMONIA").glob("*.jpeg"))
    return files, np.array([int(f.parent.name == "PNEUMONIA") for f in files])


def cxr_validation_files(root: Path, name: str = "pneumonia-cxr", seed: int = 0) -> tuple[list[Path], np.ndarray]:
    """The validation images (and labels) of a recipe's patient split, without loading pixels."""
    files, labels = cxr_files(root)
    val = patient_split([cxr_patient_key(f.name) for f in files], labels, RECIPES[name]["val_fraction"], seed)
    return [f for f, v in zip(files, val) if v], labels[val]


def load_cxr(root: Path, size: int, cache: Path | None = None) -> dict[str, Any]:
    """All images of ``root/{NORMAL,PNEUMONIA}`` as [0, 1] arrays at ``size`` (cached as .npy)."""
    files, labels = cxr_files(root)
    cache_file = cache / f"cxr_{size}.npy" if cache else None
    if cache_file and cache_file.exists():
        images = np.load(cache_file)
    else:
        images = np.stack([resize01(to_gray01(load_image_file(f)).pixels, (size, size)) for f in files]).astype(np.float32)
        if cache_file:
            ensure_private_dir(cache_file.parent)
            np.save(cache_file, images)
    return {"images": images, "labels": labels, "files": [f"{f.parent.name}/{f.name}" for f in files]}


def load_breast(npz: Path, size: int) -> dict[str, Any]:
    data = np.load(npz)
    out = {}
    for split in ("train", "val"):
        imgs = np.stack([resize01(to_gray01(im).pixels, (size, size)) for im in data[f"{split}_images"]])
        out[split] = (imgs.astype(np.float32), 1 - data[f"{split}_labels"].ravel().astype(int))
    return out


def load_data(recipe: dict[str, Any], shared: Path, workdir: Path, seed: int) -> dict[str, Any]:
    """Train/val arrays (N, S, S) in [0, 1] and model-class labels, plus split facts."""
    size = recipe["size"]
    if recipe["data"] == "breastmnist":
        npz = shared / "medmnist" / "breastmnist_28.npz"
        parts = load_breast(npz, size)
        return {
            "train": parts["train"], "val": parts["val"],
            "split": {"kind": "official BreastMNIST train / val", "n_train": len(parts["train"][1]),
                      "n_val": len(parts["val"][1])},
            "data": {"source": "medmnist/breastmnist_28.npz (MedMNIST v2, 28 px)", "positive": "malignant = 1 - label"},
        }
    root = shared / "cxr_pneumonia" / "train"
    cxr = load_cxr(root, size, workdir)
    keys = [cxr_patient_key(f) for f in cxr["files"]]
    val = patient_split(keys, cxr["labels"], recipe["val_fraction"], seed)
    n_pat_val = len(set(np.asarray(keys)[val]))
    return {
        "train": (cxr["images"][~val], cxr["labels"][~val]),
        "val": (cxr["images"][val], cxr["labels"][val]),
        "val_files": [f for f, v in zip(cxr["files"], val) if v],
        "split": {
            "kind": f"by patient (key from file name), {recipe['val_fraction']:.0%} of each class's patients, seed {seed}",
            "n_train": int((~val).sum()), "n_val": int(val.sum()), "n_val_patients": n_pat_val,
            "n_patients": len(set(keys)), "val_class_counts": [int(((cxr['labels'] == c) & val).sum()) for c in (0, 1)],
        },
        "data": {"source": "cxr_pneumonia/train (Kermany 2018, 224 px squashed)", "positive": "PNEUMONIA"},
    }
