"""``python -m core classify IN... --model NAME``: score images, folders or zips."""

from __future__ import annotations

import argparse
from typing import Any

from core.classification.service import score
from core.errors import InputError

HELP = "classify images (files, folders, zips) -> predictions with the label in the data set's coding"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="IN", help="image files, folders or .zip files")
    parser.add_argument("--model", required=True, help="a classification model (see `python -m core models`)")
    parser.add_argument("--tta", action="store_true", help="add TTA intervals and the low-confidence flag")
    parser.add_argument("--batch-size", type=int, default=64)


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.batch_size < 1:
        raise InputError("--batch-size must be at least 1")
    result = score(args.inputs, args.model, batch_size=args.batch_size, tta=args.tta)  # the page's service
    predictions = []
    for row in result.rows:
        item = {"file": row["file"], "label": row["label"], "prob": row["prob"]}
        item.update({k: v for k, v in row.items() if k not in item and v not in ("", None)})
        predictions.append(item)
    return {"model": args.model, "threshold": round(result.threshold, 4), "positive": result.positive_label,
            "predictions": predictions}
