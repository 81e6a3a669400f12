"""``python -m core classify`` / ``evaluate classification`` and batch scoring, incl. bad input."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from core.classification import batch
from core.cli import main
from core.errors import InputError


def _run(argv: list[str]) -> tuple[int, dict | None, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    lines = out.getvalue().strip().splitlines()
    return code, (json.loads(lines[-1]) if code == 0 and lines else None), err.getvalue()


@pytest.fixture
def cxr_folder(shared_data, tmp_path: Path) -> Path:
    """A tiny labelled folder laid out like cxr_pneumonia/train (copied to tmp, never the repo)."""
    root = tmp_path / "cxr"
    for cls in ("NORMAL", "PNEUMONIA"):
        (root / cls).mkdir(parents=True)
        for f in sorted((shared_data / "cxr_pneumonia" / "train" / cls).glob("*.jpeg"))[:3]:
            shutil.copy(f, root / cls / f.name)
    return root


def test_classify_files_folders_and_zips(cxr_folder: Path, tmp_path: Path) -> None:
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted((cxr_folder / "NORMAL").iterdir()):
            zf.write(f, f.name)
        zf.writestr("broken.png", "not an image")
        zf.writestr("labels.csv", "file,label\n")  # a sidecar table: skipped inside a zip or folder
    (cxr_folder / "labels.csv").write_text("file,label\n")
    named_csv = tmp_path / "table.csv"
    named_csv.write_text("a,b\n")
    single = next((cxr_folder / "PNEUMONIA").iterdir())
    code, out, err = _run(["classify", str(single), str(cxr_folder), str(archive), str(named_csv),
                           "--model", "pneumonia-cxr"])
    assert code == 0, err
    preds = out["predictions"]
    assert len(preds) == 1 + 6 + 4 + 1
    scored = [p for p in preds if p["prob"] is not None]
    assert len(scored) == 10 and all(p["label"] in (0, 1) for p in scored)
    assert all((p["prob"] >= out["threshold"]) == (p["label"] == 1) for p in scored)
    errors = {Path(p["file"]).name for p in preds if p["prob"] is None and p["error"]}
    assert errors == {"broken.png", "table.csv"}  # a file named on its own is still refused with a reason


def test_classify_breast_reports_dataset_coding(shared_data, tmp_path: Path) -> None:
    from PIL import Image

    data = np.load(shared_data / "medmnist" / "breastmnist_28.npz")
    for i in range(4):
        Image.fromarray(data["val_images"][i]).save(tmp_path / f"us{i}.png")
    code, out, err = _run(["classify", str(tmp_path), "--model", "breast-us", "--tta"])
    assert code == 0, err
    for p in out["predictions"]:
        assert p["label"] == (0 if p["prob"] >= out["threshold"] else 1)  # 0 = malignant in BreastMNIST
        assert p["prob_low"] <= p["prob_high"] and isinstance(p["low_confidence"], bool)


def test_evaluate_folder(cxr_folder: Path) -> None:
    code, out, err = _run(["evaluate", "classification", "--model", "pneumonia-cxr", "--folder", str(cxr_folder)])
    assert code == 0, err
    assert out["n"] == 6 and 0 <= out["auc"] <= 1 and 0 <= out["acc"] <= 1 and out["model"] == "pneumonia-cxr"


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["classify", "/no/such/file.png", "--model", "pneumonia-cxr"], "no such file"),
        (["classify", "examples", "--model", "no-such-model"], "unknown model"),
        (["evaluate", "classification", "--model", "breast-us", "--npz", "/no/such.npz"], "no such file"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv: list[str], needle: str) -> None:
    code, _, err = _run(argv)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_evaluate_rejects_unknown_subfolders_and_missing_split(tmp_path: Path, shared_data) -> None:
    (tmp_path / "cats").mkdir()
    code, _, err = _run(["evaluate", "classification", "--model", "pneumonia-cxr", "--folder", str(tmp_path)])
    assert code == 2 and "cats" in err
    npz = shared_data / "medmnist" / "breastmnist_28.npz"
    code, _, err = _run(["evaluate", "classification", "--model", "breast-us", "--npz", str(npz), "--split", "test"])
    assert code == 2 and "test_images" in err


def test_truth_csv_join_and_errors() -> None:
    rows = [{"file": "a.png", "prob": 0.9}, {"file": "b.png", "prob": 0.2}, {"file": "c.png", "prob": None}]
    result = batch.BatchResult(rows, 0.5, "pneumonia")
    truth = batch.read_truth_csv(b"file,label\ndir/a.png,1\nb.png,0\nc.png,1\n")
    joined = batch.join_truth(result, truth, "pneumonia-cxr")
    assert joined["truth"].tolist() == [1, 0] and joined["prob"].tolist() == [0.9, 0.2]
    with pytest.raises(InputError, match="columns"):
        batch.read_truth_csv(b"name,y\na,1\n")
    with pytest.raises(InputError, match="integers"):
        batch.read_truth_csv(b"file,label\na,yes\n")
    with pytest.raises(InputError, match="no scored file"):
        batch.join_truth(result, {"zzz.png": 1}, "pneumonia-cxr")
