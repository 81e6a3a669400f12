"""De-identification to the whole PS3.15 Basic Profile: every Table E.1-1 attribute acted on,
nothing identifying left, UIDs consistent, options honoured, valid DICOM out."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

from core.errors import InputError
from core.export.derived import dataset_bytes
from core.imaging import load
from core.imaging.deid import (
    IDENTIFYING_KEYWORDS, DeidOptions, Deidentifier, deidentify, deidentify_series, profile_table,
    remaining_identifiers, shift_date,
)
from core.imaging.dicom import read_dataset

NAME, OTHER_NAME = "Doe^Jane", "House^Gregory"
# Named in issue #15 as surviving the old hand-typed subset.
ISSUE_ATTRIBUTES = ("TimezoneOffsetFromUTC", "ContrastBolusAgent", "DataSetTrailingPadding", "PregnancyStatus",
                    "VerifyingOrganization", "StudyComments", "IconImageSequence",
                    "ReferencedPerformedProcedureStepSequence", "AcquisitionDeviceProcessingDescription")


def _value(tag: int, vr: str, n: int):
    """A distinctive value of ``vr`` for the tag (so a surviving original is easy to spot)."""
    if vr == "PN":
        return NAME
    if vr == "DA":
        return "20200102"
    if vr == "DT":
        return "20200102101010"
    if vr == "TM":
        return "101010"
    if vr == "UI":
        return f"1.2.826.0.1.3680043.99.{n}"
    if vr in ("DS", "IS"):
        return str(n + 1)
    if vr in ("US", "SS", "UL", "SL", "FL", "FD"):
        return n + 1
    if vr == "AS":
        return "045Y"
    if vr in ("OB", "OW", "UN"):
        return b"SECRET%04d" % n
    if vr == "CS":
        return f"SECRET{n}"
    return f"Secret{n}"


def _item() -> Dataset:
    item = Dataset()
    item.PatientName = OTHER_NAME
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    item.ReferencedSOPInstanceUID = "1.2.826.0.1.3680043.99.77777"
    item.InstitutionName = "General Hospital"
    return item


def _every_attribute() -> Dataset:
    """A dataset holding a value in every attribute of Table E.1-1 (unknown-to-pydicom ones as UN)."""
    ds = Dataset()
    for n, tag in enumerate(profile_table()):
        if tag >> 16 <= 2:  # command set (network only) and file meta (tested on its own)
            continue
        vr = dictionary_VR(tag).split(" ")[0] if keyword_for_tag(tag) else "UN"
        if vr == "SQ":
            ds.add_new(tag, vr, Sequence([_item()]))
        else:
            ds.add_new(tag, vr, _value(tag, vr, n))
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.99.1"
    ds.add_new(0x00091010, "LO", "private secret")
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.add_new(0x50000010, "US", 3)  # curve
    ds.add_new(0x60000010, "US", 512)  # overlay
    return ds


def test_every_table_attribute_loses_its_value() -> None:
    original = _every_attribute()
    clean = deidentify(original, Deidentifier("salt"))
    assert remaining_identifiers(original, clean) == []
    for tag, row in profile_table().items():
        if tag not in original or original[tag].VR != "SQ":
            continue
        if tag in clean and len(clean[tag].value):  # kept sequence (D, U*): its items were cleaned
            item = clean[tag].value[0]
            assert str(item.get("PatientName", "")) != OTHER_NAME, row["name"]
            assert "InstitutionName" not in item or item.InstitutionName != "General Hospital", row["name"]
            assert item.ReferencedSOPInstanceUID != "1.2.826.0.1.3680043.99.77777", row["name"]
            assert item.ReferencedSOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    assert not any(e.tag.is_private for e in clean.iterall())
    assert not any(0x5000 <= e.tag.group <= 0x60FF and e.tag.group >> 8 in (0x50, 0x60) for e in clean.iterall())
    written = dataset_bytes(clean)
    assert b"Doe" not in written and b"House" not in written and b"Secret" not in written
    assert b"General Hospital" not in written and b"private secret" not in written


@pytest.mark.parametrize("keyword", ISSUE_ATTRIBUTES)
def test_attributes_the_old_subset_missed_are_handled(keyword: str) -> None:
    original = _every_attribute()
    assert keyword in original
    clean = deidentify(original, Deidentifier("salt"))
    if keyword not in clean:
        return
    elem = clean[keyword]
    if elem.VR == "SQ":
        assert keyword != "IconImageSequence"
        assert len(elem.value) == 0 or elem.value[0].get("PatientName") != OTHER_NAME
    else:
        assert elem.value != original[keyword].value


def test_the_table_is_the_current_edition_and_complete() -> None:
    table = profile_table()
    assert len(table) >= 640  # 2026c has 654 rows, 3 of them group patterns (50xx, 60xx)
    actions = {row["action"] for row in table.values()}
    assert actions == {"X", "Z", "D", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"}
    for keyword in ("PatientName", "PatientID", "StudyDate", "InstitutionName", "StudyInstanceUID",
                    "ContrastBolusAgent", "IconImageSequence"):
        assert keyword in IDENTIFYING_KEYWORDS


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
    run = Deidentifier("batch")
    for path in files:
        original = read_dataset(path)
        clean = run(original)
        assert remaining_identifiers(original, clean) == [], path.name
        assert not any(elem.tag.is_private for elem in clean.iterall()), path.name
        assert "IconImageSequence" not in clean
        assert clean.get("PatientBirthDate", "") == ""
        name = str(original.get("PatientName", "") or "").strip("^ ")
        written = dataset_bytes(clean)
        if len(name) >= 3:
            assert name.encode() not in written, path.name
        pid = str(original.get("PatientID", "") or "").strip()
        if len(pid) >= 3:
            assert str(clean.PatientID) != pid, path.name
        assert clean.SOPClassUID == original.SOPClassUID
        reread = load(written, name=path.name)  # valid DICOM with the same pixels
        np.testing.assert_array_equal(reread.pixels, load(path).pixels)


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
    run = Deidentifier("secret")
    clean_source, clean_derived = run(source), run(derived)
    assert clean_derived.SourceImageSequence[0].ReferencedSOPInstanceUID == clean_source.SOPInstanceUID
    assert clean_derived.SourceImageSequence[0].ReferencedSOPClassUID == "1.2.840.10008.5.1.4.1.1.2"


def test_same_salt_same_uids_and_pseudonyms() -> None:
    ds = Dataset()
    ds.SOPInstanceUID, ds.PatientID, ds.OperatorsName = "1.2.3", "12345", "Doe^Jane"
    a, b, c = (Deidentifier(s)(ds) for s in ("s1", "s1", "s2"))
    assert a.SOPInstanceUID == b.SOPInstanceUID != c.SOPInstanceUID
    assert a.PatientID == b.PatientID != c.PatientID
    assert "Jane" not in str(a.OperatorsName) and a.OperatorsName == b.OperatorsName


def _dated(study_uid: str) -> Dataset:
    ds = Dataset()
    ds.StudyInstanceUID = study_uid
    ds.StudyDate, ds.SeriesDate, ds.PatientBirthDate, ds.StudyTime = "20200301", "20200302", "19700101", "101010"
    return ds


def test_modified_dates_option_shifts_by_a_secret_per_study_offset() -> None:
    run = Deidentifier("secret", DeidOptions(keep_dates_shifted=True))
    a, b = run(_dated("1.2.3.1")), run(_dated("1.2.3.1"))
    assert a.StudyDate == b.StudyDate != "20200301"
    import datetime as dt

    gap = dt.date.fromisoformat("2020-03-01") - dt.datetime.strptime(a.StudyDate, "%Y%m%d").date()
    assert 62 <= gap.days <= 730 and gap.days != 365
    assert a.SeriesDate == (dt.date(2020, 3, 2) - gap).strftime("%Y%m%d")  # intervals kept
    assert a.StudyTime == "101010" and a.PatientBirthDate == ""
    offsets = {run.date_offset_days(f"1.2.3.{i}") for i in range(20)}
    assert len(offsets) > 10  # per study, not one fixed offset
    other = Deidentifier("other salt")
    assert sum(other.date_offset_days(f"1.2.3.{i}") != run.date_offset_days(f"1.2.3.{i}") for i in range(20)) > 10
    codes = {item.CodeValue for item in a.DeidentificationMethodCodeSequence}
    assert codes == {"113100", "113107"} and a.LongitudinalTemporalInformationModified == "MODIFIED"


def test_without_the_option_dates_and_times_go_or_get_dummies() -> None:
    run = Deidentifier("secret")
    clean = run(_dated("1.2.3.1"))
    assert clean.StudyDate == "" and clean.StudyTime == ""  # Z
    assert clean.SeriesDate == shift_date("20200302", "DA", run.date_offset_days("1.2.3.1"))  # X/D: dummy
    assert clean.SeriesDate != "20200302"


def test_patient_characteristics_option() -> None:
    ds = Dataset()
    ds.PatientAge, ds.PatientSex, ds.PatientWeight, ds.PatientName = "045Y", "F", "70", NAME
    kept = Deidentifier("s", DeidOptions(keep_patient_characteristics=True))(ds)
    assert (kept.PatientAge, kept.PatientSex, str(kept.PatientWeight)) == ("045Y", "F", "70")
    assert str(kept.PatientName) != NAME
    gone = Deidentifier("s")(ds)
    assert "PatientAge" not in gone and gone.PatientSex == ""
    assert "113108" in {item.CodeValue for item in kept.DeidentificationMethodCodeSequence}


def test_clean_descriptors_option_keeps_text_without_identifiers() -> None:
    ds = Dataset()
    ds.PatientName, ds.PatientID = "Smith^Alice", "PID4711"
    ds.StudyDescription = "CT chest for Alice Smith PID4711"
    cleaned = Deidentifier("s", DeidOptions(clean_descriptors=True))(ds)
    assert "CT chest" in cleaned.StudyDescription
    assert "Alice" not in cleaned.StudyDescription and "PID4711" not in cleaned.StudyDescription
    assert "StudyDescription" not in Deidentifier("s")(ds)


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
    assert "House" not in str(nested.get("PerformingPhysicianName", ""))
    assert nested.get("InstitutionName") != "General Hospital"
    assert ds.PatientName == "Doe^John"  # the original is untouched


def test_written_file_has_deidentification_method(shared_data: Path) -> None:
    clean = deidentify(pydicom.dcmread(shared_data / "dicom" / "ct" / "CT_small.dcm"))
    reread = pydicom.dcmread(io.BytesIO(dataset_bytes(clean)))
    assert "E.1-1" in reread.DeidentificationMethod and len(reread.DeidentificationMethod) <= 64
    assert reread.PatientIdentityRemoved == "YES"


def test_structured_report_text_does_not_survive() -> None:
    item = Dataset()
    item.ValueType, item.TextValue = "TEXT", "Patient Jane Doe, MRN 4711, seen by Dr House"
    item.PersonName = NAME
    ds = Dataset()
    ds.ContentSequence = Sequence([item])
    clean = deidentify(ds).ContentSequence[0]
    assert "Jane" not in clean.TextValue and clean.TextValue and str(clean.PersonName) != NAME


def test_burned_in_annotation_is_not_claimed_removed() -> None:
    ds = Dataset()
    ds.BurnedInAnnotation, ds.PatientName = "YES", NAME
    assert deidentify(ds).PatientIdentityRemoved == "NO"


def test_file_meta_is_updated() -> None:
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7", "1.2.3.9"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.9"
    ds.file_meta.SourceApplicationEntityTitle = "HOSPITAL_PACS"
    clean = deidentify(ds)
    assert clean.file_meta.MediaStorageSOPInstanceUID == clean.SOPInstanceUID != "1.2.3.9"
    assert "SourceApplicationEntityTitle" not in clean.file_meta


def test_uids_outside_the_table_map_like_the_listed_ones() -> None:
    """dicognito maps UIDs the table does not list; MedLens maps the listed ones the same way,
    so a UID gets one replacement wherever it appears."""
    ds = Dataset()
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.99.5"  # listed (U)
    ds.PrivateRecordUID = "1.2.826.0.1.3680043.99.5"  # not listed
    ds.SOPClassesInStudy = ["1.2.840.10008.5.1.4.1.1.2"]  # a class: kept
    clean = Deidentifier("s")(ds)
    assert clean.SOPInstanceUID == clean.PrivateRecordUID != ds.SOPInstanceUID
    assert clean.SOPClassesInStudy == "1.2.840.10008.5.1.4.1.1.2"
