"""Background GAN training on the user's images: reading the zip, cancel, resume, registration."""

from __future__ import annotations

import io
import json
import stat
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import InputError
from core.synthesis import jobs


def class_zip(per_class: int = 8, classes=("cats", "dogs"), junk: bool = True) -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for c, cls in enumerate(classes):
            for i in range(per_class):
                image = (rng.random((20, 24)) * 100 + 120 * c).astype(np.uint8)
                png = io.BytesIO()
                Image.fromarray(image).save(png, format="PNG")
                archive.writestr(f"data/{cls}/{i}.png", png.getvalue())
        if junk:
            archive.writestr("data/dogs/notes.png", b"not an image")
            archive.writestr("README.txt", b"top-level file, no class")
    return buffer.getvalue()


def test_read_class_zip():
    data = jobs.read_class_zip(class_zip(), size=32)
    assert data["images"].shape == (16, 32, 32) and data["classes"] == ["cats", "dogs"]
    assert data["labels"].tolist() == [0] * 8 + [1] * 8
    assert 0 <= data["images"].min() and data["images"].max() <= 1
    assert data["images"][data["labels"] == 1].mean() > data["images"][data["labels"] == 0].mean()
    assert len(data["skipped"]) == 1 and "notes.png" in data["skipped"][0]


@pytest.mark.parametrize("payload, message", [(b"plain text", "not a zip"), (class_zip(per_class=3), "at least 2 class")])
def test_bad_zips_raise_input_error(payload, message):
    with pytest.raises(InputError, match=message):
        jobs.read_class_zip(payload, size=32)


def test_job_limits_are_checked():
    data = jobs.read_class_zip(class_zip(junk=False), size=32)
    with pytest.raises(InputError):
        jobs.create_job("Bad Name!", data, 32, 1, 10)
    with pytest.raises(InputError):
        jobs.create_job("ok-name", data, 48, 1, 10)
    with pytest.raises(InputError):
        jobs.create_job("ok-name", data, 32, 99, 10)


def wait_for(job_id: str, predicate, timeout: float = 120.0) -> jobs.JobStatus:
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = jobs.job_status(job_id)
        if predicate(status):
            return status
        assert status.state != "failed", status.message
        time.sleep(0.2)
    raise AssertionError(f"timed out; last status {jobs.job_status(job_id)}")


@pytest.mark.slow
def test_background_job_cancel_resume_and_register():
    from core import registry
    from core.synthesis.generate import sample

    data = jobs.read_class_zip(class_zip(junk=False), size=32)
    # far more steps than can run before the cancel arrives, so the cancel is never too late
    job_id = jobs.create_job("test-user-gan", data, size=32, minutes=2, steps=3000, batch_size=8)
    jobs.start(job_id)
    running = wait_for(job_id, lambda s: s.state == "running" and s.step >= 1)
    jobs.cancel(job_id)
    cancelled = wait_for(job_id, lambda s: s.state == "cancelled", timeout=60)
    assert running.step <= cancelled.step < 3000
    assert (jobs.jobs_root() / job_id / "checkpoint.safetensors").exists() and cancelled.grids
    with pytest.raises(InputError):
        jobs.create_job("test-user-gan", data, 32, 1, 10)  # the name is taken by this job
    # resume two more steps: the same worker code, run in this process (a process start only costs time)
    folder = jobs.jobs_root() / job_id
    spec = json.loads((folder / "spec.json").read_text())
    target = cancelled.step + 2
    (folder / "spec.json").write_text(json.dumps({**spec, "steps": target}))
    (folder / "cancel").unlink()  # what jobs.start(..., resume=True) does first
    assert jobs.worker(folder, resume_run=True) == "finished"
    done = jobs.job_status(job_id)
    assert done.step == target and done.history and done.history[-1]["step"] == target
    registry.reload()
    spec = registry.get_spec("test-user-gan")
    assert spec.task == "generation" and spec.labels == ("cats", "dogs")
    s = sample("test-user-gan", "dogs", n=2, seed=0)
    assert s.images.shape == (2, 32, 32)
    # the user's images and everything derived from them are private (issue #15: PHI at rest)
    written = [folder, *folder.rglob("*"), spec.folder, *spec.folder.iterdir()]
    modes = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in written}
    wrong = {p: m for p, m in modes.items() if m != ("0o700" if Path(p).is_dir() else "0o600")}
    assert not wrong, wrong


def test_labeling_session_images_are_classed_by_largest_mask(tmp_path):
    from core.imaging import MedImage
    from core.labeling import LabelingStore

    store = LabelingStore(tmp_path / "labels.sqlite")
    session = store.create_session("gan-source", ["lesion", "organ"])
    rng = np.random.default_rng(0)
    for i in range(18):
        image = MedImage(pixels=rng.random((1, 20, 20)).astype(np.float32) * 100, name=f"im{i}")
        image_id = store.add_image(session.id, image)
        if i < 9:
            mask = np.zeros((20, 20), bool)
            mask[2:8, 2:8] = True
            store.save_mask(image_id, "lesion", 0, mask)
    data = jobs.read_labeling_session(session.id, size=32, store=store)
    assert data["classes"] == ["lesion", "no mask"] and data["labels"].tolist() == [0] * 9 + [1] * 9
    assert data["images"].shape == (18, 32, 32)


def _proc_state(pid: int) -> str | None:
    """The process state letter from /proc ("Z" for a zombie), None when the process is gone."""
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def test_finished_worker_is_reaped_without_anyone_polling():
    """Issue 20 item 6: a finished background training leaves no zombie under the server."""
    data = jobs.read_class_zip(class_zip(junk=False), size=32)
    job_id = jobs.create_job("test-reaped-gan", data, size=32, minutes=1, steps=2, batch_size=8)
    jobs.start(job_id)
    pid = json.loads((jobs.jobs_root() / job_id / "status.json").read_text())["pid"]
    deadline = time.time() + 120  # nobody calls job_status (which polls): the page may be closed
    while time.time() < deadline and _proc_state(pid) not in (None, "Z"):
        time.sleep(0.2)
    settle = time.time() + 10
    while time.time() < settle and _proc_state(pid) == "Z":
        time.sleep(0.1)
    assert _proc_state(pid) is None, "the finished worker is still a zombie child of this process"
    assert json.loads((jobs.jobs_root() / job_id / "status.json").read_text())["state"] == "finished"
