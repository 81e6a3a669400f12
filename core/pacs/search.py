"""QIDO-RS: find studies (patient, dates, modality, accession, description) and the series of a study."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from core.errors import InputError
from core.pacs.client import make_client, pacs_errors
from core.pacs.config import PacsServer

STUDY_FIELDS = ["StudyInstanceUID", "PatientID", "PatientName", "StudyDate", "StudyDescription", "AccessionNumber",
                "ModalitiesInStudy", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances"]
SERIES_FIELDS = ["SeriesInstanceUID", "Modality", "SeriesDescription", "SeriesNumber",
                 "NumberOfSeriesRelatedInstances", "BodyPartExamined"]
DEFAULT_LIMIT = 100
_DATE = re.compile(r"^\d{8}$")
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


@dataclass(frozen=True)
class StudyHit:
    """One study as the PACS lists it."""

    study_uid: str
    patient_id: str
    patient_name: str
    date: str
    description: str
    accession: str
    modalities: list[str]
    n_series: int | None
    n_instances: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def label(self) -> str:
        date = f"{self.date[:4]}-{self.date[4:6]}-{self.date[6:]}" if len(self.date) == 8 else self.date or "no date"
        what = "/".join(self.modalities) or "?"
        desc = f" {self.description}" if self.description else ""
        accession = f" · accession {self.accession}" if self.accession else ""
        return f"{date} · {what}{desc} · {self.patient_id or 'no ID'}{accession} · {self.n_series or '?'} series"


@dataclass(frozen=True)
class SeriesHit:
    """One series of a study."""

    study_uid: str
    series_uid: str
    modality: str
    description: str
    number: int | None
    n_instances: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def label(self) -> str:
        number = f"#{self.number} " if self.number is not None else ""
        return f"{number}{self.modality} {self.description}".strip() + f" · {self.n_instances or '?'} instance(s)"


def _value(item: dict[str, Any], keyword: str, tag: str) -> Any:
    element = item.get(tag) or {}
    values = element.get("Value") or []
    if not values:
        return None
    if element.get("vr") == "PN":
        first = values[0]
        return first.get("Alphabetic", "") if isinstance(first, dict) else str(first)
    return values if keyword == "ModalitiesInStudy" else values[0]


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


TAGS = {"StudyInstanceUID": "0020000D", "PatientID": "00100020", "PatientName": "00100010", "StudyDate": "00080020",
        "StudyDescription": "00081030", "AccessionNumber": "00080050", "ModalitiesInStudy": "00080061",
        "NumberOfStudyRelatedSeries": "00201206", "NumberOfStudyRelatedInstances": "00201208",
        "SeriesInstanceUID": "0020000E", "Modality": "00080060", "SeriesDescription": "0008103E",
        "SeriesNumber": "00200011", "NumberOfSeriesRelatedInstances": "00201209", "BodyPartExamined": "00180015",
        "SOPInstanceUID": "00080018", "InstanceNumber": "00200013"}


def get(item: dict[str, Any], keyword: str) -> Any:
    """A value of a DICOM JSON item by keyword (PN as its alphabetic form, lists for multi-valued CS)."""
    return _value(item, keyword, TAGS[keyword])


def _date_range(date_from: str | None, date_to: str | None) -> str | None:
    for value, what in ((date_from, "from"), (date_to, "to")):
        if value and not _DATE.match(value.replace("-", "")):
            raise InputError(f"study date {what} must be YYYYMMDD or YYYY-MM-DD, got {value[:20]!r}")
    start = (date_from or "").replace("-", "")
    end = (date_to or "").replace("-", "")
    if not start and not end:
        return None
    return start if start == end else f"{start}-{end}"


def check_uid(uid: str, what: str) -> str:
    """A DICOM UID (digits and dots, at most 64 characters), or an ``InputError``."""
    uid = (uid or "").strip()
    if not uid or len(uid) > 64 or not _UID.match(uid):
        raise InputError(f"{what} must be a DICOM UID (digits and dots, at most 64 characters)")
    return uid


def study_filters(patient_id: str | None = None, patient_name: str | None = None, date_from: str | None = None,
                  date_to: str | None = None, modality: str | None = None, accession: str | None = None,
                  description: str | None = None) -> dict[str, str]:
    """QIDO-RS query parameters for the given criteria (empty criteria are left out)."""
    filters: dict[str, str] = {}
    for keyword, value in (("PatientID", patient_id), ("PatientName", patient_name), ("AccessionNumber", accession),
                           ("StudyDescription", description)):
        if value and value.strip():
            filters[keyword] = value.strip()[:64]
    if modality and modality.strip():
        filters["ModalitiesInStudy"] = modality.strip().upper()[:16]
    dates = _date_range(date_from, date_to)
    if dates:
        filters["StudyDate"] = dates
    return filters


def search_studies(server: PacsServer, limit: int = DEFAULT_LIMIT, **criteria: str | None) -> list[StudyHit]:
    """Studies matching ``criteria`` (see ``study_filters``), newest first, at most ``limit``."""
    filters = study_filters(**criteria)
    with pacs_errors(server, "study search"):
        items = make_client(server).search_for_studies(fields=STUDY_FIELDS, search_filters=filters, limit=limit,
                                                       fuzzymatching="PatientName" in filters)
        hits = [StudyHit(study_uid=str(get(i, "StudyInstanceUID") or ""), patient_id=str(get(i, "PatientID") or ""),
                         patient_name=str(get(i, "PatientName") or ""), date=str(get(i, "StudyDate") or ""),
                         description=str(get(i, "StudyDescription") or ""),
                         accession=str(get(i, "AccessionNumber") or ""),
                         modalities=[str(m) for m in (get(i, "ModalitiesInStudy") or [])],
                         n_series=_int(get(i, "NumberOfStudyRelatedSeries")),
                         n_instances=_int(get(i, "NumberOfStudyRelatedInstances"))) for i in items]
    return sorted((h for h in hits if h.study_uid), key=lambda h: h.date, reverse=True)


def search_series(server: PacsServer, study_uid: str) -> list[SeriesHit]:
    """The series of one study, by series number."""
    study_uid = check_uid(study_uid, "the study UID")
    with pacs_errors(server, "series search"):
        items = make_client(server).search_for_series(study_instance_uid=study_uid, fields=SERIES_FIELDS)
        hits = [SeriesHit(study_uid=study_uid, series_uid=str(get(i, "SeriesInstanceUID") or ""),
                          modality=str(get(i, "Modality") or ""), description=str(get(i, "SeriesDescription") or ""),
                          number=_int(get(i, "SeriesNumber")),
                          n_instances=_int(get(i, "NumberOfSeriesRelatedInstances"))) for i in items]
    return sorted((h for h in hits if h.series_uid), key=lambda h: (h.number is None, h.number or 0))


def search_instances(server: PacsServer, study_uid: str, series_uid: str) -> list[str]:
    """SOP Instance UIDs of one series, by instance number."""
    with pacs_errors(server, "instance search"):
        items = make_client(server).search_for_instances(study_instance_uid=study_uid, series_instance_uid=series_uid,
                                                         fields=["SOPInstanceUID", "InstanceNumber"],
                                                         get_remaining=True)
    pairs = [(_int(get(i, "InstanceNumber")), str(get(i, "SOPInstanceUID") or "")) for i in items]
    return [uid for _, uid in sorted(pairs, key=lambda p: (p[0] is None, p[0] or 0)) if uid]
