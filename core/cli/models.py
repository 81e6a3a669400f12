"""``python -m core models``: the registry as JSON."""

from __future__ import annotations

import argparse
from typing import Any

from core.registry import card_errors, list_models

HELP = "list the registered models (the registry as JSON)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", help="only models of this task (segmentation, classification, ...)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    models = [spec.summary() for spec in list_models(args.task)]
    return {"models": models, "n": len(models), "card_errors": card_errors()}
