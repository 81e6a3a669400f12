"""``python -m core train risk``: choose a stroke model by repeated stratified CV and ship it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.cli._prognosis_common import one_thread
from core.paths import shared_data_dir
from core.prognosis.training import train_risk as train

HELP = "train stroke-risk (repeated stratified CV of LR / GBM / MLP; the simplest within noise is shipped)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="stroke-risk")
    parser.add_argument("--csv", help="stroke_train.csv (default ../shared/data/clinical/stroke/stroke_train.csv)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--members", type=int, default=200, help="bootstrap refits for the interval")
    parser.add_argument("--cv-splits", type=int, default=5, help="folds of the repeated stratified CV")
    parser.add_argument("--cv-repeats", type=int, default=5, help="repeats of the stratified CV")
    parser.add_argument("--out")
    parser.add_argument("--threads", type=int, default=1)


def run(args: argparse.Namespace) -> dict[str, Any]:
    one_thread(args.threads)
    csv = Path(args.csv) if args.csv else shared_data_dir() / "clinical" / "stroke" / "stroke_train.csv"
    command = (f"python -m core train risk --model {args.model} --seed {args.seed} --members {args.members} "
               f"--cv-splits {args.cv_splits} --cv-repeats {args.cv_repeats}")
    return train(args.model, csv, args.seed, args.members, args.out, command, args.cv_splits, args.cv_repeats)
