"""De-identification after the DICOM PS3.15 Basic Application Confidentiality Profile.

What it does to a copy of each dataset (Table E.1-1, common attributes):
- names, IDs, addresses, telephone numbers, institution, physicians, operators, station,
  device serial numbers, descriptions and free-text comments: removed (X) or emptied /
  replaced by a pseudonym (Z/D, for type-1/2 attributes such as PatientName/PatientID);
- PatientBirthDate emptied; other dates (DA/DT) shifted by a fixed number of days (the
  "Retain Longitudinal Temporal Information with Modified Dates" option) or emptied;
- every instance UID (Study/Series/SOP Instance, Frame of Reference, referenced instances)
  replaced through a ``UIDMap``: the same original UID always maps to the same new UID, so
  a series stays one series and references inside it keep pointing at the right object;
- private tags, curves (50xx) and overlays (60xx) removed;
- PatientIdentityRemoved = YES and DeidentificationMethod(CodeSequence) recorded.
Pixel data are not inspected: burned-in text is out of scope (``BurnedInAnnotation`` kept).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, generate_uid

# PS3.15 Table E.1-1 (the common subset): X = remove, Z = empty, D = dummy/pseudonym.
REMOVE = {
    "PatientBirthTime", "OtherPatientIDs", "OtherPatientIDsSequence", "OtherPatientNames",
    "PatientBirthName", "PatientMotherBirthName", "PatientAddress", "PatientTelephoneNumbers",
    "PatientAge", "PatientSize", "PatientWeight", "EthnicGroup", "Occupation",
    "AdditionalPatientHistory", "PatientComments", "MedicalRecordLocator", "MilitaryRank",
    "BranchOfService", "CountryOfResidence", "RegionOfResidence", "PatientInsurancePlanCodeSequence",
    "PatientReligiousPreference", "MedicalAlerts", "Allergies", "IssuerOfPatientID",
    "PatientState", "CurrentPatientLocation", "AdmissionID", "AdmittingDiagnosesDescription",
    "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "InstitutionCodeSequence",
    "ReferringPhysicianAddress", "ReferringPhysicianTelephoneNumbers",
    "ReferringPhysicianIdentificationSequence", "PhysiciansOfRecord",
    "PhysiciansOfRecordIdentificationSequence", "PerformingPhysicianName",
    "PerformingPhysicianIdentificationSequence", "NameOfPhysiciansReadingStudy",
    "PhysiciansReadingStudyIdentificationSequence", "OperatorsName", "OperatorIdentificationSequence",
    "RequestingPhysician", "RequestingService", "ScheduledPerformingPhysicianName", "StationName",
    "DeviceSerialNumber", "DetectorID", "StudyDescription", "SeriesDescription", "ImageComments",
    "RequestAttributesSequence", "RequestedProcedureDescription", "PerformedProcedureStepDescription",
    "PerformedProcedureStepID", "ScheduledProcedureStepDescription", "DerivationDescription",
    "FrameComments", "TextComments", "AcquisitionComments", "ReasonForTheRequestedProcedure",
    "ResponsiblePerson", "ResponsibleOrganization", "InterpretationRecorder", "ProtocolName",
    "ReferencedPatientSequence", "ReferencedStudySequence", "PersonAddress", "PersonTelephoneNumbers",
    "OrderEnteredBy", "OrderEntererLocation", "OrderCallbackPhoneNumber", "RequestedProcedureID",
    "ScheduledStationName", "PerformedStationName", "PerformedLocation", "ScheduledProcedureStepLocation",
}
EMPTY = {
    "PatientBirthDate", "PatientSex", "ReferringPhysicianName", "AccessionNumber", "StudyID",
    "ContentCreatorName", "VerifyingObserverName", "PersonName", "FillerOrderNumberImagingServiceRequest",
    "PlacerOrderNumberImagingServiceRequest",
}
PSEUDONYM = {"PatientName", "PatientID"}
# Kept even though they are UIDs: they name classes and syntaxes, not instances.
KEEP_UIDS = {"SOPClassUID", "MediaStorageSOPClassUID", "TransferSyntaxUID", "ReferencedSOPClassUID",
             "ImplementationClassUID", "CodingSchemeUID", "ContextUID", "ReferencedSOPClassUIDInFile"}
INSTANCE_UIDS = {"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID",
                 "MediaStorageSOPInstanceUID", "ReferencedSOPInstanceUID", "ReferencedFrameOfReferenceUID",
                 "SynchronizationFrameOfReferenceUID", "IrradiationEventUID", "DimensionOrganizationUID",
                 "ConcatenationUID", "StorageMediaFileSetUID", "InstanceCreatorUID"}
DATE_KEYWORDS = {"StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate", "InstanceCreationDate",
                 "AcquisitionDateTime", "StudyTime", "SeriesTime", "AcquisitionTime", "ContentTime",
                 "InstanceCreationTime", "PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime"}
PATIENT_CHARACTERISTICS = {"PatientAge", "PatientSex", "PatientSize", "PatientWeight", "EthnicGroup"}

# Highlighted in the metadata view.
IDENTIFYING_KEYWORDS = frozenset(REMOVE | EMPTY | PSEUDONYM | INSTANCE_UIDS | DATE_KEYWORDS)

BASIC_PROFILE_CODE = ("113100", "DCM", "Basic Application Confidentiality Profile")
MODIFIED_DATES_CODE = ("113107", "DCM", "Retain Longitudinal Temporal Information Modified Dates Option")
PATIENT_CHARACTERISTICS_CODE = ("113108", "DCM", "Retain Patient Characteristics Option")


class UIDMap:
    """Consistent UID replacement: one original UID -> one new UID, for this map's lifetime.

    The new UID is derived from a secret salt and the original, so it cannot be reversed
    without the salt, and two maps with the same salt agree (useful for batch jobs).
    """

    def __init__(self, salt: str | None = None) -> None:
        self.salt = salt or secrets.token_hex(16)
        self.mapping: dict[str, str] = {}

    def __call__(self, uid: str) -> str:
        uid = str(uid).strip()
        if not uid:
            return uid
        if uid not in self.mapping:
            self.mapping[uid] = generate_uid(entropy_srcs=[self.salt, uid])
        return self.mapping[uid]

    def pseudonym(self, value: str, prefix: str) -> str:
        digest = hashlib.sha256(f"{self.salt}|{value}".encode()).hexdigest()[:10].upper()
        return f"{prefix}{digest}"


def _shift(value: str, vr: str, days: int) -> str:
    """Shift a DA (YYYYMMDD) or DT (YYYYMMDD...) value by ``days``; '' when unparsable."""
    text = str(value).strip()
    if len(text) < 8:
        return ""
    try:
        day = dt.datetime.strptime(text[:8], "%Y%m%d").date() + dt.timedelta(days=days)
    except ValueError:
        return ""
    return day.strftime("%Y%m%d") + (text[8:] if vr == "DT" else "")


def _is_instance_uid(keyword: str, value: str) -> bool:
    if keyword in KEEP_UIDS:
        return False
    if keyword in INSTANCE_UIDS:
        return True
    uid = UID(str(value))
    return not (uid.is_valid and uid.name != str(uid))  # unregistered UIDs are instance UIDs


def _clean(ds: Dataset, uids: UIDMap, date_shift_days: int | None, keep_characteristics: bool) -> None:
    ds.remove_private_tags()
    for elem in list(ds):
        group = elem.tag.group
        if 0x5000 <= group <= 0x50FF or 0x6000 <= group <= 0x60FF:
            del ds[elem.tag]
            continue
        keyword = elem.keyword
        if keep_characteristics and keyword in PATIENT_CHARACTERISTICS:
            continue
        if keyword in REMOVE or keyword == "ContentSequence":
            del ds[elem.tag]
        elif keyword in EMPTY:
            elem.value = "" if elem.VR != "SQ" else Sequence()
        elif keyword == "PatientName":
            elem.value = uids.pseudonym(str(elem.value), "ANON^") if elem.value else ""
        elif keyword == "PatientID":
            elem.value = uids.pseudonym(str(elem.value), "ANON-") if elem.value else ""
        elif elem.VR == "SQ":
            for item in elem.value:
                _clean(item, uids, date_shift_days, keep_characteristics)
        elif elem.VR == "UI" and elem.value:
            values = elem.value if isinstance(elem.value, (list, tuple)) or type(elem.value).__name__ == "MultiValue" else [elem.value]
            new = [uids(v) if _is_instance_uid(keyword, v) else v for v in values]
            elem.value = new if len(new) > 1 else new[0]
        elif elem.VR in ("DA", "DT") and elem.value:
            elem.value = _shift(elem.value, elem.VR, date_shift_days) if date_shift_days is not None else ""
        elif elem.VR == "TM" and elem.value and date_shift_days is None:
            elem.value = ""
        elif elem.VR in ("PN",) and elem.value:
            elem.value = ""  # any other person name (Z)


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def deidentify(
    ds: Dataset,
    uids: UIDMap | None = None,
    date_shift_days: int | None = None,
    keep_patient_characteristics: bool = False,
) -> Dataset:
    """A de-identified deep copy of ``ds`` (the original is untouched); valid DICOM for writing.

    Args:
        uids: share one map across every file of a study/series so UIDs stay consistent.
        date_shift_days: shift dates by this many days (keeps intervals); None empties them.
        keep_patient_characteristics: keep age/sex/size/weight (PS3.15 option 113108).
    """
    uids = uids or UIDMap()
    out = copy.deepcopy(ds)
    _clean(out, uids, date_shift_days, keep_patient_characteristics)
    if not out.get("SOPInstanceUID"):  # some test files lack it; a written file needs one
        out.SOPInstanceUID = generate_uid()
    meta = getattr(out, "file_meta", None)
    if meta is not None:
        if not meta.get("MediaStorageSOPClassUID") and out.get("SOPClassUID"):
            meta.MediaStorageSOPClassUID = out.SOPClassUID
        for keyword in ("MediaStorageSOPInstanceUID",):
            if keyword in meta:
                meta[keyword].value = uids(meta[keyword].value)
        if "SOPInstanceUID" in out:
            meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
        for keyword in ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle", "ReceivingApplicationEntityTitle",
                        "PrivateInformationCreatorUID", "PrivateInformation"):
            if keyword in meta:
                del meta[keyword]
    out.PatientIdentityRemoved = "YES"
    methods = ["PS3.15 Basic Profile (MedLens)"]
    codes = [_code(*BASIC_PROFILE_CODE)]
    if date_shift_days is not None:
        methods.append("dates shifted")
        codes.append(_code(*MODIFIED_DATES_CODE))
    if keep_patient_characteristics:
        codes.append(_code(*PATIENT_CHARACTERISTICS_CODE))
    out.DeidentificationMethod = "; ".join(methods)
    out.DeidentificationMethodCodeSequence = Sequence(codes)
    return out


def deidentify_series(datasets: Iterable[Dataset], salt: str | None = None, date_shift_days: int | None = None) -> list[Dataset]:
    """De-identify every dataset with one ``UIDMap``, so the series stays one consistent series."""
    uids = UIDMap(salt)
    return [deidentify(ds, uids, date_shift_days) for ds in datasets]


def remaining_identifiers(ds: Dataset) -> list[str]:
    """Keywords of identifying attributes that still hold a value (empty list = clean)."""
    found = []
    for elem in ds.iterall():
        keyword = elem.keyword
        if elem.tag.is_private:
            found.append(str(elem.tag))
        elif keyword in REMOVE and elem.value not in (None, "", []):
            found.append(keyword)
        elif keyword in EMPTY and elem.value not in (None, "", []) and keyword != "PatientSex":
            found.append(keyword)
    return found
