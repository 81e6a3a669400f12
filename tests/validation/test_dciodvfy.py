"""What MedLens writes passes dciodvfy: SEG and derived images with zero errors, and
de-identification adds no error its source did not already have.

A handful of representative shared files run by default; every shared file in the slow tests.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from core.cli import main
from core.errors import InputError
from core.export.deidentified import deidentified_files
from core.export.dicom_seg import write_seg
from core.imaging import load
from core.imaging.deid import Deidentifier, DeidOptions
from core.imaging.dicom import read_dataset
from core.preprocess import Pipeline

Errors = Callable[[Path], set[str]]
# CT with HU, CR MONO1 projection, MR, lossless JPEG 2000 CT, a 3-slice CT series.
REPRESENTATIVE = ("ct/CT_small.dcm", "xray/gdcm-CR-MONO1-10-chest.dcm", "mr/MR_small.dcm",
                  "compressed/CT1_J2KI.dcm", "series/ct_chest_3slice_dcmqi")


def _all_sources(root: Path) -> list[str]:
    files = [str(p.relative_to(root)) for p in sorted(root.rglob("*.dcm")) if "series" not in p.parts]
    return files + [str(p.relative_to(root)) for p in sorted((root / "series").iterdir()) if p.is_dir()]


def _image(root: Path, name: str):
    try:
        return load(root / name)
    except InputError as exc:
        pytest.skip(f"not loadable, refused as it should be: {exc}")


def _seg_check(root: Path, name: str, tmp_path: Path, errors: Errors) -> None:
    image = _image(root, name)
    mask = np.zeros(image.shape[:3], bool)
    frames, h, w = mask.shape
    mask[:, h // 4: h // 2, w // 4: w // 2] = True
    try:
        path = write_seg(mask, list(image.datasets), tmp_path / "seg.dcm", label="lung")
    except InputError as exc:  # sources a SEG cannot reference are refused with a reason
        assert "SEG" in str(exc)
        return
    assert errors(path) == set(), name


def _derived_check(root: Path, name: str, tmp_path: Path, errors: Errors, capsys) -> None:
    _image(root, name)
    pipeline = tmp_path / "p.json"
    Pipeline().add("median", size=3).save(pipeline)
    code = main(["preprocess", str(root / name), "--pipeline", str(pipeline), "--out", str(tmp_path / "out.dcm")])
    assert code == 0, capsys.readouterr().err
    out = Path(json.loads(capsys.readouterr().out.strip().splitlines()[-1])["out"])
    paths = [out]
    if out.suffix == ".zip":
        with zipfile.ZipFile(out) as archive:
            paths = []
            for member in archive.namelist()[:3]:
                paths.append(tmp_path / Path(member).name)
                paths[-1].write_bytes(archive.read(member))
    for path in paths:
        assert errors(path) == set(), (name, path.name)


def _deid_check(root: Path, name: str, tmp_path: Path, errors: Errors) -> None:
    sources = [root / name] if (root / name).is_file() else sorted((root / name).glob("*"))[:3]
    run = Deidentifier("validation", DeidOptions(keep_dates_shifted=True))
    for source in sources:
        try:
            ds = read_dataset(source)
        except InputError:
            continue
        files, skipped = deidentified_files([(source.name, ds)], run)
        if skipped:  # cannot be written as valid DICOM (no SOP class, truncated pixels): nothing written
            continue
        out = tmp_path / "deid.dcm"
        out.write_bytes(files[0][1])
        added = errors(out) - errors(source)
        assert added == set(), (str(source.relative_to(root)), sorted(added))


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_seg_has_no_error(shared_data: Path, name: str, tmp_path: Path, dciodvfy: Errors) -> None:
    _seg_check(shared_data / "dicom", name, tmp_path, dciodvfy)


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_derived_image_has_no_error(shared_data: Path, name: str, tmp_path: Path, dciodvfy: Errors, capsys) -> None:
    _derived_check(shared_data / "dicom", name, tmp_path, dciodvfy, capsys)


@pytest.mark.parametrize("name", REPRESENTATIVE + ("ct/gdcm-CT-MONO2-8-abdo.dcm", "nonimage/test-SR.dcm",
                                                   "multiframe/emri_small.dcm"))
def test_deidentified_file_adds_no_error(shared_data: Path, name: str, tmp_path: Path, dciodvfy: Errors) -> None:
    _deid_check(shared_data / "dicom", name, tmp_path, dciodvfy)


def test_deidentified_seg_and_derived_have_no_error(shared_data: Path, tmp_path: Path, dciodvfy: Errors) -> None:
    from core.export.derived import dataset_bytes, to_dicom_datasets
    from core.export.dicom_seg import seg_bytes

    image = load(shared_data / "dicom" / "xray" / "gdcm-CR-MONO1-10-chest.dcm")
    seg = tmp_path / "seg.dcm"
    seg.write_bytes(seg_bytes(np.ones(image.shape[:3], bool), list(image.datasets), deidentify=True))
    derived = tmp_path / "derived.dcm"
    derived.write_bytes(dataset_bytes(to_dicom_datasets(image, deidentify=True)[0]))
    assert dciodvfy(seg) == set() and dciodvfy(derived) == set()


@pytest.mark.slow
def test_every_shared_file(shared_data: Path, tmp_path_factory: pytest.TempPathFactory, dciodvfy: Errors,
                           capsys) -> None:
    root = shared_data / "dicom"
    checked = 0
    for name in _all_sources(root):
        _deid_check(root, name, tmp_path_factory.mktemp("deid"), dciodvfy)
        try:
            load(root / name)
        except InputError:
            continue
        _seg_check(root, name, tmp_path_factory.mktemp("seg"), dciodvfy)
        _derived_check(root, name, tmp_path_factory.mktemp("derived"), dciodvfy, capsys)
        checked += 1
    assert checked >= 30


@pytest.mark.parametrize("name", ["xray/gdcm-CR-MONO1-10-chest.dcm",
                                  pytest.param("series/ct_chest_3slice_dcmqi", marks=pytest.mark.slow)])
def test_segment_command_writes_a_valid_seg(shared_data: Path, name: str, tmp_path: Path, dciodvfy: Errors,
                                            capsys) -> None:
    out = tmp_path / "seg.dcm"
    code = main(["segment", str(shared_data / "dicom" / name), "--model", "lungs-cxr", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert dciodvfy(out) == set()
