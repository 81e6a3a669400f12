"""De-identification (PS3.15 basic profile): nothing identifying left, UIDs consistent, valid DICOM."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from core.errors import InputError
from core.export_image import dataset_bytes
from core.imaging import load
from core.imaging.dicom import read_dataset
from core.imaging.deid import IDENTIFYING_KEYWORDS, UIDMap, deidentify, deidentify_series, remaining_identifiers


def _loadable(root: Path) -> list[Path]:
    out = []
    for path in sorted(root.rglob("*.dcm")):
        try:
            load(path)
            out.append(path)
        except InputError:
            pass
    return out


def test_every_loadable_shared_file_is_cleaned_and_stays_valid(shared_data: Path) -> None:
    files = _loadable(shared_data / "dicom")
    assert len(files) > 40
    for path in files:
        original = read_dataset(path)
        clean = deidentify(original)
        assert remaining_identifiers(clean) == [], path.name
        assert not any(elem.tag.is_private for elem in clean.iterall()), path.name
        assert clean.PatientIdentityRemoved == "YES"
        assert clean.get("PatientBirthDate", "") == ""
        for keyword in ("InstitutionName", "ReferringPhysicianName", "OperatorsName", "PatientAddress"):
            assert not clean.get(keyword), (path.name, keyword)
        if original.get("PatientName"):
            assert str(clean.PatientName) != str(original.PatientName)
        if original.get("SOPInstanceUID"):
            assert clean.SOPInstanceUID != original.SOPInstanceUID
        assert clean.SOPClassUID == original.SOPClassUID
        reread = load(dataset_bytes(clean), name=path.name)  # valid DICOM with the same pixels
        np.testing.assert_array_equal(reread.pixels, load(path).pixels)
        assert str(original.get("PatientName", "")) == str(pydicom.dcmread(path, force=True).get("PatientName", ""))


def test_series_uids_are_replaced_consistently(shared_data: Path) -> None:
    image = load(shared_data / "dicom" / "series" / "mr_brain_memprage_6slice_bbmri")
    clean = deidentify_series(image.datasets)
    assert len({ds.SeriesInstanceUID for ds in clean}) == 1
    assert len({ds.StudyInstanceUID for ds in clean}) == 1
    assert len({ds.FrameOfReferenceUID for ds in clean}) == 1
    assert len({ds.SOPInstanceUID for ds in clean}) == len(clean)
    assert clean[0].SeriesInstanceUID != image.datasets[0].SeriesInstanceUID
    assert all(ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID for ds in clean)
    assert len({str(ds.PatientID) for ds in clean}) == 1
    reloaded = load([(f"{i}.dcm", dataset_bytes(ds)) for i, ds in enumerate(clean)])
    assert reloaded.shape == image.shape  # still one series, same order


def test_references_follow_the_replaced_uids() -> None:
    source = Dataset()
    source.SOPInstanceUID = "1.2.3.4.5.6"
    derived = Dataset()
    derived.SOPInstanceUID = "1.2.3.4.5.7"
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ref.ReferencedSOPInstanceUID = "1.2.3.4.5.6"
    derived.SourceImageSequence = Sequence([ref])
    uids = UIDMap("secret")
    clean_source, clean_derived = deidentify(source, uids), deidentify(derived, uids)
    assert clean_derived.SourceImageSequence[0].ReferencedSOPInstanceUID == clean_source.SOPInstanceUID
    assert clean_derived.SourceImageSequence[0].ReferencedSOPClassUID == "1.2.840.10008.5.1.4.1.1.2"


def test_same_salt_same_uids_and_pseudonyms() -> None:
    ds = Dataset()
    ds.SOPInstanceUID, ds.PatientID, ds.PatientName = "1.2.3", "12345", "Doe^Jane"
    a, b, c = deidentify(ds, UIDMap("s1")), deidentify(ds, UIDMap("s1")), deidentify(ds, UIDMap("s2"))
    assert a.SOPInstanceUID == b.SOPInstanceUID != c.SOPInstanceUID
    assert a.PatientID == b.PatientID != c.PatientID
    assert "Jane" not in str(a.PatientName)


def test_dates_shifted_by_a_fixed_offset_or_removed() -> None:
    ds = Dataset()
    ds.StudyDate, ds.SeriesDate, ds.PatientBirthDate, ds.StudyTime = "20200301", "20200302", "19700101", "101010"
    shifted = deidentify(ds, date_shift_days=-10)
    assert (shifted.StudyDate, shifted.SeriesDate) == ("20200220", "20200221")
    assert shifted.PatientBirthDate == "" and shifted.StudyTime == "101010"
    removed = deidentify(ds)
    assert removed.StudyDate == "" and removed.StudyTime == ""
    codes = {item.CodeValue for item in shifted.DeidentificationMethodCodeSequence}
    assert codes == {"113100", "113107"}


def test_nested_identifiers_and_free_text_are_removed() -> None:
    ds = Dataset()
    ds.PatientName = "Doe^John"
    item = Dataset()
    item.PerformingPhysicianName = "House^Greg"
    item.InstitutionName = "General Hospital"
    ds.RequestedProcedureCodeSequence = Sequence([item])
    ds.ImageComments = "patient John Doe, room 12"
    ds.add_new(0x00091001, "LO", "private secret")
    clean = deidentify(ds)
    assert "ImageComments" not in clean and (0x0009, 0x1001) not in clean
    nested = clean.RequestedProcedureCodeSequence[0]
    assert "PerformingPhysicianName" not in nested and "InstitutionName" not in nested
    assert ds.PatientName == "Doe^John"  # the original is untouched


def test_identifying_keywords_cover_the_common_tags() -> None:
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "InstitutionName", "ReferringPhysicianName",
                    "StudyInstanceUID", "AccessionNumber", "PatientAddress", "StudyDate"):
        assert keyword in IDENTIFYING_KEYWORDS


def test_written_file_has_deidentification_method(shared_data: Path) -> None:
    clean = deidentify(pydicom.dcmread(shared_data / "dicom" / "ct" / "CT_small.dcm"))
    reread = pydicom.dcmread(io.BytesIO(dataset_bytes(clean)))
    assert "PS3.15 Basic Profile" in reread.DeidentificationMethod and len(reread.DeidentificationMethod) <= 64
    assert reread.PatientIdentityRemoved == "YES"
