"""``python -m core preprocess IN --pipeline P.json --out OUT``: replay a saved pipeline."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.errors import InputError
from core.export.image import export, format_from_path
from core.imaging import load
from core.preprocess import Pipeline

HELP = "apply a saved pipeline to an image; OUT is .png, .nii(.gz) or .dcm/.zip (DICOM)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="file, folder or zip (one series, or pick one with --series)")
    parser.add_argument("--pipeline", required=True, help='JSON file: {"steps": [{"op": ..., "params": {...}}]}')
    parser.add_argument("--out", required=True, help="output file; the extension picks the format")
    parser.add_argument("--series", help="series UID when the input holds several")
    parser.add_argument("--frame", type=int, help="PNG: which frame (default: the middle one)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    fmt = format_from_path(args.out)
    pipeline = Pipeline.load(args.pipeline)
    image = pipeline.apply(load(Path(args.input), series_uid=args.series))
    frame = image.n_frames // 2 if args.frame is None else args.frame
    if not 0 <= frame < image.n_frames:
        raise InputError(f"--frame {frame}: the image has frames 0..{image.n_frames - 1}")
    payload, ext = export(image, fmt, frame=frame)
    out = Path(args.out)
    if fmt == "dicom" and ext == ".zip" and out.suffix.lower() == ".dcm":
        out = out.with_suffix(".zip")  # several frames: a zip of one .dcm per frame
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(payload)
    return {"out": str(out), "format": fmt, "shape": list(image.shape), "spacing_mm": list(image.spacing) if image.spacing else None,
            "window": list(image.window) if image.window else None, "steps": len(pipeline), "bytes": len(payload)}
