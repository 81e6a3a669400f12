"""``python -m core train survival``: reproduce the DeepSurv ensemble's weights and CV report."""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.cli._prognosis_common import one_thread, parse_seeds
from core.prognosis.survival import DeepSurvRecipe
from core.prognosis.training import train_survival as train

HELP = "train the DeepSurv ensemble (CV vs Cox and RSF, then fit on all patients)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="gbsg2-deepsurv")
    parser.add_argument("--dataset", default="gbsg2", choices=["gbsg2", "veterans"])
    parser.add_argument("--seed", type=int, default=0, help="seed of the final fit")
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--cv-seeds", default="1,2,3", help="CV repeats for the card ('' to skip)")
    parser.add_argument("--second", default="veterans", help="second (lung) set for the CV report ('' to skip)")
    parser.add_argument("--recipe", default="{}", help="JSON overrides of the recipe")
    parser.add_argument("--out", help="folder for card + weights (default models/<model>)")
    parser.add_argument("--threads", type=int, default=1)


def run(args: argparse.Namespace) -> dict[str, Any]:
    one_thread(args.threads)
    recipe = DeepSurvRecipe.from_json({**DeepSurvRecipe().to_json(), **json.loads(args.recipe)})
    command = (f"python -m core train survival --model {args.model} --dataset {args.dataset} --seed {args.seed} "
               f"--cv {args.cv} --cv-seeds {args.cv_seeds}" + (f" --recipe '{args.recipe}'" if args.recipe != "{}" else ""))
    return train(args.model, args.dataset, recipe, args.seed, parse_seeds(args.cv_seeds), args.cv, args.out,
                 args.second or None, command)
