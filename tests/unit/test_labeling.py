"""The labeling store: sessions, statuses, next image, edits saved as they happen, resume,
two writers at once, and a process killed mid-session."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from core.imaging import MedImage
from core.labeling import LabelingStore, Workspace, decode_image, encode_image, mean_entropy
from core.masks.history import Edit

REPO = Path(__file__).resolve().parents[2]


def _image(seed: int = 0, shape=(1, 32, 40)) -> MedImage:
    rng = np.random.default_rng(seed)
    return MedImage(pixels=rng.integers(-1000, 1000, shape).astype(np.float32), spacing=(0.5, 0.7),
                    modality="CT", window=(40, 400), name=f"img{seed}")


def _square(r, c, n=5, hw=(32, 40)):
    m = np.zeros(hw, bool)
    m[r:r + n, c:c + n] = True
    return m


@pytest.fixture
def store(tmp_path: Path) -> LabelingStore:
    s = LabelingStore(tmp_path / "labeling.sqlite")
    yield s
    s.close()


def test_database_is_in_wal_mode_under_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDLENS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MEDLENS_DB_URL", raising=False)
    s = LabelingStore()
    assert Path(s.engine.url.database) == tmp_path / "medlens.sqlite"
    with s.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    s.close()


def test_image_round_trips_exactly(store):
    image = _image(1, (3, 16, 20))
    image.affine = np.diag([0.7, 0.5, 2.0, 1.0])
    back = decode_image(encode_image(image))
    assert np.array_equal(back.pixels, image.pixels) and back.spacing == (0.5, 0.7)
    assert back.window == (40, 400) and back.modality == "CT" and np.array_equal(back.affine, image.affine)


def test_session_images_status_and_dedupe(store):
    session = store.create_session("chest", ["lung", "opacity"], annotator="ana")
    a = store.add_image(session.id, _image(1), "a.dcm")
    b = store.add_image(session.id, _image(2), "b.dcm")
    assert store.add_image(session.id, _image(1), "again.dcm") == a
    assert [r.name for r in store.list_images(session.id)] == ["a.dcm", "b.dcm"]
    store.set_status(b, "done", "ana")
    assert store.get_image_record(b).status == "done" and store.get_image_record(b).annotator == "ana"
    with pytest.raises(InputError):
        store.set_status(a, "finished")
    with pytest.raises(InputError):
        store.create_session("x", [])
    assert store.latest_session().id == session.id


def test_next_unfinished_image_in_order_or_hardest_first(store):
    s = store.create_session("s", ["lung"])
    ids = [store.add_image(s.id, _image(i), f"i{i}") for i in range(4)]
    store.set_status(ids[1], "done")
    assert store.next_image(s.id, ids[0]) == ids[2]
    assert store.next_image(s.id, ids[3]) == ids[0]  # wraps around, skips done
    store.set_uncertainty(ids[0], 0.1)
    store.set_uncertainty(ids[3], 0.6)
    store.set_uncertainty(ids[1], 0.9)  # done: never served
    assert store.next_image(s.id, ids[2], by_uncertainty=True) == ids[3]
    assert store.next_image(s.id, ids[3], by_uncertainty=True) == ids[0]
    for i in ids:
        store.set_status(i, "done")
    assert store.next_image(s.id, ids[0]) is None


def test_mean_entropy():
    assert mean_entropy(np.array([0.0, 1.0])) < 1e-5
    assert abs(mean_entropy(np.full((4, 4), 0.5)) - 1.0) < 1e-9
    assert 0 < mean_entropy(np.array([0.1, 0.9])) < 1


def test_edits_undo_and_redo_survive_reopening(tmp_path):
    path = tmp_path / "l.sqlite"
    s1 = LabelingStore(path)
    session = s1.create_session("s", ["lung", "opacity"])
    image_id = s1.add_image(session.id, _image(), "a")
    ws = Workspace(s1, session, image_id)
    ws.edit("lung", 0, _square(0, 0), "brush")
    ws.edit("lung", 0, _square(0, 0) | _square(10, 10), "brush")
    ws.edit("opacity", 0, _square(10, 10, 2), "polygon")
    ws.undo()
    s1.update_session(session.id, current_image=image_id, current_label="opacity")
    assert s1.get_image_record(image_id).status == "in progress"
    s1.close()

    s2 = LabelingStore(path)  # a restart
    session2 = s2.latest_session()
    assert session2.current_image == image_id and session2.current_label == "opacity"
    ws2 = Workspace(s2, session2, image_id)
    assert np.array_equal(ws2.masks.get("lung", 0), _square(0, 0) | _square(10, 10))
    assert not ws2.masks.get("opacity", 0).any()
    assert ws2.masks.history.can_redo
    ws2.redo()
    assert np.array_equal(ws2.masks.get("opacity", 0), _square(10, 10, 2))
    ws2.undo()
    ws2.undo()
    assert np.array_equal(ws2.masks.get("lung", 0), _square(0, 0))
    ws2.edit("lung", 0, _square(20, 20), "new")  # drops the redo branch, in the store too
    assert s2.edit_count(image_id) == 2
    s2.close()
    s3 = LabelingStore(path)
    assert np.array_equal(s3.load_masks(image_id, ["lung"])["lung"][0], _square(20, 20))
    s3.close()


WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    sys.path.insert(0, {repo!r})
    from core.labeling import LabelingStore
    from core.masks.history import Edit
    path, image_id, label, n, delay = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    store = LabelingStore(path)
    shape = store.get_image_record(image_id).shape[1:]
    mask = np.zeros(shape, bool)
    for i in range(n):
        new = mask.copy()
        new.flat[i] = True
        store.record_edit(image_id, Edit.between(label, 0, mask, new, f"edit {{i}}"), new)
        mask = new
        print(i + 1, flush=True)
        time.sleep(delay)
""").format(repo=str(REPO))


def _writer(tmp_path, path, image_id, label, n, delay) -> subprocess.Popen:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    return subprocess.Popen([sys.executable, str(script), str(path), str(image_id), label, str(n), str(delay)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_two_writers_at_once(tmp_path):
    path = tmp_path / "l.sqlite"
    s = LabelingStore(path)
    session = s.create_session("s", ["lung", "opacity"])
    a = s.add_image(session.id, _image(1), "a")
    b = s.add_image(session.id, _image(2), "b")
    procs = [_writer(tmp_path, path, a, "lung", 40, 0.0), _writer(tmp_path, path, b, "opacity", 40, 0.0)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert s.edit_count(a) == 40 and s.edit_count(b) == 40
    assert s.load_masks(a, ["lung"])["lung"].sum() == 40
    assert s.load_masks(b, ["opacity"])["opacity"].sum() == 40
    assert s.get_image_record(a).status == "in progress"
    s.close()


@pytest.mark.slow
def test_killed_process_loses_at_most_the_edit_in_flight(tmp_path):
    path = tmp_path / "l.sqlite"
    s = LabelingStore(path)
    session = s.create_session("s", ["lung"])
    image_id = s.add_image(session.id, _image(), "a")
    s.close()
    proc = _writer(tmp_path, path, image_id, "lung", 10_000, 0.002)
    confirmed = 0
    deadline = time.time() + 60
    while confirmed < 25 and time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        confirmed = int(line)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert confirmed >= 25, proc.stderr.read()

    s = LabelingStore(path)  # resume after the crash
    with s.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    saved = s.edit_count(image_id)
    assert confirmed <= saved <= confirmed + 1  # every confirmed edit is there, at most one more
    mask = s.load_masks(image_id, ["lung"])["lung"][0]
    assert mask.sum() == saved and mask.flat[:saved].all()  # the mask matches the last saved edit
    history = s.load_history(image_id)
    assert history.position == saved
    s.close()


def test_workspace_import_replaces_as_undoable_edits(store):
    session = store.create_session("s", ["lung", "opacity"])
    image_id = store.add_image(session.id, _image(0, (2, 32, 40)), "vol")
    ws = Workspace(store, session, image_id)
    volume = np.zeros((2, 32, 40), bool)
    volume[1] = _square(3, 3)
    assert ws.replace_all({"lung": volume, "unknown": volume}) == 1
    assert np.array_equal(store.load_masks(image_id, ["lung"])["lung"], volume)
    ws.undo()
    assert not store.load_masks(image_id, ["lung"])["lung"].any()
    ws.add_labels(["nodule"])
    assert store.get_session(session.id).labels == ["lung", "opacity", "nodule"]
    assert ws.masks.get("nodule", 1).shape == (32, 40)
    with pytest.raises(InputError):
        store.update_session(session.id, labels=["lung"])


def test_sqlite_file_is_readable_by_another_connection(store):
    session = store.create_session("s", ["lung"])
    image_id = store.add_image(session.id, _image(), "a")
    store.record_edit(image_id, Edit.between("lung", 0, _square(0, 0) & False, _square(0, 0)), _square(0, 0))
    other = sqlite3.connect(str(store.path))
    assert other.execute("SELECT COUNT(*) FROM labeling_edits").fetchone()[0] == 1
    other.close()


def test_unusable_store_location_is_an_input_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(InputError):
        LabelingStore(blocker / "labeling.sqlite")
    (tmp_path / "bad.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(InputError):
        LabelingStore(tmp_path / "bad.sqlite")
