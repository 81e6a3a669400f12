"""The JSON Pipeline: save/load, editing, replay over frames, spacing and window bookkeeping, batch."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from core.imaging import MedImage, load
from core.preprocess import Pipeline, get_op
from core.preprocess.batch import run_batch


def _volume() -> MedImage:
    rng = np.random.default_rng(0)
    return MedImage(pixels=rng.normal(0, 100, (4, 64, 48)).astype(np.float32), spacing=(0.5, 0.8), modality="CT",
                    window=(40.0, 400.0), kind="dicom")


def test_json_round_trip_and_file(tmp_path: Path) -> None:
    pipeline = Pipeline().add("window", preset="CT lung").add("gaussian", sigma=2).add("crop", top=1, left=2, height=10, width=12)
    again = Pipeline.from_json(pipeline.to_json())
    assert again.to_dict() == pipeline.to_dict()
    path = tmp_path / "p.json"
    pipeline.save(path)
    assert Pipeline.load(path).to_dict() == pipeline.to_dict()
    assert json.loads(path.read_text())["steps"][1] == {"op": "gaussian", "params": {"sigma": 2.0}}


@pytest.mark.parametrize("text, words", [
    ("not json", "not valid JSON"),
    ('{"steps": [{"op": "blur"}]}', "unknown operation"),
    ('{"steps": [{"op": "gaussian", "params": {"sigma": "x"}}]}', "sigma must be a float"),
    ('{"nosteps": 1}', "a pipeline is"),
])
def test_bad_pipelines_are_refused(text: str, words: str) -> None:
    with pytest.raises(InputError, match=words):
        Pipeline.from_json(text)


def test_editing_add_move_remove() -> None:
    pipeline = Pipeline().add("gaussian").add("median").add("flip")
    pipeline.move(2, -1)
    assert [s.op for s in pipeline.steps] == ["gaussian", "flip", "median"]
    pipeline.move(0, -1)  # out of range: no change
    pipeline.remove(0)
    assert [s.op for s in pipeline.steps] == ["flip", "median"]


def test_replay_on_every_frame_equals_frame_by_frame() -> None:
    image = _volume()
    pipeline = Pipeline().add("gaussian", sigma=1).add("crop", top=4, left=6, height=20, width=30)
    out = pipeline.apply(image)
    assert out.shape == (4, 20, 30)
    for k in range(image.n_frames):
        np.testing.assert_array_equal(out.frame(k), pipeline.apply_frame(image.frame(k), pipeline.context(image)))
    assert image.shape == (4, 64, 48)  # the input is untouched


def test_spacing_follows_geometric_steps() -> None:
    image = _volume()
    assert Pipeline().add("resize", height=32, width=24).apply(image).spacing == pytest.approx((1.0, 1.6))
    assert Pipeline().add("resample", spacing_mm=1.0).apply(image).spacing == pytest.approx((1.0, 1.0), rel=0.05)
    assert Pipeline().add("rotate90", k=1).apply(image).spacing == (0.8, 0.5)
    assert Pipeline().add("crop", top=0, left=0, height=10, width=10).apply(image).spacing == (0.5, 0.8)


def test_window_bookkeeping() -> None:
    image = _volume()
    assert Pipeline().add("gaussian").apply(image).window == (40.0, 400.0)
    assert Pipeline().add("window", preset="CT abdomen").add("gaussian").apply(image).window == (0.5, 1.0)
    z = Pipeline().add("zscore").apply(image)
    assert z.window[1] < 20  # recomputed in z-score units
    assert "Gaussian" in Pipeline().add("gaussian").apply(image).metadata["DerivationDescription"]


def test_progress_is_reported_per_frame() -> None:
    seen = []
    Pipeline().add("flip").apply(_volume(), progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_real_ct_series_through_a_pipeline(shared_data: Path) -> None:
    image = load(shared_data / "dicom" / "series" / "ct_chest_3slice_dcmqi")
    out = Pipeline().add("window", preset="CT lung").add("clahe").apply(image)
    assert out.shape == image.shape and 0.0 <= out.pixels.min() and out.pixels.max() <= 1.0


def test_batch_zips_results_and_reports_failures(shared_data: Path) -> None:
    files = [(p.name, p.read_bytes()) for p in sorted((shared_data / "dicom" / "mr").glob("*.dcm"))]
    files.append(("broken.dcm", b"not dicom at all"))
    calls = []
    archive, report = run_batch(files, Pipeline().add("gaussian"), "png", progress=lambda d, t, n: calls.append(d))
    assert calls == list(range(1, len(files) + 1))
    statuses = {r["file"]: r["status"] for r in report}
    assert statuses.pop("broken.dcm") == "skipped"
    assert set(statuses.values()) == {"ok"}
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert "pipeline.json" in names and len(names) == len(files)  # n-1 images + pipeline.json
    assert get_op("gaussian").name == "gaussian"


def test_crop_drawn_on_the_original_goes_before_geometric_steps() -> None:
    pipeline = Pipeline().add("gaussian").add("resize", height=10, width=10).add("median")
    assert pipeline.insert_crop(top=1, left=2, height=3, width=4) == 1
    assert [s.op for s in pipeline.steps] == ["gaussian", "crop", "resize", "median"]
    assert Pipeline().add("window", preset="CT lung").steps[0].describe() == "Window / level (preset=CT lung)"
