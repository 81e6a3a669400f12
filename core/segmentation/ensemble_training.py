"""A segmentation ensemble: one recipe trained with several seeds on one split, averaged.

Each member is a full run of the base recipe (``core.segmentation.training.train``) with its own
training seed and the base recipe's validation split (split seed 0), kept in a folder outside the
repository so an interrupted ensemble resumes at the first unfinished member. The members'
weights are then stacked into one ``mean_ensemble`` model (``models.ensemble``: the mean of the
members' logits), measured on the same validation cases as the base model by the same code, and
written with its own card; it supersedes the base model only when its validation Dice is higher.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors.torch import load_file

import models  # noqa: F401  (registers the architectures)
from core.paths import data_dir, ensure_private_dir
from core.registry import MODELS_DIR
from core.segmentation.data import NOTES, RECIPES, load_cases
from core.segmentation.pretrained_training import compare_with_base
from core.segmentation.training import card_head, final_figures, final_metrics, train
from core.trainloop import hardware, save_model, stored_float16, training_device
from models.architectures import build_architecture


@dataclass(frozen=True)
class EnsembleRecipe:
    """``members`` runs of recipe ``base`` with seeds 0 .. members - 1 on the base's split."""

    name: str
    base: str
    members: int
    description: str


ENSEMBLE_RECIPES: dict[str, EnsembleRecipe] = {
    "opacity-cxr-ensemble": EnsembleRecipe(
        name="opacity-cxr-ensemble",
        base="opacity-cxr",
        members=5,
        description=("Lung opacities (ground glass + consolidation) on frontal chest X-ray; mean of five U-Nets "
                     "fine-tuned from lungs-cxr with training seeds 0-4 on one split (opacity-cxr is seed 0)."),
    ),
}


def member_command(recipe: EnsembleRecipe, seed: int) -> str:
    return f"python -m core train segmentation --model {recipe.base} --seed {seed} --split-seed 0"


def _finished(folder: Path) -> bool:
    """A member run that reached its final figures (an interrupted one has only 'best so far')."""
    path = folder / "card.json"
    return path.exists() and "latency" in json.loads(path.read_text()).get("metrics", {})


def train_ensemble(name: str, data_root: Path, out_dir: Path, *, workdir: Path | None = None,
                   threads: int | None = 1, device: str | None = None, models_dir: Path = MODELS_DIR,
                   epochs: int | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train (or resume) the members of ensemble ``name``, combine them into ``out_dir``; return the card.
    ``epochs`` caps each member's epochs (smoke runs)."""
    recipe = ENSEMBLE_RECIPES[name]
    base = RECIPES[recipe.base]
    workdir = workdir or data_dir() / "checkpoints" / name
    ensure_private_dir(workdir)
    started = time.time()
    member_cards = []
    for seed in range(recipe.members):
        folder = workdir / f"member-{seed}"
        if _finished(folder):
            log(f"member {seed}: already trained ({folder})")
        else:
            log(f"member {seed}: training ({member_command(recipe, seed)})")
            train(recipe.base, data_root, folder, seed=seed, split_seed=0, threads=threads, device=device,
                  models_dir=models_dir, epochs=epochs, command=member_command(recipe, seed), log=log)
        member_cards.append(json.loads((folder / "card.json").read_text()))

    if threads:
        torch.set_num_threads(threads)  # also for the figures below when no member needed training
    first = member_cards[0]
    member_arch = first["architecture"]
    architecture = {"name": "mean_ensemble", "args": {"member": member_arch, "n": recipe.members}}
    state = {f"members.{seed}.{key}": stored_float16(tensor) for seed in range(recipe.members)
             for key, tensor in load_file(str(workdir / f"member-{seed}" / "model.safetensors")).items()}
    model = build_architecture(architecture["name"], **architecture["args"])
    model.load_state_dict(state)  # into float32 parameters: the figures below are those of the stored weights
    model.to(training_device(device)).eval()

    val_sets = {source["dataset"]: load_cases(data_root / source["dataset"], source["masks"],
                                              first["split"][source["dataset"]]["val"])
                for source in first["data"]["sources"]}
    preprocessing = {k: v for k, v in first["preprocessing"].items() if k != "within"}  # decided again below
    final, preprocessing = final_figures(model, recipe.base, val_sets, preprocessing, models_dir / "lungs-cxr", log)
    card = _card(recipe, base, first, member_cards, architecture, preprocessing, final,
                 time.time() - started, model)
    card = compare_with_base(card, models_dir / recipe.base / "card.json")
    save_model(out_dir, state, card)
    return card


def _card(recipe: EnsembleRecipe, base, first: dict[str, Any], member_cards: list[dict[str, Any]],
          architecture: dict[str, Any], preprocessing: dict[str, Any], final: dict[str, Any], combine_s: float,
          model: torch.nn.Module) -> dict[str, Any]:
    metrics = final_metrics(final, how=("mean per-image Dice/IoU on the validation split at each image's own "
                                         "resolution, threshold 0.5 on the mean of the members' logits and the card's "
                                         "post-processing (core.segmentation.training.evaluate_cases)"))
    for dataset in final["per_dataset"]:
        metrics[f"members_val_dice_{dataset}"] = [m["metrics"].get(f"val_dice_{dataset}") for m in member_cards]
    device = next(model.parameters()).device
    return {
        **card_head(recipe.name, base, recipe.description, architecture, preprocessing),
        "notes": {**NOTES, "output": "the mean of the members' logits; sigmoid gives the foreground probability",
                  "weights": "stored as float16, computed in float32; the figures are those of the stored weights"},
        "labels": list(base.labels),
        "data": first["data"],
        "split": first["split"],
        "metrics": metrics,
        "training": {
            "members": [{"seed": m["training"]["seed"], "best_epoch": m["training"]["best_epoch"],
                         "epochs_run": m["training"]["epochs_run"], "wall_time_s": m["training"]["wall_time_s"],
                         "hardware": m["training"]["hardware"], "command": m["command"]} for m in member_cards],
            "loss": first["training"]["loss"], "optimiser": first["training"]["optimiser"],
            "augmentation": first["training"]["augmentation"],
            "early_stopping": first["training"]["early_stopping"],
            "wall_time_s": round(sum(m["training"]["wall_time_s"] for m in member_cards) + combine_s, 1),
            "hardware": hardware(device),
            "torch": torch.__version__,
        },
        "command": f"python -m core train segmentation --model {recipe.name}",
        "intended_use": base.intended_use,
    }
