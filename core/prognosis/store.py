"""Write a trained prognosis model: safetensors weights + card.json, nothing pickled."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import torch

from core.registry import MODELS_DIR


def model_folder(name: str, out: str | None = None) -> Path:
    return Path(out) if out else MODELS_DIR / name


def save(model: torch.nn.Module, folder: Path, card: dict[str, Any]) -> Path:
    """Save ``model``'s state dict and ``card`` (weights = ``model.safetensors``)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"))
    os.chmod(folder / "model.safetensors", 0o644)  # safetensors writes 0600; the repo wants readable files
    card = {**card, "weights": "model.safetensors"}
    (folder / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    return folder


def hardware() -> str:
    return f"CPU {platform.processor() or platform.machine()}, torch threads={torch.get_num_threads()}"
