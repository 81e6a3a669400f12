"""``python -m core train segmentation --model NAME``: reproduce a segmentation model's weights."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

from core.errors import InputError
from core.paths import shared_data_dir
from core.segmentation.data import RECIPES
from core.segmentation.ensemble_training import ENSEMBLE_RECIPES, train_ensemble
from core.segmentation.pretrained_training import PRETRAINED_RECIPES, train_pretrained
from core.segmentation.training import record_click_curve, record_noc, train
from core.trainloop import model_folder

HELP = "train a segmentation model (lungs-cxr, opacity-cxr, polyp-endoscopy and their variants) on ../shared/data/seg"



def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="recipe name: lungs-cxr, opacity-cxr, polyp-endoscopy, "
                                                       "opacity-cxr-lite0, polyp-endoscopy-lite0 or opacity-cxr-ensemble")
    parser.add_argument("--data", type=Path, default=shared_data_dir() / "seg", help="segmentation data root (default ../shared/data/seg)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default models/NAME)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split-seed", type=int, default=None,
                        help="seed of the validation split (default: --seed); members of an ensemble share one split")
    parser.add_argument("--epochs", type=int, default=None, help="maximum epochs (default: the recipe's)")
    parser.add_argument("--max-minutes", type=float, default=None, help="time budget; epochs are sized to fit")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--clicks-only", action="store_true",
                        help="do not train: measure the 0/1/3/5-click Dice curve of the saved weights, update the card")
    parser.add_argument("--noc-only", action="store_true",
                        help="do not train: measure NoC@85/90 (clicks to Dice .85/.90, cap 20) of the saved weights "
                             "on the card's validation split, update the card")
    parser.add_argument("--resume", action="store_true",
                        help="continue a pretrained-encoder run from its last epoch checkpoint")
    parser.add_argument("--checkpoint-dir", type=Path, default=None,
                        help="epoch checkpoints, or an ensemble's members (default $MEDLENS_DATA_DIR/checkpoints/NAME, "
                             "outside the repository)")
    parser.add_argument("--max-images", type=int, default=None, help="use only this many images per split (smoke runs)")
    parser.add_argument("--max-steps", type=int, default=None, help="at most this many batches per epoch (smoke runs)")
    parser.add_argument("--stop-after", type=int, default=None,
                        help="pretrained-encoder runs: stop after this epoch of the planned schedule and write the "
                             "final figures (--resume continues it later)")
    parser.add_argument("--init-from", default=None,
                        help="start from this model's weights (models/NAME); the model's own name continues its training")
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the recipe's)")
    parser.add_argument("--size", type=int, default=None, help="input size in pixels (default: the recipe's)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    variants = {**PRETRAINED_RECIPES, **ENSEMBLE_RECIPES}
    if args.model not in RECIPES and args.model not in variants:
        raise InputError(f"unknown segmentation model {args.model!r}; valid: {', '.join(sorted([*RECIPES, *variants]))}")
    base = RECIPES[variants[args.model].base if args.model in variants else args.model]
    if not (args.data / base.sources[0][0]).is_dir():
        raise InputError(f"segmentation data not found under {args.data}")
    out = model_folder(args.model, args.out)
    if args.clicks_only:
        if not (out / "card.json").exists():
            raise InputError(f"no trained model in {out}: train it first")
        report = record_click_curve(args.model, args.data, out, threads=args.threads,
                                    log=lambda m: print(m, file=sys.stderr, flush=True))
        return {"model": args.model, "clicks": report}
    if args.model in ENSEMBLE_RECIPES and not args.noc_only:
        card = train_ensemble(args.model, args.data, out, workdir=args.checkpoint_dir, threads=args.threads,
                              device=args.device, log=lambda m: print(m, file=sys.stderr, flush=True))
        return {"model": args.model, "out": str(out), "metrics": card["metrics"]}
    if args.model in PRETRAINED_RECIPES and not args.noc_only:
        command = f"python -m core train segmentation --model {args.model}" + (
            f" --epochs {args.epochs}" if args.epochs else "") + (f" --size {args.size}" if args.size else "") + (
            f" --stop-after {args.stop_after}" if args.stop_after else "")
        card = train_pretrained(args.model, args.data, out, checkpoint_dir=args.checkpoint_dir, resume=args.resume,
                                seed=args.seed, epochs=args.epochs, size=args.size, threads=args.threads,
                                device=args.device, max_images=args.max_images, max_steps=args.max_steps,
                                stop_after=args.stop_after,
                                command=command, log=lambda m: print(m, file=sys.stderr, flush=True))
        return {"model": args.model, "out": str(out), "metrics": card["metrics"]}
    if args.noc_only:
        if not (out / "card.json").exists():
            raise InputError(f"no trained model in {out}: train it first")
        torch.set_num_threads(max(1, args.threads))
        return {"model": args.model, "noc": record_noc(args.model, args.data, out)}
    if args.init_from and not (out.parent / args.init_from / "model.safetensors").exists():
        raise InputError(f"no weights to start from: {out.parent / args.init_from / 'model.safetensors'}")
    command = "python -m core train segmentation " + " ".join(sys.argv[sys.argv.index("segmentation") + 1 :]) \
        if "segmentation" in sys.argv else f"python -m core train segmentation --model {args.model}"
    card = train(args.model, args.data, out, seed=args.seed, split_seed=args.split_seed, epochs=args.epochs, max_minutes=args.max_minutes,
                 threads=args.threads, device=args.device, init_from=args.init_from, lr=args.lr, size=args.size,
                 command=command,
                 log=lambda m: print(m, file=sys.stderr, flush=True))
    return {"model": args.model, "out": str(out), "metrics": card["metrics"]}
