"""The pieces every trainer shares: device choice, early stopping, atomic model writing.

Each task keeps its own loop (``core/<task>/training.py``); what they have in common lives here
so that every trainer honours ``MEDLENS_DEVICE``, stops the same way and never leaves a
half-written model folder behind (weights and card are written to temporary files and renamed).
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from safetensors.torch import save_file

from core.cache import resolve_device
from core.errors import InputError
from core.paths import FILE_MODE, data_dir, ensure_private_dir, in_data_dir
from core.registry import MODELS_DIR, WEIGHTS_FILE, parse_card

USER_MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


def training_device(device: str | torch.device | None = None) -> torch.device:
    """The device to train on: ``device``, else ``MEDLENS_DEVICE``, else CUDA when available, else CPU."""
    return resolve_device(device)


def seed_everything(seed: int, threads: int | None = None) -> None:
    """Seed torch, NumPy and ``random`` (and set torch's CPU threads when given) before a run."""
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def hardware(device: torch.device | None = None) -> str:
    """What the run used, measured (CPU model, torch threads of the cores present; or the CUDA card)."""
    device = device or torch.device("cpu")
    if device.type == "cuda":
        return f"CUDA {torch.cuda.get_device_name(device)}"
    return (f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s) "
            f"of {os.cpu_count()} core(s)")


@dataclass
class EarlyStopping:
    """Track the best value of a validation score (higher is better) and say when to stop.

    Args:
        patience: epochs without a new best after which ``should_stop`` is True.
        best: the bar to clear (e.g. the score of weights being continued); -inf by default.
    """

    patience: int
    best: float = float("-inf")
    best_epoch: int = 0
    epoch: int = 0

    def step(self, value: float) -> bool:
        """Record one epoch's score; True when it is a new best."""
        self.epoch += 1
        if value > self.best:
            self.best, self.best_epoch = float(value), self.epoch
            return True
        return False

    @property
    def should_stop(self) -> bool:
        return self.epoch - self.best_epoch >= self.patience


def _state(state: Mapping[str, torch.Tensor] | torch.nn.Module) -> dict[str, torch.Tensor]:
    if isinstance(state, torch.nn.Module):
        state = state.state_dict()
    return {k: v.detach().cpu().contiguous() for k, v in state.items()}


def record_comparison(card: dict[str, Any], base: dict[str, Any], pairs: Mapping[str, tuple[float, float]],
                      metric: str) -> dict[str, Any]:
    """Put the base model's validation figures beside this one's (``pairs``: name -> (this, base),
    measured on the same split by the same code) and, when this one is higher on every one, name the
    base in ``supersedes``: this model becomes the default, the base stays available."""
    wins = all(ours > theirs for ours, theirs in pairs.values())
    name = base["name"]
    card["metrics"]["compared_with_base"] = {
        "base": name, "same_validation_split": True,
        **{k: {"this": ours, "base": theirs, "difference": round(ours - theirs, 4)} for k, (ours, theirs) in pairs.items()},
        "outcome": (f"higher validation {metric} than {name}: this model is the default, {name} stays available"
                    if wins else f"not higher than {name} on validation: {name} stays the default"),
    }
    card.pop("supersedes", None)
    if wins:
        card["supersedes"] = [name]
    return card


def stored_float16(tensor: torch.Tensor) -> torch.Tensor:
    """A weight as an ensemble stores it: floats in float16, so several members fit the repository's
    30 MB per file; loading casts them back into the float32 parameters."""
    return tensor.to(torch.float16) if tensor.is_floating_point() else tensor


def _open_folder(folder: Path) -> int:
    """Create ``folder``; returns the file mode for what goes in it: 0600 in a private 0700 folder
    for a user's model (under the data folder), else 0644 (committed models must be readable)."""
    if in_data_dir(folder):
        ensure_private_dir(folder)
        return FILE_MODE
    folder.mkdir(parents=True, exist_ok=True)
    return 0o644


def model_folder(name: str, out: str | Path | None = None) -> Path:
    """Where a trainer writes model ``name``: ``out`` when given, else the repo's ``models/<name>``."""
    return Path(out) if out else MODELS_DIR / name


def write_card(folder: Path, card: dict[str, Any]) -> None:
    """Validate ``card`` with the registry's parser, then write ``folder/card.json`` atomically."""
    mode = _open_folder(folder)
    tmp = folder / "card.json.tmp"
    tmp.write_text(json.dumps(card, indent=2, default=str) + "\n")
    os.chmod(tmp, mode)
    try:
        parse_card(tmp)
    except Exception:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(folder / "card.json")


def save_model(folder: Path, state: Mapping[str, torch.Tensor] | torch.nn.Module | None, card: dict[str, Any]) -> Path:
    """Write ``folder/model.safetensors`` (unless ``state`` is None) and ``folder/card.json``.

    Both go to a temporary file first and are renamed into place, so a reader (or a killed
    process) never sees half a file. The card is checked by the registry before it replaces the
    old one and always names ``model.safetensors`` as its weights.
    """
    mode = _open_folder(folder)
    if state is not None:
        tmp = folder / f"{WEIGHTS_FILE}.tmp"
        save_file(_state(state), str(tmp))
        os.chmod(tmp, mode)  # committed weights must be readable; a user's stay private
        tmp.replace(folder / WEIGHTS_FILE)
    write_card(folder, {**card, "weights": WEIGHTS_FILE})
    return folder


def user_model_folder(name: str) -> Path:
    """``<data dir>/models/<name>`` for a model a user trains; the name is checked first."""
    if not USER_MODEL_NAME.match(name or ""):
        raise InputError("a model name is 2-63 lower-case letters, digits or '-', starting with a letter or digit")
    return data_dir() / "models" / name
