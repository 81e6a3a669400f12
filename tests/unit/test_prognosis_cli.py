"""The evaluate commands on the shared data, and bad input exiting 2 with the field named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.cli import main

REPO = Path(__file__).resolve().parents[2]


def _last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.slow
def test_evaluate_risk_on_shared_csv(shared_data, tmp_path, capsys) -> None:
    """A slice of the shared file (same columns; 100 strokes + 500 others keeps the bootstrap quick)."""
    frame = pd.read_csv(shared_data / "clinical" / "stroke" / "stroke_train.csv", dtype=str, keep_default_na=False)
    part = pd.concat([frame[frame.stroke == "1"].head(100), frame[frame.stroke == "0"].head(500)])
    path = tmp_path / "part.csv"
    part.to_csv(path, index=False)
    assert main(["evaluate", "risk", "--model", "stroke-risk", "--csv", str(path)]) == 0
    out = _last_json(capsys)
    assert out["model"] == "stroke-risk" and out["n"] == 600
    # rows the model was fitted on: optimistic, but it must rank well
    assert 0.8 < out["auc"] < 1 and 0.3 < out["auprc"] < 1
    assert out["auc_ci95"][0] < out["auc"] < out["auc_ci95"][1]


def test_evaluate_risk_bad_column_exits_2(shared_data, tmp_path, capsys) -> None:
    frame = pd.read_csv(shared_data / "clinical" / "stroke" / "stroke_train.csv", dtype=str, keep_default_na=False)
    frame.loc[3, "age"] = "abc"
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    assert main(["evaluate", "risk", "--model", "stroke-risk", "--csv", str(path)]) == 2
    assert "'age'" in capsys.readouterr().err
    frame.drop(columns=["age"]).to_csv(path, index=False)
    assert main(["evaluate", "risk", "--model", "stroke-risk", "--csv", str(path)]) == 2
    assert "age" in capsys.readouterr().err


@pytest.mark.parametrize(("model", "path"), [("ecg200-gru", "clinical/ecg200/ECG200_TRAIN.ts"),
                                              ("ecg5000-gru", "clinical/ecg5000/ECG5000_TRAIN.txt")])
def test_evaluate_sequence_on_shared_files(shared_data, capsys, model: str, path: str) -> None:
    assert main(["evaluate", "sequence", "--model", model, "--data", str(shared_data / path)]) == 0
    out = _last_json(capsys)
    assert out["model"] == model and out["n"] in (100, 500) and out["acc"] > 0.85 and 0 < out["macro_f1"] <= 1


def test_evaluate_sequence_wrong_length_exits_2(tmp_path, capsys) -> None:
    path = tmp_path / "short.csv"
    path.write_text("label," + ",".join(f"t{i}" for i in range(50)) + "\n1," + ",".join(["0.1"] * 50) + "\n")
    assert main(["evaluate", "sequence", "--model", "ecg200-gru", "--data", str(path)]) == 2
    assert "sequence length" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_survival_small_cv(capsys) -> None:
    assert main(["evaluate", "survival", "--model", "gbsg2-deepsurv", "--dataset", "veterans",
                 "--cv", "3", "--seed", "5"]) == 0
    out = _last_json(capsys)
    assert {"model", "c_index", "n", "c_index_cox"} <= set(out) and out["n"] == 137
    assert 0.55 < out["c_index"] < 0.9 and 0.55 < out["c_index_cox"] < 0.9


def test_unknown_model_and_dataset_exit_2(capsys) -> None:
    assert main(["evaluate", "survival", "--model", "nope", "--dataset", "gbsg2"]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["evaluate", "survival", "--model", "gbsg2-deepsurv", "--dataset", "mars"]) == 2
    assert "mars" in capsys.readouterr().err
    assert main(["evaluate", "risk", "--model", "ecg200-gru", "--csv", "x.csv"]) == 2


def test_cli_prints_one_json_line_as_a_process(shared_data) -> None:
    result = subprocess.run([sys.executable, "-m", "core", "evaluate", "sequence", "--model", "ecg200-gru",
                             "--data", str(shared_data / "clinical/ecg200/ECG200_TRAIN.ts")],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout.strip().splitlines()[-1])) >= {"model", "acc", "macro_f1", "n"}
