"""Model registry built from the model cards in ``models/<name>/card.json``.

A card says what a model is (task, architecture and its arguments), where its weights
are, how its input must be prepared (``preprocessing``), what its outputs mean
(``labels``), what it was trained on, how well it did, and the command that reproduces
it. Like a timm pretrained config, the preprocessing travels with the weights.

Cards are data, parsed and validated once here into typed dataclasses (``Card``,
``Preprocessing``, ``Uncertainty``, ``OodRule``); nothing outside this module reads a raw card
dict. The architecture must be one registered in ``models``; the weights file must sit inside
the card's own folder. Prose about a model goes in ``notes``.

Extra card folders (tests, models a user trained) are read from ``MEDLENS_MODEL_DIRS``
(``os.pathsep``-separated) and from ``<MEDLENS_DATA_DIR>/models``.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

import models
from core.errors import InputError, ModelError
from core.paths import data_dir

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "models"
REQUIRED_FIELDS = ("name", "task")
WEIGHTS_FILE = "model.safetensors"
TASKS = ("segmentation", "classification", "survival", "risk", "sequence", "generation", "test")
IMAGE_TASKS = ("segmentation", "classification", "generation", "test")
WINDOW_RULES = ("none", "dicom-8bit-percentile")
NORMALISATIONS = ("none", "percentile", "mean-std", "series-zscore")
POSTPROCESS = ("", "lungs", "components")


@dataclass(frozen=True)
class Preprocessing:
    """How an input must be prepared for a model and how its output is cut.

    Args:
        size: network input ``(H, W)`` for image models (required there), None otherwise.
        channels: input channels (1 gray, 3 RGB).
        window: intensity rule before normalisation: ``none`` (raw pixels; MONOCHROME1 is
            inverted) or ``dicom-8bit-percentile`` (the DICOM window when present, else /255
            for 8-bit data, else the ``percentiles`` range, to [0, 1]).
        percentiles: low/high percentiles used by the window rule or the normalisation.
        normalisation: ``percentile`` (scale the ``percentiles`` range to [0, 1]), ``mean-std``
            (``(x - mean) / std``), ``series-zscore`` (per series) or ``none``.
        mean / std: for ``mean-std``.
        threshold: decision threshold on the output probability (segmentation foreground,
            classification positive class).
        postprocess / postprocess_options / within: segmentation clean-up, and another
            segmentation model whose mask restricts this one (opacity inside the lungs).
        hflip_invariant: whether horizontal flips are harmless (test-time augmentation).
        z_dim: latent size of a generator.
        length / label_codes: sequence length and the data's label codes in class order.
        encoder / feature_names / feature_mean / field_stats / reference / time_unit: tabular
            models (``core.prognosis.tabular.Encoder`` JSON and facts about the training cohort).
    """

    size: tuple[int, int] | None = None
    channels: int = 1
    window: str = "none"
    percentiles: tuple[float, float] = (0.5, 99.5)
    normalisation: str = "none"
    mean: float = 0.0
    std: float = 1.0
    threshold: float = 0.5
    postprocess: str = ""
    postprocess_options: Mapping[str, Any] = field(default_factory=dict)
    within: str = ""
    hflip_invariant: bool = False
    z_dim: int | None = None
    length: int | None = None
    label_codes: tuple[str, ...] = ()
    encoder: Mapping[str, Any] | None = None
    feature_names: tuple[str, ...] = ()
    feature_mean: tuple[float, ...] = ()
    field_stats: Mapping[str, Any] = field(default_factory=dict)
    reference: Mapping[str, Any] = field(default_factory=dict)
    time_unit: str = ""


@dataclass(frozen=True)
class Uncertainty:
    """Test-time-augmentation rule of a classifier: ``views`` views, interval ``percentiles``."""

    views: int = 16
    percentiles: tuple[float, float] = (5.0, 95.0)
    seed: int = 0


@dataclass(frozen=True)
class OodRule:
    """Out-of-distribution flags of a classifier: colourfulness and feature distance thresholds."""

    colour_threshold: float = 0.1
    distance_threshold: float = float("inf")


@dataclass(frozen=True)
class Card:
    """A model card, typed. ``sections`` keeps the card's other top-level parts for display
    (e.g. ``calibration`` details, ``augmentation_study``); no code decides on them.

    Args:
        name / task / description / intended_use: what the model is and is for.
        architecture / arch_args: a name registered in ``models`` and its keyword arguments.
        weights: the weights file (inside the card's folder) or None.
        labels / positive_label: output names in output order; the positive class.
        modality / body_part: the images it is meant for (DICOM Modality, body part); empty
            for non-image models.
        data / split / metrics / training: what it was trained on and how well it did.
        command: the command that reproduces the weights.
        notes: prose about the preprocessing and rules (shown, never parsed).
        temperature: the classifier's calibration temperature (1 = none).
        dataset_label_of_class: data-set label of each model class (e.g. BreastMNIST 1 - c).
        folder_of_class: the folder name of each model class in an evaluation folder.
        uncertainty / ood: a classifier's low-confidence and out-of-distribution rules.
        cohort: a survival model's risk groups on its training cohort.
        supersedes: registered models this one replaces as the default (it won on their validation
            data); they stay available, and pickers list this one just before them.
    """

    name: str
    task: str
    architecture: str
    arch_args: Mapping[str, Any]
    preprocessing: Preprocessing
    weights: Path | None = None
    labels: tuple[str, ...] = ()
    positive_label: str = ""
    modality: str = ""
    body_part: str = ""
    description: str = ""
    intended_use: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    split: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    training: Mapping[str, Any] = field(default_factory=dict)
    command: str = ""
    notes: Mapping[str, str] = field(default_factory=dict)
    temperature: float = 1.0
    dataset_label_of_class: tuple[int, ...] = (0, 1)
    folder_of_class: tuple[str, ...] = ()
    uncertainty: Uncertainty = field(default_factory=Uncertainty)
    ood: OodRule = field(default_factory=OodRule)
    cohort: Mapping[str, Any] = field(default_factory=dict)
    supersedes: tuple[str, ...] = ()
    sections: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to build, load and feed one model: its typed ``card`` and where it was read.

    ``name``, ``task``, ``architecture``, ``arch_args``, ``weights``, ``preprocessing`` and
    ``labels`` are the card's, repeated here because every caller needs them.
    """

    card: Card
    card_path: Path | None = None

    name = property(lambda self: self.card.name)
    task = property(lambda self: self.card.task)
    architecture = property(lambda self: self.card.architecture)
    arch_args = property(lambda self: dict(self.card.arch_args))
    weights = property(lambda self: self.card.weights)
    preprocessing = property(lambda self: self.card.preprocessing)
    labels = property(lambda self: self.card.labels)
    threshold = property(lambda self: self.card.preprocessing.threshold)

    @property
    def folder(self) -> Path | None:
        return self.card_path.parent if self.card_path else None

    def summary(self) -> dict[str, Any]:
        """The JSON-serialisable view printed by ``python -m core models``."""
        pre = {f.name: getattr(self.preprocessing, f.name) for f in fields(Preprocessing)
               if f.name not in ("encoder", "field_stats", "reference", "feature_mean")}
        return {
            "name": self.name,
            "task": self.task,
            "architecture": self.architecture,
            "weights": str(self.weights) if self.weights else None,
            "weights_present": bool(self.weights and self.weights.exists()),
            "labels": list(self.labels),
            "modality": self.card.modality,
            "body_part": self.card.body_part,
            "preprocessing": json.loads(json.dumps(pre, default=list)),
            "metrics": dict(self.card.metrics),
            "description": self.card.description,
        }


def card_dirs() -> list[Path]:
    """Folders searched for ``*/card.json``: the repo's models, env extras, user models."""
    dirs = [MODELS_DIR]
    extra = os.environ.get("MEDLENS_MODEL_DIRS", "")
    dirs += [Path(p) for p in extra.split(os.pathsep) if p]
    dirs.append(data_dir() / "models")
    return dirs


# ------------------------------------------------------------------ parsing and validation

CARD_KEYS = {"name", "task", "description", "architecture", "weights", "preprocessing", "labels", "positive_label",
             "modality", "body_part", "intended_use", "data", "split", "metrics", "training", "command", "notes",
             "calibration", "label_mapping", "uncertainty", "ood", "cohort", "supersedes"}


class _Bad(Exception):
    """One problem in a card (becomes a ModelError naming the file)."""


def _pair(value: Any, what: str, kind: type = int) -> tuple:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise _Bad(f"{what} must be a list of two numbers")
    try:
        return (kind(value[0]), kind(value[1]))
    except (TypeError, ValueError):
        raise _Bad(f"{what} must be a list of two numbers") from None


def _number(section: Mapping[str, Any], key: str, default: float, what: str) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(f"{what}.{key} must be a number")
    return float(value)


def _choice(value: Any, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise _Bad(f"{what} must be one of {', '.join(repr(a) for a in allowed)}, not {value!r}")
    return str(value)


def _preprocessing(raw: Any, task: str) -> Preprocessing:
    if not isinstance(raw, dict):
        raise _Bad("preprocessing must be an object")
    known = {f.name for f in fields(Preprocessing)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _Bad(f"preprocessing has unknown key(s) {', '.join(unknown)} (prose belongs in notes)")
    size = _pair(raw["size"], "preprocessing.size") if "size" in raw else None
    if task in IMAGE_TASKS and size is None:
        raise _Bad(f"preprocessing.size is required for a {task} model")
    if size is not None and min(size) < 1:
        raise _Bad("preprocessing.size must be positive")
    channels = int(raw.get("channels", 1))
    if channels not in (1, 3):
        raise _Bad("preprocessing.channels must be 1 or 3")
    threshold = _number(raw, "threshold", 0.5, "preprocessing")
    if not 0.0 <= threshold <= 1.0:
        raise _Bad("preprocessing.threshold must lie in [0, 1]")
    std = _number(raw, "std", 1.0, "preprocessing")
    if std <= 0:
        raise _Bad("preprocessing.std must be positive")
    options = raw.get("postprocess_options", {}) or {}
    if not isinstance(options, dict):
        raise _Bad("preprocessing.postprocess_options must be an object")
    return Preprocessing(
        size=size,
        channels=channels,
        window=_choice(raw.get("window", "none"), WINDOW_RULES, "preprocessing.window"),
        percentiles=_pair(raw.get("percentiles", (0.5, 99.5)), "preprocessing.percentiles", float),
        normalisation=_choice(raw.get("normalisation", "none"), NORMALISATIONS, "preprocessing.normalisation"),
        mean=_number(raw, "mean", 0.0, "preprocessing"),
        std=std,
        threshold=threshold,
        postprocess=_choice(raw.get("postprocess", "") or "", POSTPROCESS, "preprocessing.postprocess"),
        postprocess_options=dict(options),
        within=str(raw.get("within", "") or ""),
        hflip_invariant=bool(raw.get("hflip_invariant", False)),
        z_dim=int(raw["z_dim"]) if raw.get("z_dim") is not None else None,
        length=int(raw["length"]) if raw.get("length") is not None else None,
        label_codes=tuple(str(c) for c in raw.get("label_codes", ())),
        encoder=raw.get("encoder"),
        feature_names=tuple(raw.get("feature_names", ())),
        feature_mean=tuple(float(v) for v in raw.get("feature_mean", ())),
        field_stats=dict(raw.get("field_stats", {})),
        reference=dict(raw.get("reference", {})),
        time_unit=str(raw.get("time_unit", "")),
    )


def preprocessing_from_dict(raw: dict[str, Any], task: str) -> Preprocessing:
    """A card's ``preprocessing`` section, validated (for trainers that build one in code)."""
    try:
        return _preprocessing(raw, task)
    except (_Bad, TypeError, ValueError) as exc:
        raise ModelError(f"preprocessing of a {task} model: {exc}") from None


def _weights(value: Any, folder: Path) -> Path | None:
    """The weights path, which must name a file inside ``folder`` (no ``..``, no absolute path)."""
    if not value:
        return None
    if not isinstance(value, str):
        raise _Bad("weights must be a file name")
    path = (folder / value).resolve()
    if Path(value).is_absolute() or ".." in Path(value).parts or folder.resolve() not in path.parents:
        raise _Bad(f"weights {value!r} must be a file inside the card's folder")
    return path


def _section(card: dict[str, Any], key: str) -> dict[str, Any]:
    value = card.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Bad(f"{key} must be an object")
    return value


def card_from_dict(card: dict[str, Any], folder: Path) -> Card:
    """Validate a card read from ``folder/card.json``; ``_Bad`` says what is wrong."""
    missing = [f for f in REQUIRED_FIELDS if not card.get(f)]
    arch = card.get("architecture") or {}
    if isinstance(arch, str):
        arch = {"name": arch}
    if not isinstance(arch, dict) or not arch.get("name"):
        missing.append("architecture.name")
    if missing:
        raise _Bad(f"lacks {', '.join(missing)}")
    if "loader" in card:
        raise _Bad("'loader' is not supported: name a registered architecture instead")
    task = _choice(card["task"], TASKS, "task")
    name = str(arch["name"])
    if name not in models.ARCHITECTURES:
        raise _Bad(f"architecture {name!r} is not registered; valid: {', '.join(sorted(models.ARCHITECTURES))}")
    args = arch.get("args", {}) or {}
    if not isinstance(args, dict):
        raise _Bad("architecture.args must be an object")
    labels = card.get("labels", ())
    if not isinstance(labels, (list, tuple)):
        raise _Bad("labels must be a list")
    supersedes = card.get("supersedes", ())
    if not isinstance(supersedes, (list, tuple)) or not all(isinstance(v, str) for v in supersedes):
        raise _Bad("supersedes must be a list of model names")
    notes = _section(card, "notes")
    threshold_rule = card.get("threshold")
    calibration = _section(card, "calibration")
    mapping = _section(card, "label_mapping")
    uncertainty = _section(card, "uncertainty")
    ood = _section(card, "ood")
    text = {k: card.get(k, "") for k in ("positive_label", "modality", "body_part", "description",
                                          "intended_use", "command")}
    bad_text = [k for k, v in text.items() if not isinstance(v, str)]
    if bad_text or threshold_rule is not None:
        raise _Bad(f"{', '.join(bad_text or ['threshold'])} must be text"
                   if bad_text else "the threshold belongs in preprocessing.threshold (its rule in notes)")
    return Card(
        name=str(card["name"]),
        task=task,
        architecture=name,
        arch_args=dict(args),
        preprocessing=_preprocessing(card.get("preprocessing", {}), task),
        weights=_weights(card.get("weights"), folder),
        labels=tuple(str(x) for x in labels),
        data=card.get("data", {}) if isinstance(card.get("data", {}), dict) else {"note": str(card.get("data"))},
        split=_section(card, "split"),
        metrics=_section(card, "metrics"),
        training=_section(card, "training"),
        notes={str(k): str(v) for k, v in notes.items()},
        temperature=_number(calibration, "temperature", 1.0, "calibration"),
        dataset_label_of_class=tuple(int(v) for v in mapping.get("dataset_label_of_class", (0, 1))),
        folder_of_class=tuple(str(v) for v in mapping.get("folder_of_class", ())),
        uncertainty=Uncertainty(views=int(uncertainty.get("views", 16)),
                                percentiles=_pair(uncertainty.get("percentiles", (5, 95)), "uncertainty.percentiles", float),
                                seed=int(uncertainty.get("seed", 0))),
        ood=OodRule(colour_threshold=_number(ood, "colour_threshold", 0.1, "ood"),
                    distance_threshold=_number(ood, "distance_threshold", float("inf"), "ood")),
        cohort=_section(card, "cohort"),
        supersedes=tuple(supersedes),
        sections={k: v for k, v in card.items() if k not in CARD_KEYS or k in ("calibration", "label_mapping",
                                                                            "uncertainty", "ood")},
        **text,
    )


def parse_card(card_path: Path) -> ModelSpec:
    """Read and validate one card; a ModelError says which file and what is wrong."""
    try:
        card = json.loads(card_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"model card {card_path} cannot be read: {exc}") from None
    if not isinstance(card, dict):
        raise ModelError(f"model card {card_path} must hold a JSON object")
    try:
        return ModelSpec(card=card_from_dict(card, card_path.parent), card_path=card_path)
    except _Bad as exc:
        raise ModelError(f"model card {card_path}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ModelError(f"model card {card_path}: a value has the wrong type ({exc})") from None


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


def preferred_order(specs: list[ModelSpec]) -> list[ModelSpec]:
    """``specs`` in name order, except that a model that supersedes another of them comes just
    before it (so a picker, or "the first that fits", starts on the better model)."""
    names = {s.name for s in specs}

    def key(spec: ModelSpec) -> tuple[str, int]:
        replaced = sorted(n for n in spec.card.supersedes if n in names and n != spec.name)
        return (replaced[0], 0) if replaced else (spec.name, 1)

    return sorted(specs, key=key)


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
