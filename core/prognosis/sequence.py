"""Heartbeat sequences: input checks, signal augmentation, training, CV, saliency.

Series are z-normalised one by one (as the UCR archive does) and must have the model's
length. Augmentation suited to single beats: amplitude scaling, Gaussian jitter, a small
circular time shift and a smooth magnitude warp. The recurrent model and its 1-D CNN
baseline are trained with the same recipe and compared with stratified k-fold CV on the
official TRAIN split (the TEST splits are withheld).
"""

from __future__ import annotations

import time as _time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from core.errors import InputError
from core.trainloop import training_device


@dataclass(frozen=True)
class SequenceRecipe:
    epochs: int = 60
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-3
    scale: float = 0.1       # amplitude factor in [1 - scale, 1 + scale]
    jitter: float = 0.05     # Gaussian noise SD (series are z-normalised)
    shift: int = 4           # circular shift up to +-shift steps
    warp: float = 0.1        # smooth magnitude warp amplitude

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SequenceRecipe":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def znormalise(x: np.ndarray) -> np.ndarray:
    """Per-series zero mean, unit SD (a flat series stays zero)."""
    x = np.asarray(x, np.float32)
    sd = x.std(axis=1, keepdims=True)
    return ((x - x.mean(axis=1, keepdims=True)) / np.where(sd > 1e-8, sd, 1.0)).astype(np.float32)


def check_length(x: np.ndarray, length: int, model: str = "") -> np.ndarray:
    """Series as (n, length) or an ``InputError`` naming the expected and found length."""
    x = np.atleast_2d(np.asarray(x, np.float32))
    if x.ndim != 2 or x.shape[1] != length:
        raise InputError(f"field 'sequence length' must be {length} time steps for {model or 'this model'} "
                         f"(got {x.shape[-1]})")
    if not np.isfinite(x).all():
        raise InputError("field 'sequence' has missing or non-finite values")
    return x


def encode_labels(labels: np.ndarray, codes: list[str]) -> np.ndarray:
    """File labels (e.g. ``-1``/``1``) -> class indices in ``codes`` order."""
    lookup = {c: i for i, c in enumerate(codes)}
    unknown = sorted({str(v) for v in labels} - set(lookup))
    if unknown:
        raise InputError(f"field 'label' has value(s) {', '.join(unknown)}; expected {', '.join(codes)}")
    return np.asarray([lookup[str(v)] for v in labels], np.int64)


def augment(x: torch.Tensor, recipe: SequenceRecipe, generator: torch.Generator) -> torch.Tensor:
    n, length = x.shape
    scale = 1 + (torch.rand(n, 1, generator=generator) * 2 - 1) * recipe.scale
    x = x * scale + torch.randn(x.shape, generator=generator) * recipe.jitter
    if recipe.warp:
        knots = 1 + torch.randn(n, 1, 4, generator=generator) * recipe.warp
        x = x * F.interpolate(knots, size=length, mode="linear", align_corners=True).squeeze(1)
    if recipe.shift:
        shifts = torch.randint(-recipe.shift, recipe.shift + 1, (n,), generator=generator)
        idx = (torch.arange(length).unsqueeze(0) - shifts.unsqueeze(1)) % length
        x = torch.gather(x, 1, idx)
    return x


def train_net(arch: str, args: dict[str, Any], x: np.ndarray, y: np.ndarray, recipe: SequenceRecipe,
              seed: int = 0) -> torch.nn.Module:
    """Train one network from scratch (AdamW, cosine schedule, augmentation) on ``training_device()``
    (``MEDLENS_DEVICE``); returned on the CPU in eval mode."""
    import models  # noqa: F401
    from models.architectures import build_architecture

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)  # shuffling and augmentation draw on the CPU
    device = training_device()
    net = build_architecture(arch, **args).to(device)
    xt, yt = torch.from_numpy(znormalise(x)), torch.from_numpy(y)
    optimiser = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps = recipe.epochs * int(np.ceil(len(y) / recipe.batch_size))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=recipe.lr, total_steps=steps)
    net.train()
    for _ in range(recipe.epochs):
        order = torch.randperm(len(y), generator=generator)
        for start in range(0, len(y), recipe.batch_size):
            idx = order[start:start + recipe.batch_size]
            if len(idx) < 2:
                continue
            loss = F.cross_entropy(net(augment(xt[idx], recipe, generator).to(device)), yt[idx].to(device))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    return net.cpu().eval()


def predict_proba(net: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return torch.softmax(net(torch.from_numpy(znormalise(x))), dim=1).numpy()


def scores(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    pred = proba.argmax(axis=1)
    return {"acc": round(float(accuracy_score(y, pred)), 4),
            "macro_f1": round(float(f1_score(y, pred, average="macro", labels=np.arange(proba.shape[1]),
                                             zero_division=0)), 4),
            "n": int(len(y))}


def cross_validate(arch: str, args: dict[str, Any], x: np.ndarray, y: np.ndarray, recipe: SequenceRecipe,
                   k: int = 5, seed: int = 0) -> dict[str, Any]:
    """Stratified k-fold CV accuracy / macro-F1 (pooled over folds) and per-fold accuracy."""
    import warnings

    from sklearn.model_selection import StratifiedKFold

    started = _time.perf_counter()
    proba = np.zeros((len(y), int(args["num_classes"])), np.float32)
    fold_acc = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ECG5000 class 5 has 2 members < k
        splits = list(StratifiedKFold(k, shuffle=True, random_state=seed).split(x, y))
    for fold, (tr, te) in enumerate(splits):
        net = train_net(arch, args, x[tr], y[tr], recipe, seed=seed * 100 + fold)
        proba[te] = predict_proba(net, x[te])
        fold_acc.append(float((proba[te].argmax(1) == y[te]).mean()))
    out = scores(y, proba)
    out.update({"fold_acc": [round(a, 4) for a in fold_acc], "acc_sd": round(float(np.std(fold_acc)), 4),
                "cv": k, "seed": seed, "seconds": round(_time.perf_counter() - started, 1)})
    return out


def saliency(net: torch.nn.Module, series: np.ndarray, target: int | None = None) -> tuple[np.ndarray, int]:
    """Per-step importance of one series for the predicted (or ``target``) class, scaled to [0, 1].

    |d logit / d input| (gradient saliency) for differentiable networks; for models whose
    output is a step function of the input (MiniRocket's PPV features, ``differentiable =
    False``) the gradient is zero, so occlusion is used instead (see ``occlusion_saliency``).
    """
    if not getattr(net, "differentiable", True):
        return occlusion_saliency(net, series, target)
    x = torch.from_numpy(znormalise(series[None])).requires_grad_(True)
    with torch.enable_grad():
        logits = net(x)
        cls = int(logits.argmax(1)) if target is None else int(target)
        logits[0, cls].backward()
    grad = x.grad[0].abs().numpy()
    return grad / (grad.max() or 1.0), cls


def occlusion_saliency(net: torch.nn.Module, series: np.ndarray, target: int | None = None,
                       window: int = 8) -> tuple[np.ndarray, int]:
    """Drop in the class probability when a ``window`` of steps is flattened to the series mean (0 after
    z-normalisation), averaged over the windows covering each step; scaled to [0, 1]."""
    x = znormalise(series[None])[0]
    length = len(x)
    starts = np.arange(0, max(1, length - window + 1))
    batch = np.repeat(x[None], len(starts) + 1, axis=0)
    for i, s in enumerate(starts, start=1):
        batch[i, s:s + window] = 0.0
    with torch.no_grad():
        proba = torch.softmax(net(torch.from_numpy(batch)), dim=1).numpy()
    cls = int(proba[0].argmax()) if target is None else int(target)
    drop = np.clip(proba[0, cls] - proba[1:, cls], 0, None)
    total, count = np.zeros(length), np.zeros(length)
    for d, s in zip(drop, starts):
        total[s:s + window] += d
        count[s:s + window] += 1
    sal = total / np.maximum(count, 1)
    return sal / (sal.max() or 1.0), cls
