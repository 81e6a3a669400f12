"""``python -m core evaluate segmentation --model NAME --images DIR --masks DIR``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.segmentation.service import evaluate

HELP = 'mean per-image Dice/IoU of a segmentation model -> {"model","dice","iou","n"}'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="segmentation model name (python -m core models)")
    parser.add_argument("--images", required=True, type=Path, help="folder of images")
    parser.add_argument("--masks", required=True, type=Path, help="folder of masks, same file names")
    parser.add_argument("--tta", action="store_true", help="average in the horizontally flipped prediction")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--clicks", action="store_true",
                        help="also report mean Dice after 0/1/3/5 simulated clicks (adds a 'clicks' key)")
    parser.add_argument("--noc", action="store_true",
                        help="also report NoC@85/90: simulated clicks to reach Dice .85/.90 (cap 20; adds a 'noc' key)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    return evaluate(args.model, args.images, args.masks, tta=args.tta, device=args.device, clicks=args.clicks,
                    noc=args.noc)
