"""Evaluate a segmentation model on a folder of images and a folder of masks.

Images and masks are matched by file name (stem, so ``a.png`` matches ``a.png`` or ``a.dcm``);
masks may be any size (the prediction is resized to the mask); an image whose true mask is
empty scores 1 if the prediction is empty too, else 0 (``core.segmentation.metrics``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from core.errors import InputError
from core.imaging import load
from core.registry import get_spec
from core.segmentation.inference import segment, threshold_and_clean
from core.segmentation.metrics import dice_iou
from core.segmentation.preprocess import resize


def _files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise InputError(f"not a folder: {folder}")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            stem = path.name[:-7] if path.name.endswith(".nii.gz") else path.stem
            found.setdefault(stem, path)
    return found


def read_mask(path: Path) -> np.ndarray:
    """A mask file (PNG, NIfTI, DICOM...) -> bool ``(H, W)`` (nonzero = structure)."""
    pixels = load(str(path)).frame(0)
    if pixels.ndim == 3:
        pixels = pixels.max(axis=-1)
    return pixels > 0


def read_image(path: Path) -> np.ndarray:
    return load(str(path)).frame(0)


def matched_cases(images_dir: Path, masks_dir: Path) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, image, mask)`` for every image with a mask of the same name."""
    images, masks = _files(Path(images_dir)), _files(Path(masks_dir))
    common = sorted(set(images) & set(masks))
    if not common:
        raise InputError(f"no image in {images_dir} has a mask of the same name in {masks_dir}")
    for stem in common:
        yield stem, read_image(images[stem]), read_mask(masks[stem])


def evaluate_folder(model_name: str, images_dir: Path, masks_dir: Path, tta: bool = False,
                    device: str | None = None) -> dict[str, Any]:
    """``{"model", "dice", "iou", "n"}``: mean per-image Dice/IoU at the model's threshold."""
    dices, ious = [], []
    for _, image, truth in matched_cases(images_dir, masks_dir):
        result = segment(image, model_name, tta=tta, device=device)
        mask = result.mask
        if mask.shape != truth.shape:
            prob = torch.from_numpy(result.prob)[None, None]
            prob = resize(prob, truth.shape)[0, 0].numpy()
            mask = threshold_and_clean(prob, get_spec(model_name).preprocessing, result.threshold)
        d, i = dice_iou(mask, truth)
        dices.append(d)
        ious.append(i)
    return {"model": model_name, "dice": float(np.mean(dices)), "iou": float(np.mean(ious)), "n": len(dices)}
