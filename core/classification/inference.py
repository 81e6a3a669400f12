"""Any image -> the classifier's input, and calibrated predictions.

Preprocessing follows the model card (``preprocessing``), the same code the training uses:
grayscale (ITU-R 601 luma for colour), intensity to [0, 1] (the DICOM window when the image
has one, ``/255`` for 8-bit data, else the 0.5-99.5 percentile range), resize by squashing
to the training size (no aspect preservation, as the training images were squashed), then
``(x - mean) / std``. Probabilities are temperature-calibrated (card ``calibration``) and
the label uses the card's threshold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from core.cache import device_of, get_model
from core.classification import ood, uncertainty
from core.classification.calibration import calibrated_probs
from core.errors import InputError, ModelError
from core.preprocess.colour import luma
from core.registry import ModelSpec, Preprocessing, require_spec



def _window_bounds(window: Any) -> tuple[float, float] | None:
    """(low, high) from a window given as (center, width), a dict or an object; None if absent."""
    if window is None:
        return None
    try:
        if isinstance(window, dict):
            center, width = window.get("center"), window.get("width")
        elif hasattr(window, "center"):
            center, width = window.center, window.width
        else:
            center, width = window[0], window[1]
        center, width = float(center), float(width)
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    if not np.isfinite(center) or not np.isfinite(width) or width <= 0:
        return None
    return center - width / 2.0, center + width / 2.0


def colourfulness(pixels: np.ndarray) -> float:
    """Hasler-Suesstrunk colourfulness of an RGB image scaled to [0, 1] (0 for gray images)."""
    if pixels.ndim != 3 or pixels.shape[-1] < 3:
        return 0.0
    rgb = pixels[..., :3].astype(np.float32)
    scale = 255.0 if rgb.max() > 1.5 else 1.0
    r, g, b = rgb[..., 0] / scale, rgb[..., 1] / scale, rgb[..., 2] / scale
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


@dataclass
class GrayImage:
    """One 2-D image in [0, 1] plus what grayscale conversion lost (for the OOD check)."""

    pixels: np.ndarray
    colourfulness: float = 0.0


def to_gray01(image: Any, percentiles: tuple[float, float] = (0.5, 99.5)) -> GrayImage:
    """A 2-D gray/RGB(A) array, a (1, H, W[, 3]) stack or a ``MedImage`` -> 2-D float in [0, 1].

    The card's ``dicom-8bit-percentile`` window rule: the DICOM window when present, else /255
    for 8-bit data, else the ``percentiles`` range. Multi-frame input uses its middle frame.
    Raises InputError for anything else.
    """
    window = None
    if hasattr(image, "pixels"):  # core.imaging.MedImage: (frames, H, W[, 3])
        window = getattr(image, "window", None)
        array = np.asarray(image.pixels)
        if array.ndim in (3, 4):
            array = array[array.shape[0] // 2]
    else:
        try:
            array = np.asarray(image)
        except Exception:
            raise InputError("the input is not an image array") from None
        if array.ndim == 3 and array.shape[-1] not in (3, 4) and array.shape[0] >= 1:
            array = array[array.shape[0] // 2]
        if array.ndim == 4:
            array = array[array.shape[0] // 2]
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if array.ndim not in (2, 3) or not np.issubdtype(array.dtype, np.number):
        raise InputError(f"expected a 2-D grayscale or RGB image, got an array of shape {array.shape}")
    if array.ndim == 3 and array.shape[-1] not in (3, 4):
        raise InputError(f"expected a 2-D grayscale or RGB image, got an array of shape {array.shape}")
    if min(array.shape[:2]) < 4:
        raise InputError(f"the image is too small ({array.shape[0]}x{array.shape[1]} px)")
    colour = colourfulness(array)
    eight_bit = array.dtype == np.uint8
    gray = luma(array) if array.ndim == 3 else array.astype(np.float32)
    if not np.all(np.isfinite(gray)):
        gray = np.nan_to_num(gray, nan=0.0, posinf=0.0, neginf=0.0)
    bounds = _window_bounds(window)
    if bounds is None:
        if eight_bit or (gray.min() >= 0 and gray.max() <= 255 and gray.max() > 1.5 and np.allclose(gray, np.round(gray))):
            bounds = (0.0, 255.0)
        elif gray.min() >= 0 and gray.max() <= 1.0:
            bounds = (0.0, 1.0)
        else:
            low, high = np.percentile(gray, list(percentiles))
            bounds = (float(low), float(high) if high > low else float(low) + 1.0)
    low, high = bounds
    return GrayImage(np.clip((gray - low) / (high - low), 0.0, 1.0).astype(np.float32), colour)


def resize01(gray: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Squash a [0, 1] image to ``size`` (bilinear with antialiasing, as in training)."""
    tensor = torch.from_numpy(np.ascontiguousarray(gray, dtype=np.float32))[None, None]
    if tuple(tensor.shape[-2:]) != tuple(size):
        tensor = F.interpolate(tensor, size=tuple(int(s) for s in size), mode="bilinear", antialias=True, align_corners=False)
    return tensor[0, 0].clamp(0, 1).numpy()


def normalise(batch01: torch.Tensor, preprocessing: Preprocessing) -> torch.Tensor:
    """``(x - mean) / std`` from the card."""
    return (batch01 - preprocessing.mean) / preprocessing.std


def prepare(images: Sequence[Any] | Any, spec: ModelSpec) -> tuple[torch.Tensor, list[GrayImage]]:
    """Images -> normalised batch ``(N, 1, H, W)`` at the card's size, and the [0, 1] grays."""
    if not isinstance(images, (list, tuple)):
        images = [images]
    pre = spec.preprocessing
    if pre.window != "dicom-8bit-percentile" or pre.normalisation != "mean-std" or pre.size is None:
        raise ModelError(f"model {spec.name!r}: a classifier's card needs window 'dicom-8bit-percentile', "
                         "normalisation 'mean-std' and a size")
    size = pre.size
    grays = [to_gray01(image, pre.percentiles) for image in images]
    batch = torch.from_numpy(np.stack([resize01(g.pixels, size) for g in grays]))[:, None]
    return normalise(batch, spec.preprocessing), grays


def threshold_of(spec: ModelSpec) -> float:
    """The card's decision threshold on the calibrated P(positive)."""
    return spec.threshold


def dataset_label(spec: ModelSpec, positive: bool) -> int:
    """The label in the data set's own coding for a model decision (card ``label_mapping``)."""
    mapping = spec.card.dataset_label_of_class
    return int(mapping[1] if positive else mapping[0])


def model_class_of_dataset_label(spec: ModelSpec, labels: np.ndarray) -> np.ndarray:
    """Data set labels -> model class indices (1 = the model's positive class)."""
    mapping = list(spec.card.dataset_label_of_class)
    labels = np.asarray(labels).astype(int).ravel()
    unknown = set(np.unique(labels)) - set(mapping)
    if unknown:
        raise InputError(f"labels {sorted(unknown)} are not in this model's coding {mapping}")
    return (labels == int(mapping[1])).astype(int)


def classification_spec(name: str) -> ModelSpec:
    """The spec of a classification model; InputError otherwise."""
    return require_spec(name, "classification")


def batch_probs(name: str, images: Sequence[Any], batch_size: int = 64, device: str | None = None) -> np.ndarray:
    """Calibrated P(positive) for many images (no TTA), in batches."""
    spec = classification_spec(name)
    model = get_model(name, device)
    dev = device_of(model)
    out = []
    for start in range(0, len(images), batch_size):
        batch, _ = prepare(list(images[start : start + batch_size]), spec)
        with torch.no_grad():
            out.append(calibrated_probs(model(batch.to(dev)), spec))
    return np.concatenate(out) if out else np.zeros(0)


@dataclass
class Prediction:
    """One image's result, as the page and the command line show it."""

    prob: float
    interval: tuple[float, float]
    positive: bool
    label: str
    dataset_label: int
    threshold: float
    low_confidence: bool
    confidence_rule: str
    ood: bool
    ood_reason: str
    ood_score: float
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def classify(image: Any, name: str, device: str | None = None, tta: bool = True) -> Prediction:
    """Calibrated probability, TTA interval and confidence flag, OOD flag for one image."""
    spec = classification_spec(name)
    model = get_model(name, device)
    dev = device_of(model)
    batch, grays = prepare(image, spec)
    batch = batch.to(dev)
    with torch.no_grad():
        prob = float(calibrated_probs(model(batch), spec)[0])
    threshold = threshold_of(spec)
    if tta:
        spread = uncertainty.tta_interval(model, batch, spec)
    else:
        spread = uncertainty.Interval(prob, prob, 0.0)
    low = uncertainty.is_low_confidence(prob, spread, spec)
    check = ood.check(model, batch, grays[0], spec)
    labels = list(spec.labels) or ["negative", "positive"]
    positive = prob >= threshold
    return Prediction(
        prob=prob,
        interval=(spread.low, spread.high),
        positive=positive,
        label=labels[1] if positive else labels[0],
        dataset_label=dataset_label(spec, positive),
        threshold=threshold,
        low_confidence=low,
        confidence_rule=uncertainty.rule_text(spec),
        ood=check.flag,
        ood_reason=check.reason,
        ood_score=check.score,
    )
