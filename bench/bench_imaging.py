"""Imaging benchmarks: series loading, preprocessing-op latency, memory of a 20-slice series.

- ``imaging_series_load``: ``core.imaging.load(folder)`` (header sniffing, threaded decode into one
  preallocated float32 volume) vs. the naive loop (``dcmread`` + ``pixel_array`` per file, sort,
  ``np.stack``, rescale) on the 20-slice MR series of ../shared/data/dicom.
- ``imaging_op_latency``: median latency of every preprocessing op on a 512x512 CT slice;
  the interactive target is 50 ms (non-local means excepted).
- ``imaging_series_memory``: peak Python-tracked memory (tracemalloc, numpy included) while
  loading the 20-slice series, ours vs. the naive loop.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from bench.runner import benchmark, time_alternating

TARGET_MS = 50.0
THREADS = max(2, min(8, __import__("os").cpu_count() or 1))


def _shared() -> Path:
    from tests.conftest import SHARED_DATA

    return SHARED_DATA / "dicom"


def _series_dir() -> Path:
    return _shared() / "series" / "mr_prostate_adc_20slice_qin"


def naive_series_load(folder: Path) -> np.ndarray:
    """What a script would do: read every file fully, sort by InstanceNumber, stack, rescale."""
    import pydicom

    datasets = [pydicom.dcmread(p) for p in sorted(folder.glob("*.dcm"))]
    datasets.sort(key=lambda ds: int(ds.InstanceNumber))
    volume = np.stack([ds.pixel_array for ds in datasets]).astype(np.float32)
    slope, intercept = float(datasets[0].get("RescaleSlope", 1)), float(datasets[0].get("RescaleIntercept", 0))
    return volume * slope + intercept


def _medlens_load(folder: Path, workers: int | None = None) -> np.ndarray:
    from core.imaging import load, series

    if workers is None:
        return load(folder).pixels
    saved = series.DECODE_WORKERS
    series.DECODE_WORKERS = workers
    try:
        return load(folder).pixels
    finally:
        series.DECODE_WORKERS = saved


def _missing() -> dict[str, Any]:
    return {"ratio": float("nan"), "skipped": f"shared data not found at {_shared()}"}


def compressed_series(folder: Path, n: int = 20) -> Path:
    """``n`` JPEG 2000 CT slices (copies of NEMA CT1_J2KI with their own positions and UIDs)."""
    import pydicom
    from pydicom.uid import generate_uid

    source = pydicom.dcmread(_shared() / "compressed" / "CT1_J2KI.dcm")
    series_uid = generate_uid()
    for k in range(n):
        ds = source.copy()
        ds.SeriesInstanceUID, ds.SOPInstanceUID = series_uid, generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = n - k  # files written in reverse order
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [0, 0, float(n - k)]
        ds.save_as(folder / f"{k:03d}.dcm", enforce_file_format=True)
    return folder


def _compare_loads(folder: Path) -> dict[str, float]:
    np.testing.assert_allclose(_medlens_load(folder), naive_series_load(folder))  # same volume
    return time_alternating({
        "naive_pydicom_loop": lambda: naive_series_load(folder),
        "medlens_default": lambda: _medlens_load(folder),
        "medlens_threads": lambda: _medlens_load(folder, workers=THREADS),
        "medlens_1_worker": lambda: _medlens_load(folder, workers=1),
    }, repeats=15)


@benchmark("imaging_series_load")
def imaging_series_load() -> dict[str, Any]:
    import os
    import tempfile

    from core.imaging import series

    folder = _series_dir()
    if not folder.is_dir():
        return _missing()
    mr = _compare_loads(folder)
    with tempfile.TemporaryDirectory() as tmp:
        ct = _compare_loads(compressed_series(Path(tmp)))
    return {
        "ratio": mr["naive_pydicom_loop"] / mr["medlens_default"],
        "ratio_meaning": "naive per-file pydicom loop median / core.imaging.load median (20-slice uncompressed MR series)",
        "cpu_count": os.cpu_count(),
        "default_workers": series.DECODE_WORKERS,
        "threads": THREADS,
        "mr_threads_vs_1_worker": mr["medlens_1_worker"] / mr["medlens_threads"],
        "j2k_ct_20_ratio": ct["naive_pydicom_loop"] / ct["medlens_default"],
        "j2k_ct_20_threads_vs_1_worker": ct["medlens_1_worker"] / ct["medlens_threads"],
        **{f"mr_{k}_median_s": v for k, v in mr.items()},
        **{f"j2k_ct_{k}_median_s": v for k, v in ct.items()},
    }


def _ct_slice() -> np.ndarray:
    from core.imaging import load

    path = _shared() / "series" / "ct_chest_3slice_dcmqi"
    if path.is_dir():
        return load(path).frame(1).copy()
    rng = np.random.default_rng(0)
    return (rng.normal(0, 30, (512, 512)) + np.where(np.hypot(*np.mgrid[-256:256, -256:256]) < 200, 40, -1000)).astype(np.float32)


@benchmark("imaging_op_latency")
def imaging_op_latency() -> dict[str, Any]:
    from core.preprocess import OPS

    frame = _ct_slice()
    assert frame.shape == (512, 512)
    context = {"spacing": (0.8, 0.8), "default_window": (40.0, 400.0), "auto_window": (40.0, 400.0)}
    params = {"window": {"preset": "CT lung"}, "crop": {"top": 100, "left": 100, "height": 300, "width": 300},
              "resample": {"spacing_mm": 1.0}, "rotate": {"angle": 10.0}}
    candidates = {name: (lambda spec=spec, p=params.get(name, {}): spec(frame, context, **p)) for name, spec in OPS.items()}
    medians = time_alternating(candidates, repeats=5, min_seconds=0.01)
    interactive = {name: s for name, s in medians.items() if OPS[name].interactive}
    slowest = max(interactive, key=interactive.get)
    over = sorted(name for name, s in interactive.items() if s * 1000 > TARGET_MS)
    return {
        "ratio": TARGET_MS / (interactive[slowest] * 1000),
        "ratio_meaning": f"{TARGET_MS:g} ms target / slowest interactive op median (>= 1: every interactive op meets it)",
        "slowest_interactive_op": slowest,
        "over_target": over,
        **{f"{name}_median_ms": round(s * 1000, 2) for name, s in sorted(medians.items())},
    }


def _peak_bytes(function) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@benchmark("imaging_series_memory")
def imaging_series_memory() -> dict[str, Any]:
    folder = _series_dir()
    if not folder.is_dir():
        return _missing()
    volume_bytes = _medlens_load(folder).nbytes
    ours = min(_peak_bytes(lambda: _medlens_load(folder)) for _ in range(3))
    naive = min(_peak_bytes(lambda: naive_series_load(folder)) for _ in range(3))
    return {
        "ratio": naive / ours,
        "ratio_meaning": "naive loop peak / core.imaging.load peak (tracemalloc, 20-slice MR series)",
        "medlens_peak_mb": round(ours / 2**20, 2),
        "naive_peak_mb": round(naive / 2**20, 2),
        "volume_mb": round(volume_bytes / 2**20, 2),
        "files_mb": round(sum(p.stat().st_size for p in folder.glob("*.dcm")) / 2**20, 2),
    }
