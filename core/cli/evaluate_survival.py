"""``python -m core evaluate survival``: retrain the model's recipe per fold; held-out C-index."""

from __future__ import annotations

import argparse
from typing import Any

from core.cli._prognosis_common import one_thread, spec_of
from core.prognosis.datasets import SURVIVAL_SETS, load_survival
from core.prognosis.survival import DeepSurvRecipe, cross_validate

HELP = "K-fold CV of a survival model's recipe (and Cox on the same folds): mean held-out C-index"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", default="gbsg2", help=f"one of {', '.join(SURVIVAL_SETS)}")
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1, help="seeds seed..seed+repeats-1")
    parser.add_argument("--rsf", action="store_true", help="also the random survival forest baseline")
    parser.add_argument("--threads", type=int, default=1)


def run(args: argparse.Namespace) -> dict[str, Any]:
    one_thread(args.threads)
    spec = spec_of(args.model, "survival")
    recipe = DeepSurvRecipe.from_json(spec.card.training.get("recipe", {}))
    models = ("deepsurv", "cox") + (("rsf",) if args.rsf else ())
    seeds = tuple(range(args.seed, args.seed + max(1, args.repeats)))
    report = cross_validate(load_survival(args.dataset), recipe, args.cv, seeds, models)
    result: dict[str, Any] = {
        "model": args.model,
        "c_index": report["deepsurv"]["harrell_c"],
        "n": report["n"],
        "c_index_cox": report["cox"]["harrell_c"],
        "c_index_uno": report["deepsurv"]["uno_c"],
        "c_index_uno_cox": report["cox"]["uno_c"],
        "ibs": report["deepsurv"]["ibs"],
        "ibs_cox": report["cox"]["ibs"],
    }
    if args.rsf:
        result.update({"c_index_rsf": report["rsf"]["harrell_c"], "c_index_uno_rsf": report["rsf"]["uno_c"],
                       "ibs_rsf": report["rsf"]["ibs"]})
    result.update({"dataset": args.dataset, "cv": args.cv, "seeds": list(seeds), "seconds": report["seconds"],
                   "detail": {m: report[m] for m in models}})
    return result
