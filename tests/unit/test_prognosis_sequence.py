"""Sequence readers (UCR .ts / .txt / CSV), length checks, augmentation, saliency, metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import InputError
from core.prognosis.datasets import read_sequences
from core.prognosis.sequence import (SequenceRecipe, augment, check_length, encode_labels, saliency, scores,
                                     znormalise)

TS = b"""#comment
@problemName toy
@classLabel true -1 1
@data
1,2,3,4:1
4,3,2,1:-1
"""


def test_read_ts_txt_csv() -> None:
    x, y = read_sequences(TS)
    assert x.shape == (2, 4) and list(y) == ["1", "-1"]
    x, y = read_sequences(b"  1.0e+00 0.5 0.25 0.1\n  2.0 1 2 3\n")
    assert x.shape == (2, 3) and list(y) == ["1", "2"]
    x, y = read_sequences(b"label,t0,t1,t2\n1,0.1,0.2,0.3\n-1,0.3,0.2,0.1\n")
    assert x.shape == (2, 3) and list(y) == ["1", "-1"]
    x, y = read_sequences(b"0.1,0.2,0.3\n")
    assert x.shape == (1, 3) and y is None


@pytest.mark.parametrize("content", [b"", b"1,2,x\n", b"1,2,3\n1,2\n", b"\xff\xfe\x00"])
def test_bad_files_raise_input_error(content: bytes) -> None:
    with pytest.raises(InputError):
        read_sequences(content)


def test_wrong_length_names_the_field() -> None:
    with pytest.raises(InputError, match="sequence length.*96.*got 50"):
        check_length(np.zeros((1, 50)), 96, "ecg200-gru")


def test_labels_and_scores_match_sklearn() -> None:
    from sklearn.metrics import accuracy_score, f1_score

    y = encode_labels(np.array(["1", "-1", "1"]), ["-1", "1"])
    assert list(y) == [1, 0, 1]
    with pytest.raises(InputError, match="'label'"):
        encode_labels(np.array(["7"]), ["-1", "1"])
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 50)
    proba = rng.random((50, 3))
    s = scores(truth, proba)
    assert s["acc"] == round(accuracy_score(truth, proba.argmax(1)), 4)
    assert s["macro_f1"] == round(f1_score(truth, proba.argmax(1), average="macro"), 4)


def test_znormalise_and_augment_shapes() -> None:
    x = znormalise(np.random.default_rng(0).normal(3, 2, (4, 40)))
    np.testing.assert_allclose(x.mean(1), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(1), 1, atol=1e-4)
    assert np.all(znormalise(np.ones((1, 5))) == 0)
    out = augment(torch.from_numpy(x), SequenceRecipe(), torch.Generator().manual_seed(0))
    assert out.shape == x.shape and not torch.equal(out, torch.from_numpy(x))


def test_saliency_is_scaled_and_same_length() -> None:
    from models.prognosis_nets import SequenceGRU

    net = SequenceGRU(2, hidden=8, layers=1, stem=8).eval()
    sal, cls = saliency(net, np.sin(np.linspace(0, 6, 64)).astype(np.float32))
    assert sal.shape == (64,) and 0 <= sal.min() and sal.max() == pytest.approx(1.0) and cls in (0, 1)


def test_shared_ucr_files(shared_data) -> None:
    x, y = read_sequences(shared_data / "clinical" / "ecg200" / "ECG200_TRAIN.ts")
    assert x.shape == (100, 96) and sorted(set(y)) == ["-1", "1"] and (y == "1").sum() == 69
    x, y = read_sequences(shared_data / "clinical" / "ecg5000" / "ECG5000_TRAIN.txt")
    assert x.shape == (500, 140) and (y == "1").sum() == 292


def test_evaluation_report_names_n_split_and_training_overlap(shared_data) -> None:
    """Issue 20 item 3: evaluating the model's own training file says so."""
    from core.prognosis.predict import sequence_report

    train = (shared_data / "clinical" / "ecg200" / "ECG200_TRAIN.ts").read_bytes()
    report = sequence_report("ecg200-gru", train, "ECG200_TRAIN.ts")
    assert report["n"] == 100 and report["in_training_data"] == 100
    assert "training" in report["split"].lower()
    assert 0 <= report["acc"] <= 1 and 0 <= report["macro_f1"] <= 1
    lines = train.decode().splitlines()
    header = [ln for ln in lines if not ln or ln.startswith(("@", "#"))]
    body = [ln for ln in lines if ln and not ln.startswith(("@", "#"))]
    values, label = body[0].split(":")
    numbers = [float(v) for v in values.split(",")]
    numbers[10] += 2.0  # a different beat (a scaled or shifted copy is the same beat to the model)
    changed = [",".join(f"{v:.6f}" for v in numbers) + ":" + label]
    other = "\n".join(header + changed + body[1:3]).encode()
    report = sequence_report("ecg200-gru", other, "mine.ts")
    assert report["n"] == 3 and report["in_training_data"] == 2
