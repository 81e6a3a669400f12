"""Training of the segmentation models on ``../shared/data/seg`` (``python -m core train segmentation``).

The loop is plain PyTorch over MONAI parts: ``UNet`` (via ``models.segmentation_nets``), dictionary
transforms for augmentation (``core.segmentation.data``), ``DiceCELoss`` and ``DiceMetric``. Early
stopping watches validation Dice; every new best is written at once (weights + card, atomically,
through ``core.trainloop.save_model``) so an interrupted run still leaves usable weights.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from monai.data import DataLoader, Dataset
from monai.losses import DiceCELoss
from monai.metrics import DiceMetric
from monai.utils import set_determinism
from safetensors.torch import load_file

import models  # noqa: F401  (registers the architectures)
from core.cache import device_of
from core.registry import Preprocessing, parse_card, preprocessing_from_dict
from core.segmentation.data import NOTES, RECIPES, Recipe, augmentation, load_cases, make_split, preprocessing_of
from core.segmentation.inference import predict_proba, threshold_and_clean
from core.segmentation.metrics import dice_iou
from core.segmentation.preprocess import prepare, prepare_mask
from core.segmentation.noc import PROTOCOL as NOC_PROTOCOL
from core.segmentation.noc import noc
from core.segmentation.prompts import click_curve
from core.trainloop import EarlyStopping, hardware, save_model, seed_everything, training_device, write_card
from models.architectures import build_architecture


def _load_saved(folder: Path) -> tuple[torch.nn.Module, Preprocessing]:
    """(eval-mode model, preprocessing) from a model folder (card.json + model.safetensors)."""
    spec = parse_card(folder / "card.json")
    model = build_architecture(spec.architecture, **spec.arch_args)
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    return model.eval(), spec.preprocessing


def evaluate_cases(model: torch.nn.Module, cases, preprocessing: Preprocessing, tta: bool = False,
                   within: tuple[torch.nn.Module, Preprocessing] | None = None) -> dict[str, float]:
    """Mean per-image Dice/IoU at the images' own resolution, with threshold and post-processing
    (and, with ``within`` = (model, preprocessing), restricted to that model's mask)."""
    dices, ious = [], []
    for _, image, truth in cases:
        mask = threshold_and_clean(predict_proba(model, image, preprocessing, tta=tta), preprocessing)
        if within is not None:
            mask &= threshold_and_clean(predict_proba(within[0], image, within[1], tta=tta), within[1])
        d, i = dice_iou(mask, truth)
        dices.append(d)
        ious.append(i)
    return {"dice": float(np.mean(dices)), "iou": float(np.mean(ious)), "n": len(cases)}


def train(
    name: str,
    data_root: Path,
    out_dir: Path,
    *,
    seed: int = 0,
    split_seed: int | None = None,
    val_fraction: float = 0.2,
    epochs: int | None = None,
    max_minutes: float | None = None,
    threads: int | None = 1,
    device: str | None = None,
    init_from: str | None = None,
    lr: float | None = None,
    size: int | None = None,
    models_dir: Path | None = None,
    command: str = "",
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train recipe ``name``; write ``out_dir/model.safetensors`` + ``card.json``; return the card.

    ``split_seed`` (default ``seed``) seeds the validation split alone, so runs that differ only in
    their training seed share one split. ``init_from`` (a model folder name beside ``out_dir``), ``lr`` and ``size`` override the recipe. With
    ``init_from == name`` training continues from the saved weights: the new stage only replaces
    them when it beats their validation Dice, and the card keeps the earlier stage's command.
    """
    base = RECIPES[name]
    recipe = replace(base, init_from=init_from or base.init_from, lr=lr or base.lr, size=size or base.size)
    continuing = recipe.init_from == name
    previous_stage = _previous_stage(out_dir) if continuing else None
    if previous_stage:
        command = f"{previous_stage['command']} && {command}"
    split_seed = seed if split_seed is None else split_seed
    models_dir = out_dir.parent if models_dir is None else models_dir
    set_determinism(seed=seed)
    seed_everything(seed, threads)
    dev = training_device(device)
    preprocessing = preprocessing_of(recipe)  # for the card
    pre = preprocessing_from_dict(preprocessing, "segmentation")  # for the code
    size = (recipe.size, recipe.size)

    t_start = time.time()
    splits, train_items, val_sets = {}, [], {}
    for dataset, mask_folder in recipe.sources:
        split = make_split(data_root / dataset, val_fraction, split_seed)
        splits[dataset] = {"train": split["train"], "val": split["val"], "mask_folder": mask_folder}
        for stem, image, mask in load_cases(data_root / dataset, mask_folder, split["train"]):
            train_items.append({"image": prepare(image, pre), "label": prepare_mask(mask, size)})
        val_sets[dataset] = load_cases(data_root / dataset, mask_folder, split["val"])
    val_prepared = [
        (prepare(image, pre), prepare_mask(mask, size)) for cases in val_sets.values() for _, image, mask in cases
    ]
    log(f"{name}: {len(train_items)} training and {len(val_prepared)} validation images "
        f"(loaded in {time.time() - t_start:.0f} s)")

    arch_args = {"in_channels": recipe.channels, "out_channels": 1, **recipe.net}
    model = build_architecture("monai_unet", **arch_args)
    if recipe.init_from:
        init_path = models_dir / recipe.init_from / "model.safetensors"
        model.load_state_dict(load_file(str(init_path)))
        log(f"initialised from {init_path}")
    model.to(dev)

    loader = DataLoader(
        Dataset(train_items, transform=augmentation(recipe.augment, seed)),
        batch_size=recipe.batch_size,
        shuffle=True,
        num_workers=0,
        generator=torch.Generator().manual_seed(seed),
        drop_last=True,
    )
    loss_fn = DiceCELoss(sigmoid=True, smooth_nr=1e-5, smooth_dr=1e-5)
    optimiser = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=1e-4)
    total_epochs = {"n": epochs or recipe.epochs}
    warmup = 2
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser,
        lambda e: min(1.0, (e + 1) / warmup) * 0.5 * (1 + np.cos(np.pi * min(1.0, e / max(1, total_epochs["n"])))),
    )
    metric = DiceMetric(include_background=True, reduction="mean", ignore_empty=False)

    history: list[dict[str, float]] = []
    stopper = EarlyStopping(patience=recipe.patience, best=-1.0)
    best = {"dice": -1.0, "epoch": 0}
    if continuing:  # the saved weights are the bar this stage has to clear
        stopper.best = best["dice"] = _val_dice(model, val_prepared, metric, dev)
        log(f"continuing from validation Dice {best['dice']:.4f}")
    train_start = time.time()
    epoch = 0
    while epoch < total_epochs["n"]:
        epoch += 1
        t0 = time.time()
        model.train()
        losses = []
        for batch in loader:
            images = batch["image"].to(dev).float()
            labels = batch["label"].to(dev).float()
            optimiser.zero_grad()
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        scheduler.step()
        val_dice = _val_dice(model, val_prepared, metric, dev)
        seconds = time.time() - t0
        history.append({"epoch": epoch, "loss": round(float(np.mean(losses)), 4), "val_dice": round(val_dice, 4),
                        "seconds": round(seconds, 1)})
        if max_minutes:  # re-plan the cosine schedule so it ends inside the time budget
            elapsed = time.time() - train_start
            affordable = epoch + int((max_minutes * 60 - elapsed) / (elapsed / epoch))
            if affordable < total_epochs["n"]:
                total_epochs["n"] = max(epoch + 1, affordable)
                log(f"mean epoch {elapsed / epoch:.1f} s; planning {total_epochs['n']} epochs within {max_minutes} min")
        improved = stopper.step(val_dice)
        log(f"epoch {epoch}/{total_epochs['n']} loss {np.mean(losses):.4f} val dice {val_dice:.4f} "
            f"{seconds:.1f} s{' *' if improved else ''}")
        if improved:
            best = {"dice": val_dice, "epoch": epoch}
            card = _card(recipe, preprocessing, arch_args, splits, data_root, seed, split_seed, val_fraction, history,
                         best, time.time() - t_start, dev, command, final=None, previous_stage=previous_stage)
            save_model(out_dir, model, card)
        if stopper.should_stop:
            log(f"early stop: no gain in validation Dice for {recipe.patience} epochs")
            break
        if max_minutes and time.time() - train_start > max_minutes * 60:
            log("time budget spent")
            break

    if continuing and best["epoch"] == 0:
        log("this stage did not beat the saved weights: weights and card left as they were")
        return json.loads((out_dir / "card.json").read_text())

    # Final, honest figures: the best weights, at each image's own resolution, per data set.
    model.load_state_dict(load_file(str(out_dir / "model.safetensors")))
    final, preprocessing = final_figures(model.eval(), recipe.name, val_sets, preprocessing, models_dir / "lungs-cxr", log)
    card = _card(recipe, preprocessing, arch_args, splits, data_root, seed, split_seed, val_fraction, history, best,
                 time.time() - t_start, dev, command, final=final, previous_stage=previous_stage)
    write_card(out_dir, card)
    return card


def final_figures(model: torch.nn.Module, recipe_name: str, val_sets: dict[str, list], preprocessing: dict[str, Any],
                  lungs_dir: Path, log: Callable[[str], None] = print, clicks: bool = True,
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The card's figures of trained weights on each data set's validation cases: Dice/IoU with and
    without flip TTA, the click curve, latency, and for an opacity model the opacity report. An
    opacity model is restricted to the lungs found by ``lungs_dir`` when that helps on validation;
    the returned preprocessing then says so (``within``)."""
    pre = preprocessing_from_dict(preprocessing, "segmentation")
    final: dict[str, Any] = {"per_dataset": {}, "tta": {}}
    within = None
    if recipe_name == "opacity-cxr":
        final["opacity"] = opacity_report(model, [c for cases in val_sets.values() for c in cases], pre, lungs_dir)
        log(f"opacity report: {final['opacity']}")
        if (final["opacity"]["dice_on_images_with_opacity_within_lungs"] or 0) > (
                final["opacity"]["dice_on_images_with_opacity"] or 0):
            preprocessing = {**preprocessing, "within": "lungs-cxr"}  # inference restricts opacity to the lungs
            pre = preprocessing_from_dict(preprocessing, "segmentation")
            within = _load_saved(lungs_dir)
            log("opacity restricted to the lungs at inference (better validation Dice)")
    for dataset, cases in val_sets.items():
        final["per_dataset"][dataset] = evaluate_cases(model, cases, pre, within=within)
        final["tta"][dataset] = evaluate_cases(model, cases, pre, tta=True, within=within)
        log(f"{dataset}: {final['per_dataset'][dataset]} (flip TTA: {final['tta'][dataset]})")
    if clicks:
        final["clicks"] = click_report(model, val_sets, pre)
        log(f"clicks: {final['clicks']}")
    final["latency"] = measure_latency(model, pre)
    return final, preprocessing


HOW = ("mean per-image Dice/IoU on the validation split at each image's own resolution, threshold 0.5 and the "
       "card's post-processing (core.segmentation.training.evaluate_cases)")


def final_metrics(final: dict[str, Any], how: str = HOW) -> dict[str, Any]:
    """The card's ``metrics`` entries for the figures of ``final_figures``."""
    metrics: dict[str, Any] = {}
    for dataset, scores in final["per_dataset"].items():
        metrics[f"val_dice_{dataset}"] = round(scores["dice"], 4)
        metrics[f"val_iou_{dataset}"] = round(scores["iou"], 4)
        metrics[f"val_n_{dataset}"] = scores["n"]
        metrics[f"val_dice_{dataset}_flip_tta"] = round(final["tta"][dataset]["dice"], 4)
    metrics["how"] = how
    metrics.update({k: final[k] for k in ("latency", "clicks", "opacity") if k in final})
    return metrics


def card_head(name: str, recipe: Recipe, description: str, architecture: dict[str, Any],
              preprocessing: dict[str, Any]) -> dict[str, Any]:
    """What every segmentation card says first: identity, modality (from the data recipe), network, input."""
    return {"name": name, "task": "segmentation", "modality": recipe.modality, "body_part": recipe.body_part,
            "description": description, "architecture": architecture, "weights": "model.safetensors",
            "preprocessing": preprocessing}


def _val_dice(model: torch.nn.Module, val_prepared, metric, dev: torch.device) -> float:
    """Mean validation Dice at model resolution, threshold 0.5 (the early-stopping signal)."""
    model.eval()
    metric.reset()
    with torch.no_grad():
        for i in range(0, len(val_prepared), 16):
            chunk = val_prepared[i : i + 16]
            x = torch.from_numpy(np.stack([c[0] for c in chunk])).to(dev)
            y = torch.from_numpy(np.stack([c[1] for c in chunk])).to(dev)
            metric(y_pred=(torch.sigmoid(model(x)) > 0.5).float(), y=y)
    return float(metric.aggregate().item())


def _previous_stage(out_dir: Path) -> dict[str, Any] | None:
    """What the card of the weights being continued says about how they were made."""
    path = out_dir / "card.json"
    if not path.exists():
        return None
    card = json.loads(path.read_text())
    training = card.get("training", {})
    stage = {k: training.get(k) for k in ("epochs_run", "best_epoch", "optimiser", "wall_time_s", "hardware")}
    return {"command": card.get("command", ""), **stage,
            "val_metrics": {k: v for k, v in card.get("metrics", {}).items() if k.startswith("val_dice")}}


CLICK_CASES = 40  # validation images per data set for the click curve (each costs 6 refinements)


def click_report(model: torch.nn.Module, val_sets: dict[str, list], preprocessing: Preprocessing,
                 n_max: int = CLICK_CASES) -> dict[str, Any]:
    """Mean Dice after 0/1/3/5 simulated clicks on the first ``n_max`` validation images of each set."""
    report: dict[str, Any] = {"protocol": "click at the centre of the largest error region (RITM/Xu et al.); "
                                          "refinement of the probability map seeded at the clicks (core.segmentation.prompts)"}
    for dataset, cases in val_sets.items():
        subset = cases[:n_max]
        report[dataset] = {**click_curve(model, subset, preprocessing), "n": len(subset)}
    return report


def opacity_report(model: torch.nn.Module, cases, preprocessing: Preprocessing, lungs_dir: Path) -> dict[str, Any]:
    """Opacity figures: Dice on images with opacity (alone and restricted to the lungs found by
    ``lungs-cxr``), and detection (image has opacity <-> prediction non-empty)."""
    lungs, lungs_pre = _load_saved(lungs_dir)
    dice, dice_lungs, detected, false_alarm, positives, negatives = [], [], 0, 0, 0, 0
    for _, image, truth in cases:
        mask = threshold_and_clean(predict_proba(model, image, preprocessing), preprocessing)
        lung = threshold_and_clean(predict_proba(lungs, image, lungs_pre), lungs_pre)
        if truth.any():
            positives += 1
            dice.append(dice_iou(mask, truth)[0])
            dice_lungs.append(dice_iou(mask & lung, truth)[0])
            detected += bool((mask & truth).any())
        else:
            negatives += 1
            false_alarm += bool(mask.any())
    return {
        "dice_on_images_with_opacity": round(float(np.mean(dice)), 4) if dice else None,
        "dice_on_images_with_opacity_within_lungs": round(float(np.mean(dice_lungs)), 4) if dice_lungs else None,
        "detection_rate": round(detected / positives, 4) if positives else None,
        "n_with_opacity": positives,
        "false_alarms_on_images_without_opacity": f"{false_alarm}/{negatives}",
    }


def record_click_curve(name: str, data_root: Path, out_dir: Path, threads: int | None = 1,
                       log: Callable[[str], None] = print) -> dict[str, Any]:
    """(Re)measure the click curve of saved weights on the card's validation split; update the card."""
    if threads:
        torch.set_num_threads(threads)
    card = json.loads((out_dir / "card.json").read_text())
    model, pre = _load_saved(out_dir)
    val_sets = {d["dataset"]: load_cases(data_root / d["dataset"], d["masks"], card["split"][d["dataset"]]["val"])
                for d in card["data"]["sources"]}
    report = click_report(model, val_sets, pre)
    report["command"] = f"python -m core train segmentation --model {name} --clicks-only"
    card["metrics"]["clicks"] = report
    write_card(out_dir, card)
    log(f"clicks: {report}")
    return report


def record_noc(name: str, data_root: Path, out_dir: Path, max_clicks: int = 20) -> dict[str, Any]:
    """NoC@85/90 of saved weights on each data set of the card's validation split; written to the card."""
    card = json.loads((out_dir / "card.json").read_text())
    model, pre = _load_saved(out_dir)
    report: dict[str, Any] = {"protocol": NOC_PROTOCOL.format(cap=max_clicks),
                              "command": f"python -m core train segmentation --model {name} --noc-only"}
    for source in card["data"]["sources"]:
        dataset = source["dataset"]
        cases = load_cases(data_root / dataset, source["masks"], card["split"][dataset]["val"])
        report[dataset] = noc(model, cases, pre, max_clicks=max_clicks)
    card["metrics"]["noc"] = report
    write_card(out_dir, card)
    return report


def measure_latency(model: torch.nn.Module, preprocessing: Preprocessing, repeats: int = 5) -> dict[str, Any]:
    """Median seconds per 512x512 image through ``predict_proba`` on the current device/threads."""
    channels = preprocessing.channels
    image = np.random.default_rng(0).random((512, 512, channels) if channels == 3 else (512, 512)).astype(np.float32)
    predict_proba(model, image, preprocessing)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        predict_proba(model, image, preprocessing)
        times.append(time.perf_counter() - t0)
    return {"median_s_per_512px_image": round(float(np.median(times)), 4), "threads": torch.get_num_threads(),
            "device": str(device_of(model))}


def _card(recipe, preprocessing, arch_args, splits, data_root, seed, split_seed, val_fraction, history, best, wall,
          dev, command, final, previous_stage: dict[str, Any] | None = None) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "selection": f"best validation Dice at model resolution {best['dice']:.4f} (epoch {best['epoch']})",
    }
    if final:
        metrics.update(final_metrics(final))
    else:
        metrics["note"] = "training in progress: weights are the best so far; final figures follow at the end"
    return {
        **card_head(recipe.name, recipe, recipe.description, {"name": "monai_unet", "args": arch_args}, preprocessing),
        "notes": NOTES,
        "labels": list(recipe.labels),
        "data": {
            "root": "../shared/data/seg (README.md there: sources, licences, held-out part)",
            "sources": [{"dataset": d, "masks": m} for d, m in recipe.sources],
            "initialised_from": recipe.init_from,
        },
        "split": {
            "how": f"per data set, seeded shuffle (seed {split_seed}) of patients (v7_covid_lung, from sources.csv) or cases; "
                   f"{val_fraction:.0%} validation",
            **{d: {"n_train": len(s["train"]), "n_val": len(s["val"]), "val": s["val"]} for d, s in splits.items()},
        },
        "metrics": metrics,
        "training": {
            "epochs_run": len(history),
            "best_epoch": best["epoch"],
            "loss": "MONAI DiceCELoss (sigmoid)",
            "optimiser": f"AdamW lr {recipe.lr}, weight decay 1e-4, cosine schedule, batch {recipe.batch_size}",
            "augmentation": recipe.augment,
            "early_stopping": f"patience {recipe.patience} epochs on validation Dice",
            "seed": seed,
            "wall_time_s": round(wall, 1),
            "hardware": hardware(dev),
            "torch": torch.__version__,
            "history": history,
            **({"previous_stage": previous_stage} if previous_stage else {}),
        },
        "command": command or f"python -m core train segmentation --model {recipe.name}",
        "intended_use": recipe.intended_use,
    }
