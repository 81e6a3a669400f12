"""Measurements written into a classifier's card after training: OOD flag rates and TTA.

Everything here is measured, on the validation split and on images of other modalities from
``../shared/data`` (Kvasir-SEG colonoscopy photos; the other classifier's images; adult chest
X-rays), with the same functions the app uses.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from core.classification import ood, uncertainty
from core.classification.inference import normalise, prepare, to_gray01
from core.registry import ModelSpec


def _load_png_folder(folder: Path, limit: int | None = None) -> list[np.ndarray]:
    from PIL import Image

    files = sorted(folder.glob("*.png")) + sorted(folder.glob("*.jpg")) + sorted(folder.glob("*.jpeg"))
    images = []
    for f in files[:limit]:
        with Image.open(f) as img:
            images.append(np.asarray(img.convert("RGB") if img.mode not in ("L", "I;16", "I") else img))
    return images


def flag_rates(model: torch.nn.Module, spec: ModelSpec, images: list[Any]) -> dict[str, Any]:
    """Fraction of ``images`` flagged (combined, by colour, by features) with the card's rule."""
    flags = {"flag": [], "colour": [], "feature": []}
    for start in range(0, len(images), 128):
        batch, grays = prepare(images[start : start + 128], spec)
        out = ood.flag_many(model, batch, np.array([g.colourfulness for g in grays]), spec)
        for key in flags:
            flags[key].append(out[key])
    rates = {f"{k}_rate": round(float(np.concatenate(v).mean()), 4) for k, v in flags.items()}
    return {"n": len(images), **rates}


def _val_distances(model: torch.nn.Module, spec: ModelSpec, x01: np.ndarray) -> np.ndarray:
    out = []
    for start in range(0, len(x01), 256):
        xb = normalise(torch.from_numpy(x01[start : start + 256])[:, None], spec.preprocessing)
        out.append(ood.distances(model, xb))
    return np.concatenate(out)


def measure_ood(model: torch.nn.Module, spec: ModelSpec, data: dict[str, Any], shared: Path,
                percentile: float = 99.0) -> dict[str, Any]:
    """Set the feature-distance threshold (validation percentile) and measure flag rates."""
    x_val, _ = data["val"]
    val_dist = _val_distances(model, spec, x_val)
    threshold = float(np.percentile(val_dist, percentile))
    spec = replace(spec, card=replace(spec.card, ood=replace(spec.card.ood, distance_threshold=threshold)))
    result: dict[str, Any] = {
        "distance_threshold": round(threshold, 3),
        "colour_threshold": spec.card.ood.colour_threshold,
        "rule": (
            "flag when colourfulness (Hasler-Suesstrunk) > colour_threshold, or when the Mahalanobis distance of the "
            "globally pooled features of every stage of the network from the training images' (Ledoit-Wolf) > "
            f"distance_threshold = the {percentile:g}th "
            "percentile of the validation images' distances"
        ),
    }
    val_rates = {"n": len(x_val), "flag_rate": round(float(np.mean(val_dist > threshold)), 4)}
    rates: dict[str, Any] = {"validation": val_rates}
    kvasir = _load_png_folder(shared / "seg" / "kvasir_seg" / "images")
    if kvasir:
        rates["kvasir_seg_colonoscopy"] = flag_rates(model, spec, kvasir)
        gray_kvasir = [to_gray01(im).pixels for im in kvasir]  # colour removed: features alone must flag them
        rates["kvasir_seg_as_grayscale"] = flag_rates(model, spec, gray_kvasir)
    if spec.name == "pneumonia-cxr":
        npz = shared / "medmnist" / "breastmnist_28.npz"
        if npz.exists():
            rates["breastmnist_val_ultrasound"] = flag_rates(model, spec, list(np.load(npz)["val_images"]))
        adult = _load_png_folder(shared / "seg" / "v7_covid_lung" / "images")
        if adult:
            rates["adult_covid_cxr_v7_same_modality"] = flag_rates(model, spec, adult)
    else:
        root = shared / "cxr_pneumonia" / "train" / "NORMAL"
        files = sorted(root.glob("*.jpeg"))[:200]
        if files:
            cxr = [np.asarray(Image.open(f).convert("L")) for f in files]
            rates["cxr_normal_xray_200"] = flag_rates(model, spec, cxr)
    result["measured_rates"] = rates
    return result


def measure_tta(model: torch.nn.Module, spec: ModelSpec, x_val: np.ndarray, y_val: np.ndarray) -> dict[str, Any]:
    """Low-confidence rate on validation and accuracy of confident vs low-confidence images."""
    threshold = spec.threshold
    probs_all, low_all, width = [], [], []
    for start in range(0, len(x_val), 64):
        xb = normalise(torch.from_numpy(x_val[start : start + 64])[:, None], spec.preprocessing)
        views = uncertainty.tta_probs(model, xb, spec)
        for prob, interval in zip(views[0], uncertainty.intervals(views, spec)):
            probs_all.append(prob)
            low_all.append(uncertainty.is_low_confidence(float(prob), interval, spec))
            width.append(interval.high - interval.low)
    probs, low = np.array(probs_all), np.array(low_all)
    correct = (probs >= threshold).astype(int) == np.asarray(y_val)
    return {
        "validation_low_confidence_rate": round(float(low.mean()), 4),
        "validation_acc_confident": round(float(correct[~low].mean()), 4) if (~low).any() else None,
        "validation_acc_low_confidence": round(float(correct[low].mean()), 4) if low.any() else None,
        "validation_mean_interval_width": round(float(np.mean(width)), 4),
    }

