"""What the GAN page and ``python -m core generate`` call: the generators to offer (MedLens's and
the user's own, picked up when a background job finishes), samples of a class with a seed, and how
far each sample lies from its nearest training image (memorisation check).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from core import registry
from core.errors import MedLensError
from core.registry import ModelSpec
from core.synthesis import jobs, quality
from core.synthesis.generate import Samples, generator_spec, sample
from core.synthesis.generate import generators as registered_generators


def rescan() -> None:
    """Read the model cards again (a generator the user trained has just been saved)."""
    registry.reload()


def generators() -> list[ModelSpec]:
    """Registered generators, MedLens's and the user's; a job that finished since the last scan is included."""
    finished = {j.name for j in jobs.list_jobs() if j.state == "finished"}
    if finished - set(registry.registry()):
        rescan()
    return registered_generators()


def generator(name: str) -> ModelSpec:
    """The spec of generator ``name``; InputError when unknown or not a generator."""
    return generator_spec(name)


def is_user_model(spec: ModelSpec) -> bool:
    """Whether the user trained this generator on this machine (it lives in the data folder)."""
    return bool(spec.card_path and jobs.user_models_dir() in spec.card_path.parents)


def generate(name: str, label: str | int | None = None, n: int = 16, seed: int = 0,
             truncation: float | None = None, device: str | None = None) -> Samples:
    """``n`` images of class ``label`` (None or "all": the classes in turn) from generator ``name``;
    the same seed gives the same images."""
    return sample(name, label, n, seed, truncation, device=device)


def nearest_real(samples: Samples) -> np.ndarray | None:
    """RMS pixel distance (0-1 scale) of each sample to its nearest training image; None when the
    generator's training images are not on this machine."""
    try:
        reference = quality.reference_images(generator(samples.model))
    except MedLensError:
        return None
    if reference is None:
        return None
    distances, _ = quality.nearest_distances(samples.images, reference[0])
    return distances


def card_for_display(name: str) -> dict[str, Any]:
    """A generator's whole card as plain data, without the long loss history (for the page's expander)."""
    card = asdict(generator(name).card)
    card["training"] = {k: v for k, v in card["training"].items() if k != "loss_history"}
    return card
