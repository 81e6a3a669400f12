"""A segmentation model's input preparation, driven by the ``preprocessing`` of its card.

The same functions feed training and inference, so a model always sees its input the way it
was trained. Keys of ``preprocessing`` used here:

- ``size`` ``[h, w]``: the network input size (the image is stretched to it, aspect not kept).
- ``channels``: 1 (grayscale: colour input is converted to luminance) or 3 (RGB: gray input is
  repeated).
- ``normalisation``: ``"percentile"`` maps the ``percentiles`` ``[low, high]`` of the image to
  [0, 1] and clips (robust to any bit depth or modality unit).
"""

from __future__ import annotations


import numpy as np
import torch
import torch.nn.functional as F

from core.errors import InputError, ModelError
from core.preprocess.colour import luma
from core.registry import Preprocessing


def to_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """``(H, W)``, ``(H, W, 1|3|4)`` -> float32 ``(H, W, channels)``.

    Colour to gray uses ITU-R 601 luminance; gray to colour repeats the plane; an alpha
    channel is dropped.
    """
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 2, 3, 4) or min(array.shape[:2]) < 2:
        raise InputError(f"expected a 2-D image (H, W) or (H, W, C), got shape {tuple(np.shape(image))}")
    if array.shape[-1] == 2:  # gray + alpha
        array = array[..., :1]
    if array.shape[-1] == 4:  # RGBA
        array = array[..., :3]
    if channels == 1 and array.shape[-1] == 3:
        array = luma(array)[..., None]
    elif channels == 3 and array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    if not np.isfinite(array).all():
        array = np.nan_to_num(array, nan=0.0, posinf=0.0, neginf=0.0)
    return array


def normalise(image: np.ndarray, preprocessing: Preprocessing) -> np.ndarray:
    """Intensity normalisation named by the card (see module docstring)."""
    if preprocessing.normalisation != "percentile":
        raise ModelError(f"segmentation needs percentile normalisation, not {preprocessing.normalisation!r}")
    low_p, high_p = preprocessing.percentiles
    low, high = np.percentile(image, [low_p, high_p])
    if high - low < 1e-6:
        return np.zeros_like(image, dtype=np.float32)
    return np.clip((image - low) / (high - low), 0.0, 1.0).astype(np.float32)


def resize(array: torch.Tensor, size: tuple[int, int], mode: str = "bilinear") -> torch.Tensor:
    """Resize a ``(N, C, H, W)`` tensor; antialiased when shrinking with bilinear."""
    if tuple(array.shape[-2:]) == tuple(size):
        return array
    if mode == "nearest":
        return F.interpolate(array, size=size, mode="nearest")
    shrink = size[0] < array.shape[-2] or size[1] < array.shape[-1]
    return F.interpolate(array, size=size, mode="bilinear", align_corners=False, antialias=shrink)


def prepare(image: np.ndarray, preprocessing: Preprocessing) -> np.ndarray:
    """Image ``(H, W[, C])`` in any range -> network input ``(C, h, w)`` float32."""
    if preprocessing.size is None:
        raise ModelError("the model card names no input size")
    size = preprocessing.size
    array = normalise(to_channels(image, preprocessing.channels), preprocessing)
    tensor = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None]
    return resize(tensor, size)[0].numpy()


def prepare_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Binary mask ``(H, W)`` -> float32 ``(1, h, w)`` in {0, 1} (bilinear, then > 0.5)."""
    tensor = torch.from_numpy((np.asarray(mask) > 0).astype(np.float32))[None, None]
    return (resize(tensor, tuple(size)) > 0.5).float()[0].numpy()
