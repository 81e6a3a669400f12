"""Model registry built from the model cards in ``models/<name>/card.json``.

A card says what a model is (task, architecture and its arguments), where its weights
are, how its input must be prepared (``preprocessing``), what its outputs mean
(``labels``), what it was trained on, how well it did, and the command that reproduces
it. Like a timm pretrained config, the preprocessing travels with the weights.

Extra card folders (tests, models a user trained) are read from ``MEDLENS_MODEL_DIRS``
(``os.pathsep``-separated) and from ``<MEDLENS_DATA_DIR>/models``.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InputError, ModelError
from core.paths import data_dir

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "models"
REQUIRED_FIELDS = ("name", "task")


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to build, load and feed one model.

    Args:
        name: registry name, ``<target>-<modality>`` e.g. ``lungs-cxr``.
        task: ``segmentation``, ``classification``, ``survival``, ``risk``, ``sequence``,
            ``generation`` or ``test``.
        architecture: name registered with ``models.register_architecture`` (empty when a
            custom ``loader`` builds the model).
        arch_args: keyword arguments for the architecture factory.
        weights: absolute path of the weights file (safetensors), or None.
        preprocessing: input contract (size, channels, normalisation, window, ...).
        labels: output names, in output order.
        loader: optional ``"module:function"`` taking ``(spec, device)`` and returning the
            loaded model, for models that are not a plain ``nn.Module`` + state dict.
        card: the whole card as read, for display.
        card_path: where the card was read from.
    """

    name: str
    task: str
    architecture: str = ""
    arch_args: dict[str, Any] = field(default_factory=dict)
    weights: Path | None = None
    preprocessing: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    loader: str = ""
    card: dict[str, Any] = field(default_factory=dict)
    card_path: Path | None = None

    @property
    def folder(self) -> Path | None:
        return self.card_path.parent if self.card_path else None

    def summary(self) -> dict[str, Any]:
        """The JSON-serialisable view printed by ``python -m core models``."""
        return {
            "name": self.name,
            "task": self.task,
            "architecture": self.architecture,
            "weights": str(self.weights) if self.weights else None,
            "weights_present": bool(self.weights and self.weights.exists()),
            "labels": list(self.labels),
            "preprocessing": self.preprocessing,
            "metrics": self.card.get("metrics", {}),
            "description": self.card.get("description", ""),
        }


def card_dirs() -> list[Path]:
    """Folders searched for ``*/card.json``: the repo's models, env extras, user models."""
    dirs = [MODELS_DIR]
    extra = os.environ.get("MEDLENS_MODEL_DIRS", "")
    dirs += [Path(p) for p in extra.split(os.pathsep) if p]
    dirs.append(data_dir() / "models")
    return dirs


def parse_card(card_path: Path) -> ModelSpec:
    """Read and validate one card; a ModelError says which file and what is wrong."""
    try:
        card = json.loads(card_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"model card {card_path} cannot be read: {exc}") from None
    if not isinstance(card, dict):
        raise ModelError(f"model card {card_path} must hold a JSON object")
    missing = [f for f in REQUIRED_FIELDS if not card.get(f)]
    arch = card.get("architecture") or {}
    if isinstance(arch, str):
        arch = {"name": arch}
    if not card.get("loader") and not arch.get("name"):
        missing.append("architecture.name (or loader)")
    if missing:
        raise ModelError(f"model card {card_path} lacks {', '.join(missing)}")
    weights = card.get("weights")
    return ModelSpec(
        name=str(card["name"]),
        task=str(card["task"]),
        architecture=str(arch.get("name", "")),
        arch_args=dict(arch.get("args", {})),
        weights=(card_path.parent / weights).resolve() if weights else None,
        preprocessing=dict(card.get("preprocessing", {})),
        labels=tuple(card.get("labels", ())),
        loader=str(card.get("loader", "")),
        card=card,
        card_path=card_path,
    )


_lock = threading.Lock()
_registry: dict[str, ModelSpec] | None = None
_errors: list[str] = []


def _scan() -> tuple[dict[str, ModelSpec], list[str]]:
    specs: dict[str, ModelSpec] = {}
    errors: list[str] = []
    for folder in card_dirs():
        for card_path in sorted(folder.glob("*/card.json")):
            try:
                spec = parse_card(card_path)
            except ModelError as exc:
                errors.append(str(exc))
                continue
            if spec.name in specs:
                errors.append(f"model {spec.name!r} defined twice ({specs[spec.name].card_path}, {card_path})")
                continue
            specs[spec.name] = spec
    return specs, errors


def registry() -> dict[str, ModelSpec]:
    """All valid models by name (scanned once; ``reload()`` rescans)."""
    global _registry, _errors
    with _lock:
        if _registry is None:
            _registry, _errors = _scan()
        return _registry


def reload() -> dict[str, ModelSpec]:
    """Rescan the card folders (after a user trains a model, or in tests)."""
    global _registry
    with _lock:
        _registry = None
    return registry()


def card_errors() -> list[str]:
    """Cards that were skipped, with the reason (shown on the home page)."""
    registry()
    return list(_errors)


def list_models(task: str | None = None) -> list[ModelSpec]:
    """Registered models, optionally of one task, sorted by name."""
    return [s for n, s in sorted(registry().items()) if task is None or s.task == task]


def require_spec(name: str, task: str) -> ModelSpec:
    """The spec of ``name``, which must be a ``task`` model; InputError (bad user input) otherwise."""
    try:
        spec = get_spec(name)
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None
    if spec.task != task:
        raise InputError(f"model {name!r} is a {spec.task} model, not a {task} model")
    return spec


def get_spec(name: str) -> ModelSpec:
    """The spec of ``name``; a KeyError lists the valid names."""
    try:
        return registry()[name]
    except KeyError:
        valid = ", ".join(sorted(registry())) or "none"
        raise KeyError(f"unknown model {name!r}; valid: {valid}") from None
