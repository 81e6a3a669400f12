"""Issue #20.1: every DICOM export can be de-identified (derived images, SEG, batch, bundle),
so the 3-slice CT's PatientName JANCT000 / PatientID 99000 no longer travel with it."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pydicom

from core.export.bundle import ExportItem, build_bundle
from core.export.dicom_seg import seg_bytes
from core.export.image import export
from core.imaging import load
from core.imaging.deid import has_identifiers
from core.preprocess import Pipeline
from core.preprocess.batch import run_batch

SERIES = "dicom/series/ct_chest_3slice_dcmqi"


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _values_containing(ds: pydicom.Dataset, text: str) -> list[str]:
    """Keywords of the non-UID, non-binary elements whose value contains ``text``."""
    return [e.keyword for e in ds.iterall()
            if e.VR not in ("UI", "OB", "OW", "OF", "OD", "UN", "SQ") and text in str(e.value)]


def test_derived_dicom_export_drops_the_patient(shared_data: Path) -> None:
    image = load(shared_data / SERIES)
    assert has_identifiers(image.datasets)
    kept, ext = export(image, "dicom")
    assert ext == ".zip" and any(b"JANCT000" in d for d in _members(kept).values())  # off: kept, as asked
    data, ext = export(image, "dicom", deidentify=True)
    members = _members(data)
    assert len(members) == 3 and all(name.startswith("instance") for name in members)
    for payload in members.values():
        assert b"JANCT000" not in payload
        ds = pydicom.dcmread(io.BytesIO(payload))
        assert not _values_containing(ds, "99000")  # the patient ID (new random UIDs may hold these digits)
        assert ds.PatientIdentityRemoved == "YES"
    reloaded = load([(n, d) for n, d in members.items()])
    assert reloaded.shape == image.shape


def test_seg_export_drops_the_patient(shared_data: Path) -> None:
    image = load(shared_data / SERIES)
    mask = np.zeros(image.shape[:3], bool)
    mask[:, 100:200, 100:200] = True
    assert b"JANCT000" in seg_bytes(mask, list(image.datasets))
    data = seg_bytes(mask, list(image.datasets), deidentify=True)
    assert b"JANCT000" not in data and not _values_containing(pydicom.dcmread(io.BytesIO(data)), "99000")


def test_batch_and_bundle_drop_the_patient_and_the_file_names(shared_data: Path) -> None:
    folder = shared_data / SERIES
    files = [(f"JANCT000_{p.name}", p.read_bytes()) for p in sorted(folder.glob("*"))[:1]]
    archive, report = run_batch(files, Pipeline(), "dicom", deidentify=True)
    members = _members(archive)
    assert report[0]["status"] == "ok" and not any("JANCT000" in name for name in members)
    assert not any(b"JANCT000" in data for data in members.values())
    image = load(folder)
    mask = np.zeros(image.shape[:3], bool)
    mask[:, 10:20, 10:20] = True
    bundle = build_bundle([ExportItem("JANCT000_ct", image, {"lung": mask}, "done")], ["lung"], deidentify=True)
    members = _members(bundle)
    assert not any("JANCT000" in name for name in members)
    assert not any(b"JANCT000" in data for data in members.values())
