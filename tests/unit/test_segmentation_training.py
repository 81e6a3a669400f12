"""The segmentation training recipes and split (no training is run here)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from core.segmentation.data import RECIPES, make_split, preprocessing_of


def test_split_is_seeded_disjoint_and_complete(shared_data: Path) -> None:
    folder = shared_data / "seg" / "kvasir_seg"
    first, again = make_split(folder, 0.2, seed=0), make_split(folder, 0.2, seed=0)
    assert first == again
    assert not set(first["train"]) & set(first["val"])
    assert len(first["train"]) + len(first["val"]) == len(list((folder / "images").glob("*.png")))
    assert abs(len(first["val"]) - 160) <= 1
    assert make_split(folder, 0.2, seed=1)["val"] != first["val"]


def test_v7_split_keeps_patients_together(shared_data: Path) -> None:
    folder = shared_data / "seg" / "v7_covid_lung"
    split = make_split(folder, 0.2, seed=0)
    with (folder / "sources.csv").open(newline="") as handle:
        patient = {row["stem"]: row["patientid"] for row in csv.DictReader(handle)}
    assert not {patient[s] for s in split["train"]} & {patient[s] for s in split["val"]}


def test_committed_cards_record_the_split_the_code_makes(shared_data: Path) -> None:
    from core.registry import get_spec

    for name in RECIPES:
        try:
            spec = get_spec(name)
        except KeyError:
            pytest.skip(f"{name} not trained yet")
        for source in spec.card.data["sources"]:
            split = make_split(shared_data / "seg" / source["dataset"], 0.2, seed=spec.card.training["seed"])
            assert spec.card.split[source["dataset"]]["val"] == split["val"], name


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_preprocessing_is_complete(name: str) -> None:
    pre = preprocessing_of(RECIPES[name])
    for key in ("size", "channels", "normalisation", "threshold", "postprocess"):
        assert key in pre


def _tiny_polyp_set(root: Path, n: int = 10) -> Path:
    """A kvasir-like folder: RGB frames with one bright square (the 'polyp') and its mask."""
    import numpy as np
    from PIL import Image

    folder = root / "kvasir_seg"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        image = rng.integers(0, 80, (48, 48, 3), dtype=np.uint8)
        mask = np.zeros((48, 48), np.uint8)
        y, x = rng.integers(4, 28, 2)
        image[y : y + 16, x : x + 16] += 150
        mask[y : y + 16, x : x + 16] = 255
        Image.fromarray(image).save(folder / "images" / f"case{i:02d}.png")
        Image.fromarray(mask).save(folder / "masks" / f"case{i:02d}.png")
    return root


@pytest.mark.slow
def test_continuing_a_model_only_keeps_a_better_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--init-from NAME`` on NAME itself: the stage starts from the saved weights' validation Dice;
    without a gain weights and card stay as they were, with one the card chains both commands."""
    from core.segmentation import training as seg

    data = _tiny_polyp_set(tmp_path / "data")
    out = tmp_path / "models" / "polyp-endoscopy"
    first = seg.train("polyp-endoscopy", data, out, epochs=1, threads=1, device="cpu", command="first", log=lambda m: None)
    weights = (out / "model.safetensors").read_bytes()

    def scripted(*scores: float):
        values = iter(scores)
        monkeypatch.setattr(seg, "_val_dice", lambda *a, **k: next(values))

    scripted(0.5, 0.4, 0.45)  # start, then two epochs that do not beat it
    same = seg.train("polyp-endoscopy", data, out, epochs=2, threads=1, device="cpu", init_from="polyp-endoscopy",
                     lr=0.05, command="worse", log=lambda m: None)
    assert same == first and (out / "model.safetensors").read_bytes() == weights

    scripted(0.5, 0.6)  # start, then one better epoch
    better = seg.train("polyp-endoscopy", data, out, epochs=1, threads=1, device="cpu", init_from="polyp-endoscopy",
                       lr=1e-4, command="better", log=lambda m: None)
    assert better["command"] == "first && better"
    assert better["training"]["previous_stage"]["command"] == "first"
    assert better["training"]["best_epoch"] == 1 and "0.6000" in better["metrics"]["selection"]
    assert better["data"]["initialised_from"] == "polyp-endoscopy"
    assert "AdamW lr 0.0001" in better["training"]["optimiser"]
    assert (out / "model.safetensors").read_bytes() != weights


@pytest.mark.slow
def test_an_ensemble_trains_its_members_once_and_is_one_loadable_model(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Members are runs of the base recipe with seeds 0..n-1 on the split of seed 0; a second call
    reuses finished members; the result is one ``mean_ensemble`` model the registry loads, measured
    on the base's validation cases, with each member's own figure and command in the card."""
    import json

    import torch
    from safetensors.torch import load_file

    from core.cache import load_model
    from core.registry import parse_card
    from core.segmentation import ensemble_training as ens

    monkeypatch.setitem(ens.ENSEMBLE_RECIPES, "polyp-pair", ens.EnsembleRecipe(
        name="polyp-pair", base="polyp-endoscopy", members=2, description="two polyp U-Nets"))
    data = _tiny_polyp_set(tmp_path / "data")
    models_dir, work = tmp_path / "models", tmp_path / "work"
    out = models_dir / "polyp-pair"
    card = ens.train_ensemble("polyp-pair", data, out, workdir=work, device="cpu", models_dir=models_dir, epochs=1,
                              log=lambda m: None)

    members = [json.loads((work / f"member-{k}" / "card.json").read_text()) for k in range(2)]
    assert [m["training"]["seed"] for m in members] == [0, 1]
    assert members[0]["split"] == members[1]["split"] == card["split"]  # one split for all members
    assert card["architecture"] == {"name": "mean_ensemble", "args": {"member": members[0]["architecture"], "n": 2}}
    assert card["training"]["members"][1]["command"].endswith("--seed 1 --split-seed 0")
    assert len(card["metrics"]["members_val_dice_kvasir_seg"]) == 2
    assert 0.0 <= card["metrics"]["val_dice_kvasir_seg"] <= 1.0

    model = load_model(parse_card(out / "card.json"), torch.device("cpu"))
    assert len(model.members) == 2
    stored = load_file(str(out / "model.safetensors"))  # half the size; computed in float32
    assert {t.dtype for t in stored.values() if t.is_floating_point()} == {torch.float16}
    assert all(p.dtype == torch.float32 for p in model.parameters())

    stamps = [(work / f"member-{k}" / "model.safetensors").stat().st_mtime_ns for k in range(2)]
    again = ens.train_ensemble("polyp-pair", data, out, workdir=work, device="cpu", models_dir=models_dir, epochs=1,
                               log=lambda m: None)
    assert [(work / f"member-{k}" / "model.safetensors").stat().st_mtime_ns for k in range(2)] == stamps
    assert again["metrics"]["val_dice_kvasir_seg"] == card["metrics"]["val_dice_kvasir_seg"]
