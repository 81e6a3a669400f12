"""Train a conditional GAN on the user's own images as a background job.

The job runs in its own process (``python -m core.synthesis.jobs JOB_DIR``, niced, one torch
thread), so the app and the other browser sessions keep working, and a crash cannot take the
server down. Everything about a job lives in ``core.paths.data_dir()/gan_jobs/<id>/``:

    spec.json     what to train (name, classes, size, limits)      data.npz   the images (uint8)
    status.json   state, step, epoch, seconds, message (rewritten as it goes)
    history.json  loss curve points                                 grids/     a sample grid per epoch
    checkpoint.safetensors (+ .json)  networks, optimisers, random state: what "resume" continues
    cancel        flag file: the worker stops at the next step and keeps its checkpoint

A finished job writes ``data_dir()/models/<name>/`` (card.json, model.safetensors and
``reference.npz``, the training images for the nearest-real distance), which
``core.registry.reload()`` picks up. Limits (``LIMITS``) are stated up front on the page.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import traceback
import uuid
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.classification.inference import resize01, to_gray01
from core.errors import InputError
from core.export.samples import png_bytes
from core.imaging import limits as size_limits
from core.imaging import load
from core.labeling import get_store
from core.paths import data_dir, ensure_private_dir, private_file, write_private
from core.registry import registry
from core.synthesis.generate import grid, latents, to_uint8
from core.synthesis.quality import resize_uint8
from core.synthesis.training import GanConfig, GanTrainer, run_loop, write_card
from core.trainloop import hardware, user_model_folder

REPO = Path(__file__).resolve().parents[2]
STATES = ("queued", "running", "cancelling", "cancelled", "finished", "failed")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,39}$")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm", ""}


@dataclass(frozen=True)
class JobLimits:
    """Bounds of a user training job, shown to the user before they start one."""

    max_zip_mb: int = 50
    max_images: int = 2000
    min_per_class: int = 8
    max_classes: int = 8
    sizes: tuple[int, ...] = (32, 64)
    max_minutes: float = 15.0
    max_steps: int = 3000
    max_grids: int = 30

    def describe(self) -> str:
        return (f"up to {self.max_zip_mb} MB of images, {self.max_images} images, 2-{self.max_classes} classes with at "
                f"least {self.min_per_class} images each; {' or '.join(str(s) for s in self.sizes)} px; at most "
                f"{self.max_minutes:g} minutes of training and {self.max_steps} steps; one CPU thread")


LIMITS = JobLimits()


def generator_args(size: int, n_classes: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Generator and discriminator arguments for a user job at ``size`` px."""
    if size == 64:
        return ({"img_size": 64, "n_classes": n_classes, "z_dim": 128, "channels": [128, 64, 32, 16, 8], "embed_dim": 32},
                {"n_classes": n_classes, "channels": [16, 32, 64, 128, 128]})
    if size == 32:
        return ({"img_size": 32, "n_classes": n_classes, "z_dim": 128, "channels": [128, 64, 32, 16], "embed_dim": 32},
                {"n_classes": n_classes, "channels": [32, 64, 128]})
    raise InputError(f"image size must be one of {', '.join(map(str, LIMITS.sizes))} px, got {size}")


# ----- the user's images ------------------------------------------------------------------

def _decode(data: bytes, name: str) -> np.ndarray:
    return to_gray01(load(data, name)).pixels


def read_class_zip(data: bytes, size: int, limits: JobLimits = LIMITS) -> dict[str, Any]:
    """A zip with one folder per class -> images ``(N, size, size)`` in [0, 1], labels, class names.

    The class of an image is the name of the folder right above it. Files that are not images
    are skipped and listed; too few classes or images per class raise InputError.
    """
    if len(data) > limits.max_zip_mb * 1024 * 1024:
        raise InputError(f"the zip is {len(data) / 1e6:.0f} MB; the limit is {limits.max_zip_mb} MB")
    archive = size_limits.open_zip(data, "the upload")  # entry count capped; not a zip -> InputError
    budget = size_limits.Budget("the upload")  # inflated bytes counted while reading, never declared sizes
    entries = [i for i in archive.infolist() if not i.is_dir() and "__MACOSX" not in i.filename
               and not Path(i.filename).name.startswith(".")]
    by_class: dict[str, list[zipfile.ZipInfo]] = {}
    for info in entries:
        parts = Path(info.filename).parts
        if len(parts) < 2 or Path(info.filename).suffix.lower() not in IMAGE_SUFFIXES:
            continue
        by_class.setdefault(parts[-2], []).append(info)
    if sum(len(v) for v in by_class.values()) > limits.max_images:
        raise InputError(f"the zip holds more than {limits.max_images} images")
    images, labels, skipped = [], [], []
    names = sorted(by_class)
    for index, cls in enumerate(names):
        for info in sorted(by_class[cls], key=lambda i: i.filename):
            data_i = size_limits.read_member(archive, info, "the upload", budget)  # over budget: the whole zip is refused
            try:
                gray = _decode(data_i, Path(info.filename).name)
            except Exception as exc:  # one bad file does not spoil the set
                skipped.append(f"{info.filename}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
                continue
            images.append(resize01(gray, (size, size)))
            labels.append(index)
    counts = np.bincount(np.asarray(labels, int), minlength=len(names)) if labels else np.zeros(len(names), int)
    keep = [i for i, c in enumerate(counts) if c >= limits.min_per_class]
    if len(keep) < 2:
        found = ", ".join(f"{n}: {c}" for n, c in zip(names, counts)) or "no class folders"
        raise InputError(f"need at least 2 class folders with {limits.min_per_class}+ images each ({found})")
    if len(keep) > limits.max_classes:
        raise InputError(f"at most {limits.max_classes} classes, found {len(keep)}")
    remap = {old: new for new, old in enumerate(keep)}
    rows = [i for i, l in enumerate(labels) if l in remap]
    return {"images": np.stack([images[i] for i in rows]).astype(np.float32),
            "labels": np.array([remap[labels[i]] for i in rows], dtype=int),
            "classes": [names[i] for i in keep], "skipped": skipped,
            "dropped_classes": [n for i, n in enumerate(names) if i not in remap]}


def read_labeling_session(session_id: int, size: int, limits: JobLimits = LIMITS, store: Any = None) -> dict[str, Any]:
    """The images of a labeling session, each classed by the session label with the largest mask
    area on it ("no mask" when nothing is drawn); classes with too few images are dropped."""
    store = store or get_store()
    session = store.get_session(session_id)
    images, class_of = [], []
    for _record, image, masks in store.iter_session(session_id):
        areas = {label: int(np.count_nonzero(m)) for label, m in masks.items()}
        best = max(areas, key=areas.get) if areas and max(areas.values()) > 0 else "no mask"
        images.append(resize01(to_gray01(image).pixels, (size, size)))
        class_of.append(best)
        if len(images) >= limits.max_images:
            break
    names = sorted(set(class_of))
    counts = {n: class_of.count(n) for n in names}
    keep = [n for n in names if counts[n] >= limits.min_per_class]
    if len(keep) < 2:
        raise InputError(f"session {session.name!r} needs 2 classes with {limits.min_per_class}+ images "
                         f"(by largest mask label): {counts}")
    rows = [i for i, c in enumerate(class_of) if c in keep]
    return {"images": np.stack([images[i] for i in rows]).astype(np.float32),
            "labels": np.array([keep.index(class_of[i]) for i in rows], dtype=int),
            "classes": keep, "skipped": [], "dropped_classes": [n for n in names if n not in keep]}


# ----- jobs on disk -----------------------------------------------------------------------

def jobs_root() -> Path:
    return data_dir() / "gan_jobs"


def user_models_dir() -> Path:
    return data_dir() / "models"


@dataclass
class JobStatus:
    """What the page shows about a job."""

    id: str
    name: str
    state: str
    step: int = 0
    total_steps: int = 0
    epoch: int = 0
    steps_per_epoch: int = 1
    seconds: float = 0.0
    max_seconds: float = 0.0
    message: str = ""
    classes: list[str] = field(default_factory=list)
    history: list[dict[str, float]] = field(default_factory=list)
    grids: list[Path] = field(default_factory=list)
    model_dir: str = ""

    @property
    def progress(self) -> float:
        by_steps = self.step / self.total_steps if self.total_steps else 0.0
        by_time = self.seconds / self.max_seconds if self.max_seconds else 0.0
        return float(min(1.0, max(by_steps, by_time)))

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running", "cancelling")


def check_name(name: str, job_id: str | None = None) -> str:
    name = name.strip().lower()
    if not NAME_RE.match(name):
        raise InputError("model name: 3-40 characters, lower-case letters, digits and hyphens, e.g. 'my-cxr-gan'")
    if name in registry() and (job_id is None or not (jobs_root() / job_id).exists()):
        raise InputError(f"a model called {name!r} exists already; pick another name")
    for status in list_jobs():
        if status.name == name and status.id != job_id and status.state != "failed":
            raise InputError(f"a training job for {name!r} exists already")
    return name


def create_job(name: str, dataset: dict[str, Any], size: int, minutes: float, steps: int,
               batch_size: int = 32, seed: int = 0, limits: JobLimits = LIMITS) -> str:
    """Write a job folder for ``dataset`` (from ``read_class_zip``); returns its id (not started)."""
    name = check_name(name)
    if size not in limits.sizes:
        raise InputError(f"image size must be one of {limits.sizes}")
    if not 0 < minutes <= limits.max_minutes:
        raise InputError(f"training time must be 0-{limits.max_minutes:g} minutes")
    if not 1 <= steps <= limits.max_steps:
        raise InputError(f"steps must be 1-{limits.max_steps}")
    images = np.asarray(dataset["images"])
    if images.shape[1:] != (size, size):
        images = resize_uint8((np.clip(images, 0, 1) * 255).round().astype(np.uint8), size).astype(np.float32) / 255
    job_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    folder = jobs_root() / job_id
    ensure_private_dir(folder / "grids")  # the user's images: 0700 folders, 0600 files
    data = io.BytesIO()
    np.savez_compressed(data, train_images=(np.clip(images, 0, 1) * 255).round().astype(np.uint8),
                        train_labels=np.asarray(dataset["labels"], np.uint8).reshape(-1, 1))
    write_private(folder / "data.npz", data.getvalue())
    g_args, d_args = generator_args(size, len(dataset["classes"]))
    spec = {"id": job_id, "name": name, "classes": list(dataset["classes"]), "size": size, "steps": int(steps),
            "max_seconds": float(minutes) * 60, "batch_size": int(batch_size), "seed": int(seed),
            "g_args": g_args, "d_args": d_args, "n_images": int(len(images)),
            "class_counts": np.bincount(dataset["labels"], minlength=len(dataset["classes"])).tolist(),
            "limits": asdict(limits), "created": time.time()}
    write_private(folder / "spec.json", json.dumps(spec, indent=2))
    _write_status(folder, {"state": "queued", "step": 0, "seconds": 0.0, "message": "created"})
    return job_id


def _write_status(folder: Path, status: dict[str, Any]) -> None:
    path = folder / "status.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    write_private(path, json.dumps({**previous, **status, "updated": time.time()}))


_PROCESSES: dict[str, subprocess.Popen] = {}


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError):
        return False
    try:  # a zombie (exited, not reaped) is not alive
        return Path(f"/proc/{int(pid)}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def start(job_id: str, resume: bool = False) -> None:
    """Start (or, with ``resume``, continue from its checkpoint) the job's worker process."""
    folder = _folder(job_id)
    status = job_status(job_id)
    if status.active and _alive(json.loads((folder / "status.json").read_text()).get("pid")):
        raise InputError("this job is running already")
    if status.state == "finished":
        raise InputError("this job has finished; its model is in the picker")
    (folder / "cancel").unlink(missing_ok=True)
    _write_status(folder, {"state": "queued", "message": "resuming" if resume else "starting"})
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with open(private_file(folder / "worker.log"), "a") as log:
        process = subprocess.Popen([sys.executable, "-m", "core.synthesis.jobs", str(folder)] + (["--resume"] if resume else []),
                                   cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    _PROCESSES[job_id] = process
    _write_status(folder, {"pid": process.pid})
    # reap the worker when it exits, whether or not a page is still polling: no zombie under the server
    threading.Thread(target=_reap, args=(job_id, process), name=f"reap-{job_id}", daemon=True).start()


def _reap(job_id: str, process: subprocess.Popen) -> None:
    """Wait for the worker to exit (which reaps it) and forget it."""
    process.wait()
    if _PROCESSES.get(job_id) is process:
        _PROCESSES.pop(job_id, None)


def cancel(job_id: str) -> None:
    """Ask the worker to stop after its current step; it keeps a checkpoint for ``resume``."""
    folder = _folder(job_id)
    private_file(folder / "cancel")
    _write_status(folder, {"state": "cancelling", "message": "stopping after the current step"})


def resume(job_id: str) -> None:
    start(job_id, resume=True)


def _folder(job_id: str) -> Path:
    if not re.fullmatch(r"[0-9A-Za-z-]+", job_id or ""):
        raise InputError(f"bad job id {job_id!r}")
    folder = jobs_root() / job_id
    if not (folder / "spec.json").exists():
        raise InputError(f"no training job {job_id!r}")
    return folder


def job_status(job_id: str) -> JobStatus:
    """The job as the page shows it; a worker that died without saying so reads as failed."""
    folder = _folder(job_id)
    spec = json.loads((folder / "spec.json").read_text())
    raw = json.loads((folder / "status.json").read_text())
    process = _PROCESSES.get(job_id)
    if process is not None and process.poll() is not None:
        _PROCESSES.pop(job_id, None)
    state = raw.get("state", "queued")
    if state in ("queued", "running", "cancelling") and raw.get("pid") and not _alive(raw.get("pid")):
        raw = json.loads((folder / "status.json").read_text())  # the worker may have just written its end state
        state = raw.get("state", "failed")
        if state in ("queued", "running", "cancelling"):
            state = "failed"
            tail = (folder / "worker.log").read_text()[-200:].strip() if (folder / "worker.log").exists() else ""
            raw["message"] = f"the training process stopped unexpectedly. {tail}".strip()
            _write_status(folder, {"state": state, "message": raw["message"]})
    history = json.loads((folder / "history.json").read_text()) if (folder / "history.json").exists() else []
    n = int(spec["n_images"])
    return JobStatus(id=job_id, name=spec["name"], state=state, step=int(raw.get("step", 0)), total_steps=int(spec["steps"]),
                     epoch=int(raw.get("step", 0) * spec["batch_size"] // max(1, n)),
                     steps_per_epoch=max(1, -(-n // spec["batch_size"])), seconds=float(raw.get("seconds", 0.0)),
                     max_seconds=float(spec["max_seconds"]), message=str(raw.get("message", "")),
                     classes=list(spec["classes"]), history=history, grids=sorted((folder / "grids").glob("*.png")),
                     model_dir=str(raw.get("model_dir", "")))


def list_jobs() -> list[JobStatus]:
    """All jobs, newest first."""
    root = jobs_root()
    if not root.is_dir():
        return []
    out = []
    for folder in sorted(root.iterdir(), reverse=True):
        if (folder / "spec.json").exists() and (folder / "status.json").exists():
            try:
                out.append(job_status(folder.name))
            except (OSError, ValueError, KeyError):
                continue
    return out


# ----- the worker process -----------------------------------------------------------------

def _grid_png(trainer, classes: list[str], per_class: int = 8) -> bytes:
    z = latents(per_class * len(classes), trainer.z_dim, seed=0)
    y = torch.arange(len(classes)).repeat_interleave(per_class)
    trainer.G_ema.eval()
    with torch.no_grad():
        images = to_uint8(trainer.G_ema(z.to(trainer.device), y.to(trainer.device)))
    return png_bytes(grid(images, columns=per_class))


def worker(folder: Path, resume_run: bool = False) -> str:
    """Run one job to its end (steps, time, or cancel); returns the final state."""
    spec = json.loads((folder / "spec.json").read_text())
    raw = json.loads((folder / "status.json").read_text())
    with np.load(folder / "data.npz") as data:
        images = data["train_images"].astype(np.float32) / 255.0
        labels = data["train_labels"].ravel().astype(int)
    config = GanConfig(g_args=spec["g_args"], d_args=spec["d_args"], labels=spec["classes"],
                       batch_size=spec["batch_size"], seed=spec["seed"])
    trainer = GanTrainer(config, images, labels)
    ckpt = folder / "checkpoint.safetensors"
    seconds_before = float(raw.get("seconds", 0.0)) if resume_run else 0.0
    if resume_run and ckpt.exists():
        trainer.load(ckpt)
    steps_per_epoch = max(1, -(-len(labels) // spec["batch_size"]))
    grid_every = max(steps_per_epoch, -(-spec["steps"] // spec["limits"]["max_grids"]))
    started = time.time()
    _write_status(folder, {"state": "running", "pid": os.getpid(), "step": trainer.step_count,
                           "message": f"training ({'resumed' if resume_run else 'started'} at step {trainer.step_count})"})

    def elapsed() -> float:
        return seconds_before + time.time() - started

    def on_log(point: dict) -> None:
        write_private(folder / "history.json", json.dumps(trainer.history))
        _write_status(folder, {"step": trainer.step_count, "seconds": round(elapsed(), 1)})

    def should_stop() -> bool:
        if trainer.step_count and trainer.step_count % grid_every == 0:
            path = folder / "grids" / f"step_{trainer.step_count:06d}.png"
            if not path.exists():
                write_private(path, _grid_png(trainer, spec["classes"]))
        return (folder / "cancel").exists()

    def checkpoint(tr) -> None:
        tr.save(ckpt)
        _write_status(folder, {"step": tr.step_count, "seconds": round(elapsed(), 1)})

    result = run_loop(trainer, spec["steps"], max(0.0, spec["max_seconds"] - seconds_before), checkpoint,
                      on_log=on_log, should_stop=should_stop, log_every=10, checkpoint_every_s=60.0)
    write_private(folder / "history.json", json.dumps(trainer.history))
    write_private(folder / "grids" / f"step_{trainer.step_count:06d}.png", _grid_png(trainer, spec["classes"]))
    if result.stopped == "cancelled":
        _write_status(folder, {"state": "cancelled", "step": trainer.step_count, "seconds": round(elapsed(), 1),
                               "message": f"cancelled at step {trainer.step_count}; resume continues from there"})
        return "cancelled"
    out = user_model_folder(spec["name"])
    recipe = {"labels": spec["classes"], "size": spec["size"], "g_args": spec["g_args"], "d_args": spec["d_args"]}
    data = {"data": {"source": f"user upload ({spec['n_images']} images, classes {spec['classes']} "
                               f"with {spec['class_counts']} images)", "reference": "reference.npz",
                     "label_coding": "label = index of the class folder name in sorted order"},
            "split": {"kind": "all uploaded images used for training; no validation split"}}
    training = {"steps": trainer.step_count, "stopped": result.stopped, "wall_time_s": round(elapsed(), 1),
                "batch_size": spec["batch_size"], "loss": "hinge", "job": spec["id"], "hardware": hardware(trainer.device),
                "loss_history": trainer.history[-300:]}
    write_card(out, spec["name"], recipe, data, trainer.export_generator(batches=8), training,
               command=f"trained on the GAN augmentation page (job {spec['id']})",
               metrics={"status": "not measured: user-trained generator without a matching classifier",
                        "final_losses": trainer.history[-1] if trainer.history else {}},
               description=f"User-trained conditional GAN on {spec['n_images']} uploaded images ({', '.join(spec['classes'])}).")
    # the training images (data.npz holds exactly train_images and train_labels), kept private beside the card
    write_private(out / "reference.npz", (folder / "data.npz").read_bytes())
    _write_status(folder, {"state": "finished", "step": trainer.step_count, "seconds": round(elapsed(), 1),
                           "model_dir": str(out), "message": f"finished ({result.stopped}); saved as model {spec['name']!r}"})
    return "finished"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    folder = Path(argv[0])
    torch.set_num_threads(1)  # a background job: one thread, low priority, so the app stays responsive
    os.umask(0o077)  # this process writes only into the job folder (history, grids, checkpoints): owner-only
    try:
        os.nice(10)
    except OSError:
        pass
    try:
        worker(folder, resume_run="--resume" in argv)
    except Exception as exc:  # the page reads the message; the log keeps the traceback
        traceback.print_exc()
        _write_status(folder, {"state": "failed", "message": f"{type(exc).__name__}: {exc}"[:300]})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
