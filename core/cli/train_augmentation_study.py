"""``python -m core train augmentation-study``: real vs. real + GAN vs. classic augmentation."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.errors import InputError
from core.paths import data_dir, shared_data_dir
from core.synthesis.data import load_gan_data, RECIPES
from core.synthesis.generate import generator_spec, MAX_SAMPLES, sample
from core.synthesis.study import ARMS, run_study, write_to_card

HELP = "train small classifiers with real / classic-augmented / real + GAN data at several label fractions"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="pneumonia-cgan", help="the generator (a committed GAN recipe)")
    parser.add_argument("--data", default=None, help="the shared data folder (default ../shared/data)")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.05, 0.1, 0.25, 1.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", default=["real", "classic", "gan"],
                        help="real, classic, gan, gan+classic")
    parser.add_argument("--steps", type=int, default=400, help="optimisation steps per classifier")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--synth-ratio", type=float, default=1.0, help="synthetic images per real image")
    parser.add_argument("--workdir", help="caches (default ~/.medlens/training/<model>)")
    parser.add_argument("--out", help="JSON file for the result (default: also written into the generator's card)")
    parser.add_argument("--no-card", action="store_true", help="do not write the result into the card")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.model not in RECIPES:
        raise InputError(f"the study needs a committed GAN recipe; valid: {', '.join(sorted(RECIPES))}")
    if any(not 0 < f <= 1 for f in args.fractions):
        raise InputError("fractions must be in (0, 1]")
    if set(args.arms) - set(ARMS):
        raise InputError(f"unknown arms {sorted(set(args.arms) - set(ARMS))}; valid: {', '.join(ARMS)}")
    if args.steps < 1 or args.batch_size < 2:
        raise InputError("steps must be >= 1 and batch size >= 2")
    spec = generator_spec(args.model)
    shared = Path(args.data) if args.data else shared_data_dir()
    if not shared.is_dir():
        raise InputError(f"data folder not found: {shared}")
    torch.set_num_threads(max(1, args.threads))
    workdir = Path(args.workdir) if args.workdir else data_dir() / "training" / args.model
    data = load_gan_data(RECIPES[args.model], shared, workdir, seed=0)

    def sampler(label: int, n: int, seed: int):
        # sample() draws at most MAX_SAMPLES at once; larger sets come in chunks, each with its own seed
        chunks = [sample(args.model, label=label, n=min(MAX_SAMPLES, n - start), seed=seed + 1_000_003 * i,
                         device="cpu").images for i, start in enumerate(range(0, n, MAX_SAMPLES))]
        return np.concatenate(chunks)

    def log(entry: dict) -> None:
        print(json.dumps(entry, default=str), flush=True)

    result = run_study(sampler, data["train"], data["val"], args.fractions, args.seeds, tuple(args.arms),
                       steps=args.steps, batch_size=args.batch_size, synth_ratio=args.synth_ratio, log=log)
    command = "python -m core train augmentation-study " + " ".join(shlex.quote(a) for a in sys.argv[3:])
    if args.out:
        Path(args.out).write_text(json.dumps({**result, "command": command}, indent=2))
    if not args.no_card and spec.card_path is not None:
        write_to_card(spec.card_path, result, command)
    return {"model": args.model, "rows": [{k: r[k] for k in ("fraction", "arm", "auc_mean", "auc_sd", "acc_mean", "acc_sd")}
                                          for r in result["rows"]], "seconds": result["seconds"]}
