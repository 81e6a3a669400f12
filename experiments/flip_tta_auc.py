"""Validation AUC of classifiers with and without horizontal-flip averaging (a fair comparison for #18).

``python experiments/flip_tta_auc.py breast-us breast-us-lite0``: for each model, its recipe's
validation split, the AUC of the positive probability (before calibration, which does not change the order) of the plain forward pass
(the card's figure) and of the mean over the image and its mirror.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.cache import load_model  # noqa: E402
from core.classification.data import RECIPES, load_data  # noqa: E402
from core.classification.metrics import auc  # noqa: E402
from core.classification.training import _predict  # noqa: E402
from core.paths import data_dir, shared_data_dir  # noqa: E402
from core.registry import get_spec  # noqa: E402


def main(names: list[str]) -> None:
    torch.set_num_threads(1)
    for name in names:
        recipe = RECIPES[name]
        x, y = load_data(recipe, shared_data_dir(), data_dir() / "training" / name, 0)["val"]
        model = load_model(get_spec(name), torch.device("cpu"))
        plain = torch.softmax(torch.from_numpy(_predict(model, x, recipe)), 1)[:, 1].numpy()
        mirror = torch.softmax(torch.from_numpy(_predict(model, x[:, :, ::-1].copy(), recipe)), 1)[:, 1].numpy()
        print(f"{name}: validation AUC {auc(y, plain):.4f} plain, {auc(y, (plain + mirror) / 2):.4f} with flip averaging")


if __name__ == "__main__":
    main(sys.argv[1:])
