"""``python -m core segment IN --model NAME --out OUT``: a mask as PNG, NIfTI or DICOM SEG."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InputError
from core.export.dicom_seg import write_seg
from core.export.nifti import write_mask_nifti
from core.export.png import write_mask_png
from core.imaging import load
from core.segmentation.prompts import Click
from core.segmentation.service import require_model, segment_image

HELP = "segment an image; OUT .png (mask), .nii.gz / .nii (NIfTI) or .dcm (DICOM SEG referencing a DICOM input)"

FORMATS = (".png", ".nii.gz", ".nii", ".dcm")


def _box(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError("box is x0,y0,x1,y1") from None
    if len(values) != 4:
        raise argparse.ArgumentTypeError("box is x0,y0,x1,y1")
    return values


def _click(text: str) -> Click:
    parts = text.split(",")
    try:
        row, col = int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError("click is ROW,COL[,+|-]") from None
    sign = parts[2].strip() if len(parts) > 2 else "+"
    if sign not in ("+", "-"):
        raise argparse.ArgumentTypeError("click sign is + (add) or - (remove)")
    return Click(row, col, sign == "+")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, metavar="IN", help="image: DICOM, NIfTI, PNG/JPEG, folder or zip")
    parser.add_argument("--model", required=True, help="segmentation model name (python -m core models)")
    parser.add_argument("--out", required=True, type=Path, help="output file: .png, .nii.gz or .dcm")
    parser.add_argument("--threshold", type=float, default=None, help="probability threshold (default: the card's)")
    parser.add_argument("--tta", action="store_true", help="flip test-time augmentation")
    parser.add_argument("--box", type=_box, default=None, help="x0,y0,x1,y1: segment inside this box (first frame's pixels)")
    parser.add_argument("--click", type=_click, action="append", default=[],
                        help="ROW,COL[,+|-]: a click that adds (+) or removes (-) a region; repeatable")


def _output_kind(path: Path) -> str:
    name = path.name.lower()
    for suffix in FORMATS:
        if name.endswith(suffix):
            return suffix
    raise InputError(f"output must end in one of {', '.join(FORMATS)}: {path.name}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    kind = _output_kind(args.out)
    require_model(args.model)
    if not args.input.exists():
        raise InputError(f"no such file or folder: {args.input}")
    if args.out.parent and not args.out.parent.exists():
        raise InputError(f"output folder does not exist: {args.out.parent}")
    image = load(str(args.input))
    if kind == ".png" and image.n_frames > 1:
        raise InputError(f"the input has {image.n_frames} frames; a PNG holds one: write .nii.gz or .dcm")
    if kind == ".dcm" and not image.datasets:
        raise InputError("a DICOM SEG references a DICOM source: the input is not DICOM (write .png or .nii.gz)")
    results = segment_image(args.model, image, box=args.box, clicks=args.click, threshold=args.threshold, tta=args.tta)
    stack = np.stack([r.mask for r in results])
    label = results[0].label
    if kind == ".png":
        write_mask_png(stack[0], args.out)
    elif kind in (".nii.gz", ".nii"):
        write_mask_nifti(stack, args.out, affine=image.affine, spacing=image.spacing, slice_spacing=image.slice_spacing)
    else:
        write_seg(stack, image.datasets, args.out, label=label, algorithm=args.model)
    result = {
        "model": args.model,
        "input": str(args.input),
        "out": str(args.out),
        "frames": int(stack.shape[0]),
        "shape": list(stack.shape[1:]),
        "threshold": results[0].threshold,
        "area_fraction": round(float(stack.mean()), 4),
    }
    severities = [r.severity for r in results if r.severity is not None]
    if severities:  # share of the enclosing structure affected (opacity: share of lung)
        result["within"] = results[0].within
        result["severity"] = severities[0] if len(severities) == 1 else severities
    return result
