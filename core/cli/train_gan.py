"""``python -m core train gan``: reproduce a committed conditional generator and its card."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import torch

from core.errors import InputError
from core.paths import data_dir, shared_data_dir
from core.synthesis.data import RECIPES
from core.synthesis.training import measure_card, train

HELP = "train a class-conditional GAN (pneumonia-cgan, breast-cgan) from ../shared/data and write its card"

REPO = Path(__file__).resolve().parents[2]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="recipe name: pneumonia-cgan or breast-cgan")
    parser.add_argument("--data", default=None, help="the shared data folder (default ../shared/data)")
    parser.add_argument("--out", help="folder for card.json + model.safetensors (default models/<name>)")
    parser.add_argument("--workdir", help="checkpoints and caches (default ~/.medlens/training/<name>)")
    parser.add_argument("--steps", type=int, help="override the recipe's steps")
    parser.add_argument("--max-minutes", type=float, help="stop after this wall time (the latest generator is kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from the workdir checkpoint")
    parser.add_argument("--measure-only", action="store_true",
                        help="only (re)measure the quality figures of the existing generator with its classifier")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--diffaug-colour", choices=["on", "off"], default=None,
                        help="random brightness/contrast in the differentiable augmentation (default: the recipe's)")
    parser.add_argument("--mode-seeking", type=float, default=None,
                        help="weight of the mode-seeking term, 0 = off (default: the recipe's)")
    parser.add_argument("--mbstd-group", type=int, default=None,
                        help="minibatch-std layer in the discriminator over groups of this size, 0 = off "
                             "(default: the recipe's)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.model not in RECIPES:
        raise InputError(f"unknown recipe {args.model!r}; valid: {', '.join(sorted(RECIPES))}")
    if args.mode_seeking is not None and not 0 <= args.mode_seeking <= 100:
        raise InputError("--mode-seeking must be in [0, 100]")
    if args.mbstd_group is not None and not 0 <= args.mbstd_group <= 64:
        raise InputError("--mbstd-group must be in [0, 64]")
    shared = Path(args.data) if args.data else shared_data_dir()
    if not shared.is_dir():
        raise InputError(f"data folder not found: {shared}")
    torch.set_num_threads(max(1, args.threads))
    out = Path(args.out) if args.out else REPO / "models" / args.model
    workdir = Path(args.workdir) if args.workdir else data_dir() / "training" / args.model

    def log(entry: dict) -> None:
        print(json.dumps(entry, default=str), flush=True)

    overrides = {"diffaug_colour": None if args.diffaug_colour is None else args.diffaug_colour == "on",
                 "mode_seeking": args.mode_seeking, "mbstd_group": args.mbstd_group}
    if not args.measure_only:
        command = "python -m core train gan " + " ".join(shlex.quote(a) for a in sys.argv[3:])
        train(args.model, shared, out, workdir, seed=args.seed, steps=args.steps, max_minutes=args.max_minutes,
              command=command, log=log, resume=args.resume, overrides=overrides)
    card = measure_card(args.model, shared, out, workdir, seed=args.seed, log=log)
    return {"model": args.model, "out": str(out), "steps": card["training"].get("steps"), "metrics": card["metrics"]}
