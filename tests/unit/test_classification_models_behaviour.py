"""The committed classifiers on real data: evaluation, calibration, explanations, OOD."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch

from core.classification import calibration, explain, ood
from core.classification.batch import evaluate_arrays
from core.classification.inference import batch_probs, classify, model_class_of_dataset_label, prepare
from core.cli import main
from core.registry import get_spec


def _run_cli(argv: list[str]) -> dict:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(argv)
    assert code == 0
    return json.loads(out.getvalue().strip().splitlines()[-1])


@pytest.fixture(scope="module")
def breast_val(shared_data) -> tuple[list[np.ndarray], np.ndarray]:
    data = np.load(shared_data / "medmnist" / "breastmnist_28.npz")
    return list(data["val_images"]), data["val_labels"].ravel()


def test_evaluate_cli_on_validation_equals_library_call(breast_val, shared_data) -> None:
    images, labels = breast_val
    npz = shared_data / "medmnist" / "breastmnist_28.npz"
    cli = _run_cli(["evaluate", "classification", "--model", "breast-us", "--npz", str(npz), "--split", "val"])
    library = evaluate_arrays("breast-us", images, labels)
    assert {k: cli[k] for k in ("model", "auc", "acc", "n")} == {k: library[k] for k in ("model", "auc", "acc", "n")}
    card = get_spec("breast-us").card.metrics["at_threshold"]
    assert cli["n"] == 78
    assert cli["auc"] == pytest.approx(card["auc"], abs=1e-3) and cli["acc"] == pytest.approx(card["acc"], abs=1e-3)


def test_breast_labels_map_malignant_to_positive(breast_val) -> None:
    spec = get_spec("breast-us")
    _, labels = breast_val
    assert np.array_equal(model_class_of_dataset_label(spec, labels), 1 - labels)


@pytest.fixture(scope="module")
def pneumonia_val(shared_data) -> tuple[list[np.ndarray], np.ndarray]:
    """The pneumonia model's validation split (patients held out of training), 829 images."""
    from PIL import Image

    from core.classification.data import cxr_validation_files

    files, labels = cxr_validation_files(shared_data / "cxr_pneumonia" / "train")
    return [np.asarray(Image.open(f)) for f in files], labels


def test_pneumonia_validation_split_matches_card(pneumonia_val) -> None:
    split = get_spec("pneumonia-cxr").card.split
    assert len(pneumonia_val[1]) == split["n_val"]
    assert np.bincount(pneumonia_val[1]).tolist() == split["val_class_counts"]


@pytest.mark.slow
def test_temperature_lowers_ece_on_validation(pneumonia_val) -> None:
    """On the 829 validation X-rays; the card's own numbers must be what this measures."""
    from core import cache

    images, truth = pneumonia_val
    spec = get_spec("pneumonia-cxr")
    model = cache.get_model("pneumonia-cxr", "cpu")
    batch, _ = prepare(images, spec)
    with torch.no_grad():
        logits = model(batch).double().numpy()
    t = spec.card.temperature
    before = calibration.expected_calibration_error(calibration.softmax_positive(logits, 1.0), truth)
    after = calibration.expected_calibration_error(calibration.softmax_positive(logits, t), truth)
    assert after < before
    recorded = spec.card.sections["calibration"]["ece_validation"]
    assert before == pytest.approx(recorded["before"], abs=2e-3) and after == pytest.approx(recorded["after"], abs=2e-3)
    assert np.allclose(calibration.softmax_positive(logits[:64], t), batch_probs("pneumonia-cxr", images[:64]))


def test_temperature_is_the_nll_optimum_on_breast_validation(breast_val) -> None:
    """BreastMNIST (78 images): T minimises NLL (ECE on 78 images is too noisy to order)."""
    from core import cache

    images, labels = breast_val
    spec = get_spec("breast-us")
    batch, _ = prepare(images, spec)
    with torch.no_grad():
        logits = cache.get_model("breast-us", "cpu")(batch).double().numpy()
    truth = 1 - labels
    t = spec.card.temperature
    fitted = calibration.nll(calibration.softmax_positive(logits, t), truth)
    assert fitted <= calibration.nll(calibration.softmax_positive(logits, 1.0), truth) + 1e-9
    assert fitted <= calibration.nll(calibration.softmax_positive(logits, t * 1.2), truth) + 1e-9


@pytest.mark.parametrize("name", ["breast-us", "pneumonia-cxr"])
def test_gradcam_passes_model_randomisation_check(name: str, breast_val, shared_data) -> None:
    from core import cache
    from PIL import Image

    spec = get_spec(name)
    if name == "breast-us":
        images = breast_val[0][:8]
    else:
        files = sorted((shared_data / "cxr_pneumonia" / "train" / "PNEUMONIA").glob("*.jpeg"))[:6]
        images = [np.asarray(Image.open(f)) for f in files]
    batch, _ = prepare(images, spec)
    result = explain.randomisation_check(cache.get_model(name, "cpu"), batch, "Grad-CAM")
    assert result["passed"], result


def test_occlusion_passes_model_randomisation_check(breast_val) -> None:
    from core import cache

    spec = get_spec("breast-us")
    batch, _ = prepare(breast_val[0][:4], spec)
    result = explain.randomisation_check(cache.get_model("breast-us", "cpu"), batch, "Occlusion")
    assert result["passed"], result


@pytest.mark.parametrize("name", ["breast-us", "pneumonia-cxr"])
def test_ood_flag_separates_kvasir_from_training_modality(name: str, breast_val, shared_data) -> None:
    from core import cache
    from PIL import Image

    spec = get_spec(name)
    model = cache.get_model(name, "cpu")
    kvasir = [np.asarray(Image.open(f).convert("RGB")) for f in sorted((shared_data / "seg" / "kvasir_seg" / "images").glob("*.png"))[:40]]
    if name == "breast-us":
        own = breast_val[0][:40]
    else:
        files = sorted((shared_data / "cxr_pneumonia" / "train" / "NORMAL").glob("*.jpeg"))[-40:]
        own = [np.asarray(Image.open(f)) for f in files]

    def rate(images) -> float:
        batch, grays = prepare(images, spec)
        return float(ood.flag_many(model, batch, np.array([g.colourfulness for g in grays]), spec)["flag"].mean())

    assert rate(kvasir) >= 0.95
    assert rate(own) <= 0.10
    single = classify(kvasir[0], name, tta=False)
    assert single.ood and single.ood_reason


def test_classify_single_image_interval_and_flag(shared_data) -> None:
    from PIL import Image

    file = sorted((shared_data / "cxr_pneumonia" / "train" / "PNEUMONIA").glob("*.jpeg"))[0]
    pred = classify(np.asarray(Image.open(file)), "pneumonia-cxr")
    assert 0 <= pred.interval[0] <= pred.interval[1] <= 1
    assert pred.label in ("normal", "pneumonia") and pred.dataset_label in (0, 1)
    assert pred.low_confidence == (min(pred.interval[0], pred.prob) <= pred.threshold <= max(pred.interval[1], pred.prob))
    assert not pred.ood
