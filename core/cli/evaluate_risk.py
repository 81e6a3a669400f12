"""``python -m core evaluate risk``: AUC and AUPRC of a risk model on a CSV with the target."""

from __future__ import annotations

import argparse
from typing import Any

from core.cli._prognosis_common import spec_of
from core.prognosis.predict import evaluate_risk

HELP = "AUC / AUPRC (with bootstrap 95% intervals) of a risk model on a CSV that has the 'stroke' column"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True)
    parser.add_argument("--csv", required=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    spec_of(args.model, "risk")
    return {"model": args.model, **evaluate_risk(args.model, args.csv)}
