"""Sampling, export and augmentation preview on a tiny random generator registered for the test."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from core.errors import InputError
from core.synthesis import augment as aug
from core.export import samples as export
from core.synthesis.generate import grid, latents, resolve_label, sample
from tests.unit.test_synthesis_helpers import write_tiny_generator


@pytest.fixture
def tiny_gen(tmp_path, use_cards):
    write_tiny_generator(tmp_path / "cards")
    use_cards(tmp_path / "cards")
    return "tiny-cgan"


def test_shape_range_and_labels(tiny_gen):
    s = sample(tiny_gen, label="pneumonia", n=5, seed=3)
    assert s.images.shape == (5, 16, 16) and s.images.dtype == np.uint8
    assert s.images.std() > 0
    assert list(s.labels) == [1] * 5 and s.names() == ["pneumonia"] * 5
    both = sample(tiny_gen, label="all", n=4, seed=3)
    assert list(both.labels) == [0, 1, 0, 1]


def test_same_seed_same_images_and_prefix(tiny_gen):
    a = sample(tiny_gen, label=0, n=6, seed=11)
    b = sample(tiny_gen, label=0, n=6, seed=11, batch_size=4)  # another device batching
    c = sample(tiny_gen, label=0, n=3, seed=11)
    assert np.array_equal(a.images, b.images)
    assert np.array_equal(a.images[:3], c.images)
    assert not np.array_equal(a.images, sample(tiny_gen, label=0, n=6, seed=12).images)


def test_conditioning_changes_output(tiny_gen):
    normal = sample(tiny_gen, label="normal", n=4, seed=0).images.astype(int)
    pneumonia = sample(tiny_gen, label="pneumonia", n=4, seed=0).images.astype(int)
    assert np.abs(normal - pneumonia).mean() > 0.5


def test_truncation_bounds_latents():
    z = latents(200, 16, seed=0, truncation=0.7)
    assert z.abs().max() <= 0.7 + 1e-5
    free = latents(2000, 16, seed=0)
    assert abs(float(free.std()) - 1.0) < 0.05 and free.abs().max() > 2.5
    assert latents(3, 16, seed=5).equal(latents(5, 16, seed=5)[:3])


def test_bad_requests_raise_input_error(tiny_gen):
    from core.registry import get_spec

    spec = get_spec(tiny_gen)
    assert resolve_label(spec, "Pneumonia") == 1 and resolve_label(spec, "0") == 0 and resolve_label(spec, "all") is None
    for bad in ("covid", "7", "-1"):
        with pytest.raises(InputError):
            resolve_label(spec, bad)
    with pytest.raises(InputError):
        sample(tiny_gen, n=0)
    with pytest.raises(InputError):
        sample(tiny_gen, n=4, truncation=-1.0)
    with pytest.raises(InputError):
        sample("no-such-model", n=1)


def test_zip_layout_round_trips(tiny_gen):
    s = sample(tiny_gen, label="all", n=4, seed=1)
    distances = np.array([0.1, 0.2, 0.3, 0.4])
    with zipfile.ZipFile(io.BytesIO(export.to_zip(s, distances))) as archive:
        names = sorted(archive.namelist())
        assert names == ["images/00000_normal.png", "images/00001_pneumonia.png", "images/00002_normal.png",
                         "images/00003_pneumonia.png", "labels.csv"]
        rows = list(csv.DictReader(io.StringIO(archive.read("labels.csv").decode())))
        for i, row in enumerate(rows):
            png = np.asarray(Image.open(io.BytesIO(archive.read(row["file"]))))
            assert np.array_equal(png, s.images[i])
            assert int(row["label"]) == s.labels[i] and row["model"] == tiny_gen and row["seed"] == "1"
            assert float(row["nearest_real_distance"]) == pytest.approx(distances[i])


def test_npz_like_shared_medmnist(tiny_gen):
    s = sample(tiny_gen, label="pneumonia", n=3, seed=2)
    data = np.load(io.BytesIO(export.to_npz(s)))
    assert data["train_images"].shape == (3, 16, 16) and data["train_images"].dtype == np.uint8
    assert data["train_labels"].shape == (3, 1) and data["train_labels"].dtype == np.uint8
    assert data["train_labels"].ravel().tolist() == [1, 1, 1]


def test_write_folder(tiny_gen, tmp_path):
    s = sample(tiny_gen, n=2, seed=0)
    out = export.write(s, tmp_path / "synth")
    assert (out / "labels.csv").exists() and len(list((out / "images").glob("*.png"))) == 2


def test_cli_generate_same_seed_same_files(tiny_gen, tmp_path, capsys):
    from core.cli import main

    for name in ("a", "b"):
        assert main(["generate", "--model", tiny_gen, "--label", "normal", "--n", "3", "--seed", "4",
                     "--out", str(tmp_path / f"{name}.zip")]) == 0
        result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert result["model"] == tiny_gen and result["n"] == 3 and result["out"].endswith(f"{name}.zip")
    with zipfile.ZipFile(tmp_path / "a.zip") as a, zipfile.ZipFile(tmp_path / "b.zip") as b:
        assert all(a.read(n) == b.read(n) for n in a.namelist() if n.endswith(".png"))
    assert main(["generate", "--model", tiny_gen, "--label", "covid", "--n", "3", "--out", str(tmp_path / "c")]) == 2
    assert "unknown label" in capsys.readouterr().err


def test_grid_tiles():
    g = grid(np.zeros((5, 4, 4), np.uint8), columns=3, pad=1)
    assert g.shape == (2 * 5 + 1, 3 * 5 + 1)


@pytest.mark.parametrize("kind", aug.KINDS)
def test_augmentation_views(kind):
    image = np.linspace(0, 1, 32 * 32, dtype=np.float32).reshape(32, 32)
    first = aug.augment_view(image, kind, seed=1, strength=0.8)
    assert first.shape == image.shape and 0 <= first.min() and first.max() <= 1
    assert np.array_equal(first, aug.augment_view(image, kind, seed=1, strength=0.8))
    assert not np.allclose(first, image)


def test_flip_is_a_mirror_and_bad_kind_raises():
    image = np.random.default_rng(0).random((8, 8)).astype(np.float32)
    assert np.allclose(aug.augment_view(image, "flip"), image[:, ::-1])
    with pytest.raises(InputError):
        aug.augment_view(image, "shear")
    assert len(aug.preview(image, ["flip", "rotation"], per_kind=2)) == 4


def test_zip_carries_the_near_copy_flags_the_gallery_shows(tiny_gen):
    """Issue 20 item 7: every caption under a gallery image (class, distance, near-copy) is in labels.csv."""
    s = sample(tiny_gen, label="all", n=4, seed=1)
    distances = np.array([0.01, 0.2, 0.03, 0.4])
    flags = export.near_copy_flags(distances, threshold=0.05)
    assert flags.tolist() == [True, False, True, False]
    with zipfile.ZipFile(io.BytesIO(export.to_zip(s, distances, threshold=0.05))) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("labels.csv").decode())))
    assert [r["near_copy"] for r in rows] == ["yes", "no", "yes", "no"]
    assert [r["label_name"] for r in rows] == s.names()
