"""GAN data: the recipes of the committed generators and the images they train on.

The chest X-ray split is the pneumonia classifier's (``core.classification.data``: by patient,
same fraction and seed), so the validation images used for the quality metrics were seen by
neither network. Images are ``(N, H, W)`` float32 in [0, 1]; labels keep the data set's own coding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.classification.data import load_data
from core.classification.inference import resize01

RECIPES: dict[str, dict[str, Any]] = {
    "breast-cgan": {
        "data": "breastmnist",
        "size": 28,
        "labels": ["malignant", "normal/benign"],
        "g_args": {"img_size": 28, "n_classes": 2, "z_dim": 128, "channels": [128, 64, 32], "embed_dim": 32},
        "d_args": {"n_classes": 2, "channels": [32, 64, 128]},
        "batch_size": 32, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema_decay": 0.998,
        "diffaug": True, "steps": 3000, "classifier": "breast-us", "modality": "US", "body_part": "BREAST",
    },
    "pneumonia-cgan": {
        "data": "cxr",
        "size": 64,
        "labels": ["normal", "pneumonia"],
        "val_fraction": 0.15,
        "g_args": {"img_size": 64, "n_classes": 2, "z_dim": 128, "channels": [128, 64, 32, 16, 8], "embed_dim": 32},
        "d_args": {"n_classes": 2, "channels": [16, 32, 64, 128, 128], "mbstd_group": 4},
        "batch_size": 32, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema_decay": 0.998,
        "diffaug": True, "steps": 8000, "classifier": "pneumonia-cxr", "modality": "DX", "body_part": "CHEST",
        # the variety aids of the committed generator (recall .065 -> .574 at 8,000 steps; see its card)
        "diffaug_colour": True, "mode_seeking": 1.0,
    },
}


def load_gan_data(recipe: dict[str, Any], shared: Path, workdir: Path, seed: int = 0) -> dict[str, Any]:
    """Train/val images in [0, 1] at the recipe's size with data set labels, and split facts.

    The chest X-ray split is the pneumonia classifier's (by patient, same fraction and seed),
    so the validation images used for the quality metrics were seen by neither network.
    """
    size = recipe["size"]
    if recipe["data"] == "breastmnist":
        data = np.load(shared / "medmnist" / "breastmnist_28.npz")
        parts = {}
        for split in ("train", "val"):
            imgs = data[f"{split}_images"].astype(np.float32) / 255.0
            if imgs.shape[-1] != size:
                imgs = np.stack([resize01(im, (size, size)) for im in imgs])
            parts[split] = (imgs.astype(np.float32), data[f"{split}_labels"].ravel().astype(int))
        return {**parts, "split": {"kind": "official BreastMNIST train / val", "n_train": len(parts["train"][1]),
                                   "n_val": len(parts["val"][1])},
                "data": {"source": "medmnist/breastmnist_28.npz (MedMNIST v2, 28 px), train_images/train_labels",
                         "reference": "medmnist/breastmnist_28.npz:train",
                         "label_coding": "BreastMNIST: 0 = malignant, 1 = normal/benign (unchanged)"}}
    cls = load_data({"data": "cxr", "size": size, "val_fraction": recipe["val_fraction"]}, shared, workdir, seed)
    return {"train": cls["train"], "val": cls["val"], "split": cls["split"],
            "data": {"source": f"cxr_pneumonia/train (Kermany 2018, 224 px squashed) resized to {size} px",
                     "reference": f"cxr_pneumonia/train:train-split:{size}",
                     "label_coding": "0 = normal (folder NORMAL), 1 = pneumonia (folder PNEUMONIA), as PneumoniaMNIST"}}
