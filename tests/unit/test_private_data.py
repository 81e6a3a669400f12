"""Patient data at rest: the data folder is 0700 and what the app writes there 0600."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest

from core.paths import data_dir, ensure_private_dir, private_file, write_private


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "home" / ".medlens"
    monkeypatch.setenv("MEDLENS_DATA_DIR", str(folder))
    return folder


def test_folders_are_created_0700_even_under_a_permissive_umask(data) -> None:
    import os

    old = os.umask(0o000)
    try:
        made = ensure_private_dir(data_dir() / "labeling")
    finally:
        os.umask(old)
    assert made == data / "labeling"
    assert _mode(data) == 0o700 and _mode(made) == 0o700 and _mode(data.parent) == 0o700


def test_an_existing_data_folder_is_tightened_but_a_folder_outside_it_is_not(data, tmp_path) -> None:
    data.mkdir(parents=True, mode=0o755)
    data.chmod(0o755)
    outside = tmp_path / "mine"
    outside.mkdir(mode=0o755)
    outside.chmod(0o755)
    ensure_private_dir(data / "models")
    ensure_private_dir(outside)
    assert _mode(data) == 0o700 and _mode(data / "models") == 0o700
    assert _mode(outside) == 0o755


def test_files_are_0600_and_written_atomically(data) -> None:
    path = write_private(data / "gan_jobs" / "j1" / "status.json", '{"state": "queued"}')
    assert path.read_text() == '{"state": "queued"}' and _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    loose = data / "loose.txt"
    loose.write_text("x")
    loose.chmod(0o644)
    assert _mode(private_file(loose)) == 0o600 and loose.read_text() == "x"  # tightened, content kept
    assert [p.name for p in path.parent.iterdir()] == ["status.json"]  # no temporary file left


def test_the_labeling_store_and_its_wal_files_are_private(data) -> None:
    from core.imaging import MedImage
    from core.labeling import LabelingStore

    store = LabelingStore()  # the default place: core.db's <data dir>/medlens.sqlite
    session = store.create_session("s", ["lung"])
    store.add_image(session.id, MedImage(pixels=np.zeros((1, 8, 8), np.float32)), "x.png")
    files = sorted(p for p in data.iterdir() if p.name.startswith("medlens.sqlite"))
    assert {p.name for p in files} >= {"medlens.sqlite", "medlens.sqlite-wal", "medlens.sqlite-shm"}
    assert all(_mode(p) == 0o600 for p in files), {p.name: oct(_mode(p)) for p in files}
    assert _mode(data) == 0o700
    store.close()


def test_a_users_model_is_private_and_a_committed_one_readable(data, tmp_path) -> None:
    from models.toy import TinyCNN

    from core.trainloop import save_model, user_model_folder

    card = {"name": "mine", "task": "test", "architecture": {"name": "tiny_cnn", "args": {"in_channels": 1, "num_classes": 2}},
            "preprocessing": {"size": [16, 16], "channels": 1}, "labels": ["dark", "bright"]}
    state = TinyCNN(in_channels=1, num_classes=2)
    mine = save_model(user_model_folder("mine"), state, card)
    assert mine.parent.parent == data and _mode(data) == 0o700 and _mode(mine) == 0o700
    assert {p.name: _mode(p) for p in mine.iterdir()} == {"model.safetensors": 0o600, "card.json": 0o600}
    committed = save_model(tmp_path / "repo" / "models" / "mine", state, card)  # outside the data folder
    assert {p.name: _mode(p) for p in committed.iterdir()} == {"model.safetensors": 0o644, "card.json": 0o644}
