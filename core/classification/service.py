"""What the classification tab and ``python -m core classify`` call: the models to offer, one
image classified with calibrated uncertainty, its explanation map, and a batch of files scored.

Pages and commands never read a card or load weights themselves; everything model-specific
(preprocessing, threshold, temperature, label mapping) comes from the card through here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from core import models_fit
from core.cache import device_of, get_model
from core.classification import batch, explain
from core.classification.inference import Prediction, prepare, resize01
from core.classification.inference import classify as classify_image
from core.registry import ModelSpec, list_models, preferred_order, require_spec

TASK = "classification"
METHODS = tuple(explain.METHODS)


def models() -> list[ModelSpec]:
    """The registered classifiers in picker order: by name, except that a model that supersedes
    another comes just before it (``registry.preferred_order``)."""
    return preferred_order(list_models(TASK))


def model(name: str) -> ModelSpec:
    """The spec of classifier ``name``; InputError listing the valid names otherwise."""
    return require_spec(name, TASK)


def compatibility(name: str, image: Any) -> tuple[bool, str]:
    """``(ok, reason)``: whether classifier ``name``'s card (modality, body part) suits ``image``."""
    return models_fit.compatibility(model(name).card, image)


def default_model(image: Any) -> str | None:
    """The classifier a picker starts on for ``image``: the first whose card suits it."""
    specs = models()
    return specs[models_fit.first_compatible([s.card for s in specs], image)].name if specs else None


def classify(image: Any, name: str, *, tta: bool = True, device: str | None = None) -> Prediction:
    """One image -> calibrated probability, label, TTA interval, low-confidence and OOD flags."""
    return classify_image(image, name, device=device, tta=tta)


def display_gray(image: Any, name: str, longest: int = 448) -> np.ndarray:
    """The image as the model sees it (its window and channels), gray in [0, 1], ``longest`` px on its long side."""
    _, grays = prepare(image, model(name))
    gray = grays[0].pixels
    scale = longest / max(gray.shape)
    return resize01(gray, (max(1, round(gray.shape[0] * scale)), max(1, round(gray.shape[1] * scale))))


def explanation(image: Any, name: str, method: str) -> np.ndarray:
    """Evidence map for the positive class (``explain.METHODS``: Grad-CAM, ...) at the model's input size."""
    batch_, _ = prepare(image, model(name))
    net = get_model(name)
    return explain.explain(net, batch_.to(device_of(net)), method)[0]


def score(sources: Iterable[Any], name: str, *, tta: bool = False, batch_size: int = 64,
          progress: Callable[[int, int], None] | None = None) -> batch.BatchResult:
    """Score files, folders, zips or ``(name, bytes)`` uploads; unreadable files are rows with a reason."""
    return batch.score(list(sources), name, batch_size=batch_size, tta=tta, progress=progress)


def evaluate(name: str, images: list[Any], dataset_labels: np.ndarray, batch_size: int = 64) -> dict[str, Any]:
    """AUC, accuracy and counts of classifier ``name`` on images with labels in the data set's coding."""
    return batch.evaluate_arrays(name, images, dataset_labels, batch_size=batch_size)
