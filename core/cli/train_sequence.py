"""``python -m core train sequence``: CV of the GRU and the 1-D CNN baseline, then the final GRU."""

from __future__ import annotations

import argparse
from typing import Any

from core.cli._prognosis_common import one_thread
from core.errors import InputError
from core.prognosis.training import PRESETS, SELECTED, train_selected
from core.prognosis.training import train_sequence as train

HELP = ("train ecg200-gru / ecg5000-gru (k-fold CV of GRU and 1-D CNN, then fit on the TRAIN split), or "
        "ecg200-minirocket / ecg5000-minirocket (repeated CV of MiniRocket, (CNN,) GRU and MiniRocket+GRU; the simplest "
        "within noise ships)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="ecg200-gru, ecg5000-gru, ecg200-minirocket or ecg5000-minirocket")
    parser.add_argument("--data", help="UCR file (default: the shared TRAIN file of the model)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cv", type=int, default=5, help="folds for the CV report (0 to skip)")
    parser.add_argument("--repeats", type=int, default=3, help="CV repeats (ecg200-minirocket's selection)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--no-baseline", action="store_true", help="skip the 1-D CNN baseline CV")
    parser.add_argument("--out")
    parser.add_argument("--threads", type=int, default=1)


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.model not in PRESETS and args.model not in SELECTED:
        raise InputError(f"unknown sequence model {args.model!r}; valid: {', '.join([*PRESETS, *SELECTED])}")
    one_thread(args.threads)
    if args.model in SELECTED:
        if args.cv < 2:
            raise InputError("--cv must be at least 2 for a model chosen by cross-validation")
        command = (f"python -m core train sequence --model {args.model} --seed {args.seed} --cv {args.cv} "
                   f"--repeats {args.repeats}")
        return train_selected(args.model, args.data, args.seed, args.cv, args.repeats, args.out, command)
    command = f"python -m core train sequence --model {args.model} --seed {args.seed} --cv {args.cv}" + (
        f" --epochs {args.epochs}" if args.epochs else "")
    return train(args.model, args.data, args.seed, args.cv, args.epochs, args.out, command, not args.no_baseline)
