"""Read an evaluation folder pair: images and masks matched by name (``service.evaluate`` scores them).

Images and masks are matched by file name (stem, so ``a.png`` matches ``a.png`` or ``a.dcm``);
masks may be any size (the prediction is resized to the mask); an image whose true mask is
empty scores 1 if the prediction is empty too, else 0 (``core.segmentation.metrics``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from core.errors import InputError
from core.imaging import load


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
