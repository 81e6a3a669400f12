"""The segmentation training recipes and split (no training is run here)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from core.training.segmentation import RECIPES, make_split, preprocessing_of


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
        for source in spec.card["data"]["sources"]:
            split = make_split(shared_data / "seg" / source["dataset"], 0.2, seed=spec.card["training"]["seed"])
            assert spec.card["split"][source["dataset"]]["val"] == split["val"], name


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_preprocessing_is_complete(name: str) -> None:
    pre = preprocessing_of(RECIPES[name])
    for key in ("size", "channels", "normalisation", "threshold", "postprocess"):
        assert key in pre
