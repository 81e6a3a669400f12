"""Source values made valid before they are copied into a DICOM object MedLens writes.

Real files carry values that were valid in ACR-NEMA but not in DICOM (DA "1993.02.24",
TM "17:58:00"), empty type-1 values, or enumerated values outside their set. A written SEG
or derived image must not inherit those: each is repaired when the intent is clear, and
emptied (type 2) otherwise.
"""

from __future__ import annotations

import copy
import re

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import UID

_DA = re.compile(r"^\d{8}$")
_TM = re.compile(r"^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$")
_DT = re.compile(r"^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?$")
SEXES = ("M", "F", "O")


def fix_date(value: object) -> str:
    """A DA value, also from old "YYYY.MM.DD"; '' when it cannot be one."""
    text = str(value or "").strip().replace(".", "").replace("-", "")
    ok = _DA.match(text) and 1800 <= int(text[:4]) <= 2200 and 1 <= int(text[4:6]) <= 12 and 1 <= int(text[6:8]) <= 31
    return text if ok else ""


def fix_time(value: object) -> str:
    """A TM value, also from old "HH:MM:SS"; '' when it cannot be one."""
    text = str(value or "").strip().replace(":", "")
    return text if _TM.match(text) and int(text[:2]) < 24 else ""


def fix_datetime(value: object) -> str:
    text = str(value or "").strip()
    return text if _DT.match(text) else ""


def valid_uid(value: object) -> bool:
    """A UID with a legal root (0, 1 or 2), no leading zeros, at most 64 characters."""
    text = str(value or "")
    return bool(text) and text[0] in "012" and UID(text).is_valid


def _fix_element(ds: Dataset, keyword: str, fixer) -> None:
    elem = ds.data_element(keyword)
    if elem is None or elem.value in (None, ""):
        return
    values = list(elem.value) if isinstance(elem.value, (MultiValue, list)) else [elem.value]
    fixed = [fixer(v) for v in values]
    if any(fixed):
        kept = [v for v in fixed if v]
        elem.value = kept if len(kept) > 1 else kept[0]
    else:
        elem.value = ""


def valid_copy(ds: Dataset) -> Dataset:
    """A copy of ``ds`` whose top-level dates, times, sex and character set are valid values.

    Sequences are left as they are: callers copy top-level patient/study attributes only.
    """
    out = copy.deepcopy(ds)
    for elem in list(out):
        if elem.VR == "DA":
            _fix_element(out, elem.keyword, fix_date) if elem.keyword else None
        elif elem.VR == "TM":
            _fix_element(out, elem.keyword, fix_time) if elem.keyword else None
        elif elem.VR == "DT":
            _fix_element(out, elem.keyword, fix_datetime) if elem.keyword else None
    if "PatientSex" in out and str(out.PatientSex or "").strip().upper() not in SEXES:
        out.PatientSex = ""
    elif "PatientSex" in out and out.PatientSex:
        out.PatientSex = str(out.PatientSex).strip().upper()
    if "SpecificCharacterSet" in out and not str(out.SpecificCharacterSet or "").strip():
        del out.SpecificCharacterSet  # an empty value is not a valid character set
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID"):
        if keyword in out and not valid_uid(out.get(keyword)):
            del out[keyword]
    return out
