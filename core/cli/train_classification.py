"""``python -m core train classification``: reproduce a classifier's committed weights."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import torch

from core.classification.data import RECIPES
from core.classification.training import remeasure_uncertainty, train
from core.errors import InputError
from core.paths import data_dir, shared_data_dir
from core.trainloop import model_folder

HELP = "train a classification model (pneumonia-cxr, breast-us, breast-us-lite0) from ../shared/data and write its card"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="recipe name: pneumonia-cxr, breast-us or breast-us-lite0")
    parser.add_argument("--data", default=str(shared_data_dir()), help="the shared data folder")
    parser.add_argument("--out", help="folder for card.json + model.safetensors (default models/<name>)")
    parser.add_argument("--workdir", help="checkpoints and caches (default ~/.medlens/training/<name>)")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs (quick runs)")
    parser.add_argument("--max-minutes", type=float, help="wall-time budget per network (the schedule follows it)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--finalise-only", action="store_true",
                        help="skip training: rebuild the card from the checkpoints in --workdir")
    parser.add_argument("--wall-time-s", type=float, help="with --finalise-only: the logged wall time of that training")
    parser.add_argument("--epochs-run", type=int, help="with --finalise-only: the epochs that training ran (from its log)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--measure-uncertainty", action="store_true",
                        help="no training: measure the card's TTA figures again for its committed weights")


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.model not in RECIPES:
        raise InputError(f"unknown recipe {args.model!r}; valid: {', '.join(sorted(RECIPES))}")
    shared = Path(args.data)
    if not shared.is_dir():
        raise InputError(f"data folder not found: {shared}")
    torch.set_num_threads(max(1, args.threads))
    out = model_folder(args.model, args.out)
    workdir = Path(args.workdir) if args.workdir else data_dir() / "training" / args.model
    argv, skip = [], False
    for a in sys.argv[3:]:  # the reproducing command: without the finalise-only options
        if skip:
            skip = False
        elif a == "--finalise-only":
            continue
        elif a in ("--wall-time-s", "--epochs-run") or (a == "--threads" and args.finalise_only):
            skip = True
        else:
            argv.append(a)
    command = "python -m core train classification " + " ".join(shlex.quote(a) for a in argv)

    def log(entry: dict) -> None:
        print(json.dumps(entry, default=str), flush=True)

    if args.measure_uncertainty:
        card = remeasure_uncertainty(args.model, shared, out, workdir, command, log)
        return {"model": args.model, "out": str(out), "uncertainty": card["uncertainty"]}
    card = train(args.model, shared, out, workdir, seed=args.seed, epochs=args.epochs, command=command, log=log,
                 max_minutes=args.max_minutes, finalise_only=args.finalise_only,
                 wall_seconds=args.wall_time_s, epochs_run=args.epochs_run)
    return {"model": args.model, "out": str(out), "metrics": card["metrics"], "calibration": card["calibration"]}
