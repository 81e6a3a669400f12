"""``python -m core train sequence``: CV of the GRU and the 1-D CNN baseline, then the final GRU."""

from __future__ import annotations

import argparse
from typing import Any

from core.cli._prognosis_common import one_thread
from core.errors import InputError
from core.prognosis.training import PRESETS, train_sequence as train

HELP = "train ecg200-gru / ecg5000-gru (k-fold CV of GRU and 1-D CNN, then fit on the TRAIN split)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="ecg200-gru or ecg5000-gru")
    parser.add_argument("--data", help="UCR file (default: the shared TRAIN file of the model)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cv", type=int, default=5, help="folds for the CV report (0 to skip)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--no-baseline", action="store_true", help="skip the 1-D CNN baseline CV")
    parser.add_argument("--out")
    parser.add_argument("--threads", type=int, default=1)


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.model not in PRESETS:
        raise InputError(f"unknown sequence model {args.model!r}; valid: {', '.join(PRESETS)}")
    one_thread(args.threads)
    command = f"python -m core train sequence --model {args.model} --seed {args.seed} --cv {args.cv}" + (
        f" --epochs {args.epochs}" if args.epochs else "")
    return train(args.model, args.data, args.seed, args.cv, args.epochs, args.out, command, not args.no_baseline)
