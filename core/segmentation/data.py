"""Segmentation data: the training recipes, the seeded validation split, case loading, augmentation.

One recipe per model name (``RECIPES``): which data sets and mask folders of ``../shared/data/seg``,
input size and channels, network width, augmentation and schedule. The validation split is carved
per data set with a fixed seed (by patient where the data set gives patients) and written to the
card, so ``evaluate`` can rebuild it.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from monai.transforms import (
    Compose,
    Rand2DElasticd,
    RandAdjustContrastd,
    RandAffined,
    RandFlipd,
    RandGaussianNoised,
    RandRotate90d,
    RandScaleIntensityd,
    RandShiftIntensityd,
)
from PIL import Image

SEG_DATA_README = "../shared/data/seg/README.md"


@dataclass
class Recipe:
    """What to train for one model name."""

    name: str
    description: str
    sources: list[tuple[str, str]]  # (data set folder, mask folder)
    channels: int
    size: int
    postprocess: str
    postprocess_options: dict[str, Any] = field(default_factory=dict)
    percentiles: tuple[float, float] = (0.5, 99.5)
    net: dict[str, Any] = field(default_factory=dict)
    augment: str = "cxr"
    epochs: int = 100
    patience: int = 20
    batch_size: int = 8
    lr: float = 2e-3
    init_from: str | None = None
    labels: tuple[str, ...] = ("background", "foreground")
    intended_use: str = ""
    modality: str = ""  # DICOM Modality the model is meant for
    body_part: str = ""


RECIPES: dict[str, Recipe] = {
    "lungs-cxr": Recipe(
        name="lungs-cxr",
        description="Lung fields (left + right) on frontal chest X-ray; MONAI residual U-Net trained from scratch.",
        sources=[("v7_covid_lung", "masks"), ("covid_cxr_seg", "masks")],
        channels=1,
        size=256,
        postprocess="lungs",
        postprocess_options={"components": 2},
        net={"channels": [16, 32, 64, 128, 256], "strides": [2, 2, 2, 2], "num_res_units": 2},
        augment="cxr",
        epochs=120,
        patience=25,
        labels=("background", "lung"),
        modality="DX",
        body_part="CHEST",
        intended_use="Research and teaching: outline the lung fields of a frontal chest radiograph. Not for diagnosis.",
    ),
    "opacity-cxr": Recipe(
        name="opacity-cxr",
        description="Lung opacities (ground glass + consolidation) on frontal chest X-ray; U-Net fine-tuned from lungs-cxr.",
        sources=[("covid_cxr_seg", "masks_opacity")],
        channels=1,
        size=256,
        postprocess="components",
        postprocess_options={"min_fraction": 0.002},
        net={"channels": [16, 32, 64, 128, 256], "strides": [2, 2, 2, 2], "num_res_units": 2},
        augment="cxr",
        epochs=80,
        patience=25,
        lr=1e-3,
        init_from="lungs-cxr",
        labels=("background", "opacity"),
        modality="DX",
        body_part="CHEST",
        intended_use="Research and teaching: outline lung opacities and estimate the share of lung affected. Not for diagnosis.",
    ),
    "polyp-endoscopy": Recipe(
        name="polyp-endoscopy",
        description="Colorectal polyps on colonoscopy frames (RGB); MONAI residual U-Net trained from scratch.",
        sources=[("kvasir_seg", "masks")],
        channels=3,
        size=160,
        postprocess="components",
        postprocess_options={"min_fraction": 0.002},
        percentiles=(0.0, 100.0),
        net={"channels": [16, 32, 64, 128, 256], "strides": [2, 2, 2, 2], "num_res_units": 1},
        augment="endoscopy",
        epochs=150,
        patience=25,
        labels=("background", "polyp"),
        modality="ES",
        body_part="COLON",
        intended_use="Research and teaching: outline polyps on colonoscopy frames. Not for diagnosis.",
    ),
}


def preprocessing_of(recipe: Recipe) -> dict[str, Any]:
    """The card's ``preprocessing``: everything inference needs to feed the network."""
    return {
        "size": [recipe.size, recipe.size],
        "channels": recipe.channels,
        "normalisation": "percentile",
        "percentiles": list(recipe.percentiles),
        "threshold": 0.5,
        "postprocess": recipe.postprocess,
        "postprocess_options": recipe.postprocess_options,
        "window": "none",
    }


NOTES = {
    "window": "none: percentile scaling of the raw pixels; MONOCHROME1 is inverted before",
    "resize": "stretch to size (aspect not kept), bilinear with antialias; output resized back",
    "output": "one logit channel; sigmoid gives the foreground probability",
}


# ---------------------------------------------------------------- split and cases


def _patients(dataset_dir: Path) -> dict[str, str]:
    """stem -> patient id, when the data set's sources.csv has one (else each case is its own)."""
    sources = dataset_dir / "sources.csv"
    if not sources.exists():
        return {}
    with sources.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "patientid" not in rows[0]:
        return {}
    return {row["stem"]: row["patientid"] for row in rows}


def make_split(dataset_dir: Path, val_fraction: float = 0.2, seed: int = 0) -> dict[str, list[str]]:
    """Seeded train/validation split of a data set's stems, grouped by patient when known."""
    stems = sorted(p.stem for p in (dataset_dir / "images").glob("*.png"))
    patients = _patients(dataset_dir)
    groups: dict[str, list[str]] = {}
    for stem in stems:
        groups.setdefault(patients.get(stem, stem), []).append(stem)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    n_val = max(1, round(val_fraction * len(keys)))
    val = sorted(s for k in keys[:n_val] for s in groups[k])
    train = sorted(s for k in keys[n_val:] for s in groups[k])
    return {"train": train, "val": val}


def read_png(path: Path) -> np.ndarray:
    """PNG -> array (H, W) or (H, W, 3), as stored."""
    with Image.open(path) as img:
        if img.mode not in ("L", "RGB"):
            img = img.convert("RGB" if len(img.getbands()) >= 3 else "L")
        return np.asarray(img)


def load_cases(dataset_dir: Path, mask_folder: str, stems: list[str]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(stem, image, binary mask) at stored resolution."""
    return [
        (s, read_png(dataset_dir / "images" / f"{s}.png"), read_png(dataset_dir / mask_folder / f"{s}.png") > 127)
        for s in stems
    ]


# ---------------------------------------------------------------- augmentation


def augmentation(kind: str, seed: int):
    """MONAI dictionary transforms on ``{"image": (C,H,W), "label": (1,H,W)}``."""
    keys = ["image", "label"]
    if kind == "cxr":
        transforms = [
            RandFlipd(keys, prob=0.5, spatial_axis=1),
            RandAffined(keys, prob=0.8, rotate_range=0.17, scale_range=0.15, translate_range=(16, 16),
                        mode=("bilinear", "nearest"), padding_mode="zeros"),
            Rand2DElasticd(keys, prob=0.2, spacing=(64, 64), magnitude_range=(1, 3), mode=("bilinear", "nearest"),
                           padding_mode="zeros"),
            RandAdjustContrastd("image", prob=0.5, gamma=(0.6, 1.6)),
            RandScaleIntensityd("image", prob=0.3, factors=0.15),
            RandGaussianNoised("image", prob=0.2, std=0.03),
        ]
    elif kind == "endoscopy":
        transforms = [
            RandFlipd(keys, prob=0.5, spatial_axis=0),
            RandFlipd(keys, prob=0.5, spatial_axis=1),
            RandRotate90d(keys, prob=0.5),
            RandAffined(keys, prob=0.8, rotate_range=0.5, scale_range=0.2, translate_range=(16, 16),
                        mode=("bilinear", "nearest"), padding_mode="zeros"),
            RandAdjustContrastd("image", prob=0.4, gamma=(0.7, 1.5)),
            RandScaleIntensityd("image", prob=0.4, factors=0.2, channel_wise=True),
            RandShiftIntensityd("image", prob=0.3, offsets=0.08),
        ]
    else:
        raise ValueError(f"unknown augmentation {kind!r}")
    compose = Compose(transforms)
    compose.set_random_state(seed=seed)
    return compose
