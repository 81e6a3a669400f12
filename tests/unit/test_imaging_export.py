"""Exports (PNG, NIfTI, derived DICOM) and the ``inspect`` / ``preprocess`` commands."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from core.cli import main
from core.export.derived import to_dicom_datasets
from core.export.image import export
from core.imaging import MedImage, load
from core.preprocess import Pipeline


def test_png_is_the_windowed_frame(shared_data: Path) -> None:
    image = load(shared_data / "dicom" / "ct" / "CT_small.dcm")
    data, ext = export(image, "png")
    png = np.asarray(Image.open(io.BytesIO(data)))
    assert ext == ".png" and png.dtype == np.uint8 and png.shape == (128, 128)
    lo = image.window[0] - image.window[1] / 2
    expected = np.clip((image.frame(0) - lo) * 255 / image.window[1], 0, 255)
    assert np.abs(png.astype(float) - expected).max() <= 1


@pytest.mark.parametrize("source", ["series/ct_chest_3slice_dcmqi", "nifti/anatomical.nii", "multiframe/emri_small.dcm"])
def test_nifti_round_trip_is_exact(shared_data: Path, source: str) -> None:
    image = Pipeline().add("gaussian", sigma=1).apply(load(shared_data / "dicom" / source))
    data, ext = export(image, "nifti")
    back = load(data, name="x" + ext)
    assert ext == ".nii.gz"
    np.testing.assert_array_equal(back.pixels, image.pixels)
    assert back.spacing == pytest.approx(image.spacing or (1.0, 1.0))


def test_derived_dicom_has_new_uids_derivation_and_values(shared_data: Path) -> None:
    source = load(shared_data / "dicom" / "series" / "ct_chest_3slice_dcmqi")
    processed = Pipeline().add("gaussian", sigma=1).apply(source)
    datasets = to_dicom_datasets(processed)
    assert len(datasets) == 3 and len({ds.SeriesInstanceUID for ds in datasets}) == 1
    for ds, src in zip(datasets, source.datasets):
        assert ds.SOPInstanceUID != src.SOPInstanceUID and ds.SeriesInstanceUID != src.SeriesInstanceUID
        assert ds.StudyInstanceUID == src.StudyInstanceUID
        assert list(ds.ImageType)[:2] == ["DERIVED", "SECONDARY"]
        assert "Gaussian" in ds.DerivationDescription
        assert ds.SourceImageSequence[0].ReferencedSOPInstanceUID == src.SOPInstanceUID
    data, ext = export(processed, "dicom")
    assert ext == ".zip"
    back = load(data, name="derived.zip")
    step = float(processed.pixels.max() - processed.pixels.min()) / 65535  # 16 bits + rescale keep floats
    assert np.abs(back.pixels - processed.pixels).max() <= step / 2 + 1e-3


def test_derived_dicom_from_png_and_rgb_are_valid() -> None:
    grey = MedImage(pixels=np.linspace(0, 1, 30 * 40, dtype=np.float32).reshape(30, 40), modality="OT", window=(0.5, 1.0))
    data, ext = export(grey, "dicom")
    ds = pydicom.dcmread(io.BytesIO(data))
    assert ext == ".dcm" and ds.SOPClassUID.name == "Secondary Capture Image Storage" and ds.Rows == 30
    np.testing.assert_allclose(load(data, name="a.dcm").pixels, grey.pixels, atol=1e-4)
    rgb = MedImage(pixels=np.random.default_rng(0).integers(0, 255, (1, 8, 9, 3)).astype(np.float32), window=(127.5, 255.0))
    back = load(export(rgb, "dicom")[0], name="b.dcm")
    np.testing.assert_allclose(back.pixels, rgb.pixels, atol=1)


def _cli(capsys, *argv: str) -> tuple[int, dict | None, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    return code, (json.loads(lines[-1]) if code == 0 and lines else None), captured.err


def test_inspect_file(shared_data: Path, capsys) -> None:
    code, out, _ = _cli(capsys, "inspect", str(shared_data / "dicom" / "compressed" / "CT1_J2KI.dcm"))
    assert code == 0
    assert out["kind"] == "dicom" and out["modality"] == "CT" and out["shape"] == [1, 512, 512]
    assert out["transfer_syntax"] == "JPEG 2000 Image Compression" and out["photometric"] == "MONOCHROME2"
    assert out["spacing_mm"] == pytest.approx([0.661468, 0.661468]) and len(out["window"]) == 2


def test_inspect_folder_lists_series_and_skipped(shared_data: Path, capsys) -> None:
    code, out, _ = _cli(capsys, "inspect", str(shared_data / "dicom"))
    assert code == 0
    assert {"series_uid", "modality", "n_files", "shape"} <= set(out["series"][0])
    reasons = {s["file"]: s["reason"] for s in out["skipped"]}
    assert "structured report" in reasons["nonimage/test-SR.dcm"]


def test_inspect_bad_file_exits_2_with_one_line(shared_data: Path, capsys) -> None:
    code, _, err = _cli(capsys, "inspect", str(shared_data / "dicom" / "malformed" / "not_dicom_text.dcm"))
    assert code == 2 and err.count("\n") == 1 and "text file" in err


@pytest.mark.parametrize("out_name, check", [
    ("out.png", lambda p: Image.open(p).size == (128, 128)),
    ("out.nii.gz", lambda p: load(p).shape == (1, 128, 128)),
    ("out.dcm", lambda p: load(p).modality == "CT"),
])
def test_preprocess_command(shared_data: Path, tmp_path: Path, capsys, out_name: str, check) -> None:
    pipeline = tmp_path / "p.json"
    Pipeline().add("window", preset="CT abdomen").add("median", size=3).save(pipeline)
    out_path = tmp_path / out_name
    code, out, err = _cli(capsys, "preprocess", str(shared_data / "dicom" / "ct" / "CT_small.dcm"),
                          "--pipeline", str(pipeline), "--out", str(out_path))
    assert code == 0, err
    assert out["steps"] == 2 and Path(out["out"]).exists() and check(out_path)


def test_preprocess_bad_pipeline_exits_2(shared_data: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"steps": [{"op": "sharpen_everything"}]}')
    code, _, err = _cli(capsys, "preprocess", str(shared_data / "dicom" / "ct" / "CT_small.dcm"),
                        "--pipeline", str(bad), "--out", str(tmp_path / "x.png"))
    assert code == 2 and "unknown operation" in err
