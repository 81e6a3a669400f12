"""``python -m core generate``: synthetic images from a registered conditional GAN."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.export.samples import write
from core.synthesis.service import generate

HELP = "sample a generator: N images of a class with a seed -> DIR (PNGs + labels.csv), FILE.zip or FILE.npz"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="a generation model, e.g. pneumonia-cgan")
    parser.add_argument("--label", default="all", help="class name or index (default: all classes in turn)")
    parser.add_argument("--n", type=int, default=16, help="number of images (1-2048)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same images")
    parser.add_argument("--truncation", type=float, default=None, help="truncate latents to [-t, t] (default: off)")
    parser.add_argument("--out", required=True, help="output folder, .zip or .npz")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: MEDLENS_DEVICE, else CUDA if present)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    samples = generate(args.model, label=args.label, n=args.n, seed=args.seed, truncation=args.truncation,
                       device=args.device)
    out = write(samples, Path(args.out))
    counts = {name: int((samples.labels == i).sum()) for i, name in enumerate(samples.label_names)}
    return {"model": args.model, "n": len(samples), "out": str(out), "labels": counts, "seed": args.seed,
            "truncation": args.truncation}
