"""Per-image overlap scores of binary masks, with the empty-truth rule of the evaluate command.

An image whose true mask is empty scores Dice = IoU = 1 when the prediction is empty too, else 0.
MONAI's ``compute_dice``/``compute_iou`` give NaN (or ignore) in that case, so the rule is
applied here on top of them.
"""

from __future__ import annotations

import numpy as np
import torch
from monai.metrics import compute_dice, compute_iou


def dice_iou(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Dice and IoU of two boolean masks of the same shape."""
    pred = np.asarray(pred, dtype=bool)
    truth = np.asarray(truth, dtype=bool)
    if pred.shape != truth.shape:
        raise ValueError(f"mask shapes differ: {pred.shape} vs {truth.shape}")
    if not truth.any():
        score = 1.0 if not pred.any() else 0.0
        return score, score
    p = torch.from_numpy(pred)[None, None].float()
    t = torch.from_numpy(truth)[None, None].float()
    dice = compute_dice(p, t, include_background=True, ignore_empty=False)
    iou = compute_iou(p, t, include_background=True, ignore_empty=False)
    return float(dice.item()), float(iou.item())
