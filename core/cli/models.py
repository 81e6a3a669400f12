"""``python -m core models``: the registry as JSON."""

from __future__ import annotations

import argparse
from typing import Any

from core.system import card_errors, models as registered

HELP = "list the registered models (the registry as JSON)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", help="only models of this task (segmentation, classification, ...)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    models = registered(args.task)
    return {"models": models, "n": len(models), "card_errors": card_errors()}
