"""``python -m core evaluate sequence``: accuracy and macro-F1 of a sequence model on a UCR file."""

from __future__ import annotations

import argparse
from typing import Any

from core.cli._prognosis_common import spec_of
from core.prognosis.predict import evaluate_sequence

HELP = "accuracy / macro-F1 of a heartbeat model on a labelled file (.ts, UCR .txt or CSV with a label column)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    spec_of(args.model, "sequence")
    return {"model": args.model, **evaluate_sequence(args.model, args.data)}
