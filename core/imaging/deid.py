"""De-identification to the whole DICOM PS3.15 Basic Application Confidentiality Profile.

Every attribute of Table E.1-1 (current edition, ``ps315_e1_1.json`` beside this module) gets
its action on a copy of each dataset, sequences included:

- X remove, Z empty, D a dummy value, U a new UID; for the combined actions (X/Z, X/D, Z/D,
  X/Z/D, X/Z/U*) the choice that keeps a type-1/2 attribute valid (D before Z before X; dates
  get a dummy that is the date shifted by the secret per-study offset, times 000000; sequences
  are removed rather than left empty, except type-2 ones), so that de-identification does not
  make a valid object invalid (checked with dciodvfy);
- dummies come from ``dicognito`` (realistic names, IDs, addresses, institutions, UIDs) where it
  has one, otherwise a salted pseudonym that fits the VR;
- private tags, curves (50xx) and overlays (60xx) are removed;
- options: Retain Longitudinal Temporal Information with Modified Dates (every date shifted by a
  random per-study offset of 62..730 days derived from the secret salt; times kept), Retain
  Patient Characteristics, Clean Descriptors (free text kept with every identifying word of the
  source blanked out).

One ``Deidentifier`` (one salt) gives consistent replacements for every file it sees: a series
stays one series, references keep pointing at the right objects, the same patient gets the same
pseudonym. Pixel data are not inspected: burned-in text is out of scope, and a source that says
``BurnedInAnnotation = YES`` is marked ``PatientIdentityRemoved = NO``.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dicognito
from dicognito.anonymizer import Anonymizer
from dicognito.element_anonymizer import ElementAnonymizer
from dicognito.randomizer import Randomizer
from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID, generate_uid

TABLE_PATH = Path(__file__).with_name("ps315_e1_1.json")
EDITION = "2026c"

# Handled by dicognito (realistic dummies): every PN and instance UID, and these keywords.
DICOGNITO_KEYWORDS = frozenset({
    "AccessionNumber", "OtherPatientIDs", "FillerOrderNumberImagingServiceRequest", "FillerOrderNumberProcedure",
    "PatientID", "PerformedProcedureStepID", "PlacerOrderNumberImagingServiceRequest", "PlacerOrderNumberProcedure",
    "RequestedProcedureID", "ScheduledProcedureStepID", "StationName", "StudyID", "PatientAddress",
    "RegionOfResidence", "CountryOfResidence", "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName",
})
# UIDs that name classes, syntaxes and coding schemes rather than instances: never replaced.
KEEP_UIDS = frozenset({"TransferSyntaxUID", "CodingSchemeUID", "ContextUID", "ImplementationClassUID",
                       "SOPClassUID", "MediaStorageSOPClassUID", "ReferencedSOPClassUID",
                       "ReferencedSOPClassUIDInFile", "RelatedGeneralSOPClassUID", "OriginalSpecializedSOPClassUID"})
DATE_VRS = ("DA", "DT", "TM")
# Sequences of the table that are type 2 (in IODs of these modalities; None = wherever present):
# emptied, not removed. Elsewhere they are type 3, where an empty sequence is invalid.
TYPE2_SEQUENCES: dict[str, frozenset[str] | None] = {
    "AcquisitionContextSequence": None,
    "ReferencedPerformedProcedureStepSequence": frozenset({"SR", "KO"}),
}
TEXT_VRS = ("LO", "SH", "LT", "ST", "UT", "UC", "CS", "AE", "UR")
NUMBER_VRS = ("DS", "IS", "FL", "FD", "SL", "SS", "UL", "US", "SV", "UV")
FILE_META_DROP = ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle", "ReceivingApplicationEntityTitle",
                  "PrivateInformationCreatorUID", "PrivateInformation")

# Not rows of Table E.1-1 but reached when a D sequence is kept and walked: free text of SR
# content items (Content Sequence is D: its text must not survive as it was).
EXTRA_ROWS = {0x0040A160: {"name": "Text Value", "action": "D"}}

BASIC_PROFILE_CODE = ("113100", "DCM", "Basic Application Confidentiality Profile")
CLEAN_DESCRIPTORS_CODE = ("113105", "DCM", "Clean Descriptors Option")
MODIFIED_DATES_CODE = ("113107", "DCM", "Retain Longitudinal Temporal Information Modified Dates Option")
PATIENT_CHARACTERISTICS_CODE = ("113108", "DCM", "Retain Patient Characteristics Option")
MIN_SHIFT_DAYS, MAX_SHIFT_DAYS = 62, 730


@functools.cache
def profile_table() -> dict[int, dict[str, str]]:
    """Table E.1-1 as ``{tag: {"name", "action", options...}}`` (group patterns 50xx/60xx left out:
    those groups are removed whole)."""
    rows = json.loads(TABLE_PATH.read_text())["attributes"]
    return {int(key, 16): row for key, row in rows.items() if "x" not in key}


def _keywords() -> frozenset[str]:
    return frozenset(k for k in (keyword_for_tag(t) for t in profile_table()) if k)


# Highlighted in the metadata view: every attribute the profile acts on.
IDENTIFYING_KEYWORDS = _keywords()


@dataclass(frozen=True)
class DeidOptions:
    """The PS3.15 options a user may ask for (all off = the Basic Profile alone)."""

    keep_dates_shifted: bool = False  # Retain Longitudinal Temporal Information with Modified Dates
    keep_patient_characteristics: bool = False  # Retain Patient Characteristics
    clean_descriptors: bool = False  # Clean Descriptors


def _hash_int(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:8], "big")


def _values(elem: DataElement) -> list[Any]:
    value = elem.value
    return list(value) if isinstance(value, (MultiValue, list, tuple)) else [value]


def _set_values(elem: DataElement, values: list[Any]) -> None:
    elem.value = values if len(values) > 1 else (values[0] if values else "")


def _empty(vr: str) -> Any:
    """The empty value of a VR (action Z)."""
    if vr == "SQ":
        return Sequence()
    if vr in ("OB", "OW", "UN", "OF", "OD", "OL", "OV"):
        return b""
    return None if vr in NUMBER_VRS or vr == "AT" else ""


def shift_date(value: str, vr: str, days: int) -> str:
    """A DA (YYYYMMDD, also old YYYY.MM.DD) or DT value moved by ``days``; '' when unparsable."""
    text = str(value).strip().replace(".", "") if vr == "DA" else str(value).strip()
    if len(text) < 8 or not text[:8].isdigit():
        return ""
    try:
        day = dt.datetime.strptime(text[:8], "%Y%m%d").date() + dt.timedelta(days=days)
    except ValueError:
        return ""
    return day.strftime("%Y%m%d") + (text[8:] if vr == "DT" else "")


class _ProfileHandler(ElementAnonymizer):
    """Applies Table E.1-1 to one element; returns False to let dicognito make the dummy."""

    def __init__(self, salt: str, options: DeidOptions) -> None:
        self.salt, self.options = salt, options
        self.randomizer = Randomizer(salt)
        self.shift_days = -MIN_SHIFT_DAYS
        self.identifying_words: list[str] = []
        self.modality = ""

    def __call__(self, dataset: Dataset, elem: DataElement) -> bool:
        tag = elem.tag
        if tag.is_private or 0x5000 <= tag.group <= 0x50FF or 0x6000 <= tag.group <= 0x60FF:
            del dataset[tag]
            return True
        row = profile_table().get(int(tag)) or EXTRA_ROWS.get(int(tag))
        if elem.VR != "SQ" and (elem.value is None or elem.value in ("", b"")):  # nothing to replace
            if row is not None and row["action"] == "X":
                del dataset[tag]
            return True
        if row is None:
            return self._unlisted(elem)
        if self.options.keep_patient_characteristics and row.get("patient_characteristics") == "K":
            return True
        if self.options.keep_dates_shifted and row.get("modified_dates") == "C" and elem.VR in DATE_VRS:
            self._shift(elem)
            return True
        if self.options.clean_descriptors and row.get("clean_descriptors") == "C" and elem.VR in TEXT_VRS:
            self._clean_text(elem)
            return True
        return self._apply(dataset, elem, set(row["action"].split("/")))

    def _unlisted(self, elem: DataElement) -> bool:
        """Attributes outside the table are kept, except dates (shifted: a date can identify)
        and instance UIDs and person names (left to dicognito)."""
        if elem.VR in ("DA", "DT"):
            self._shift(elem)
            return True
        if elem.VR == "UI":
            return not any(self._is_instance_uid(elem.keyword, v) for v in _values(elem) if v)
        return elem.VR not in ("PN",)

    @staticmethod
    def _is_instance_uid(keyword: str, value: Any) -> bool:
        if keyword in KEEP_UIDS or keyword.endswith("ClassUID"):
            return False
        uid = UID(str(value))
        return not (uid.is_valid and uid.name != str(uid))  # registered UIDs name classes/syntaxes

    def _apply(self, dataset: Dataset, elem: DataElement, actions: set[str]) -> bool:
        vr = elem.VR
        if "U*" in actions or "U" in actions:
            if vr == "UI":
                self._map_uids(elem)
                return True
            if vr == "SQ":
                return True  # keep the items; their UIDs and attributes are handled as the walk goes on
            actions = actions | {"Z"}
        if vr == "SQ":
            # type 3 almost everywhere: remove (an empty one is invalid); type 2 ones stay, empty
            order = ("Z", "X", "D") if self._type2(elem.keyword) or actions == {"Z"} else ("X", "Z", "D")
        else:
            order = ("D", "Z", "X")  # a dummy keeps type-1 attributes valid (dates: shifted, times: 000000)
        action = next(a for a in order if a in actions)
        if action == "X":
            del dataset[elem.tag]
        elif action == "Z":
            elem.value = _empty(vr)
        else:
            return self._dummy(elem)
        return True

    def _type2(self, keyword: str) -> bool:
        if keyword not in TYPE2_SEQUENCES:
            return False
        modalities = TYPE2_SEQUENCES[keyword]
        return modalities is None or self.modality in modalities

    def _dummy(self, elem: DataElement) -> bool:
        vr = elem.VR
        if vr in ("PN", "UI") or elem.keyword in DICOGNITO_KEYWORDS:
            return False
        if vr == "SQ":
            return True  # keep the items, cleaned as the walk reaches them
        if not elem.value and elem.value != 0:
            return True
        if vr in ("DA", "DT"):
            self._shift(elem)
        elif vr == "TM":
            elem.value = "000000"
        elif vr in NUMBER_VRS:
            elem.value = [0] * len(_values(elem)) if len(_values(elem)) > 1 else 0
        elif vr in TEXT_VRS:
            _set_values(elem, [self._pseudonym(str(v)) if str(v).strip() else "" for v in _values(elem)])
        elif vr == "AT":
            pass
        else:  # binary and anything else: no dummy would be meaningful, so no value
            elem.value = _empty(vr)
        return True

    def _map_uids(self, elem: DataElement) -> None:
        """New UIDs the way dicognito makes them (same salt -> same UID), also for the few
        instance UIDs whose keyword ends in "ClassUID" (e.g. ManufacturerDeviceClassUID)."""
        _set_values(elem, [f"2.{10**39 + self.randomizer.to_int(str(v))}" if v else "" for v in _values(elem)])

    def _pseudonym(self, value: str) -> str:
        return f"ANON{_hash_int(self.salt, 'text', value) % 10**8:08d}"

    def _shift(self, elem: DataElement) -> None:
        if elem.VR == "TM":
            return  # whole-day shifts keep the time of day
        _set_values(elem, [shift_date(v, elem.VR, self.shift_days) if v else "" for v in _values(elem)])

    def _clean_text(self, elem: DataElement) -> None:
        def clean(text: str) -> str:
            for word in self.identifying_words:
                text = re.sub(re.escape(word), "***", text, flags=re.IGNORECASE)
            return text

        _set_values(elem, [clean(str(v)) for v in _values(elem)])

    def describe_actions(self) -> Iterator[str]:
        yield f"PS3.15 Table E.1-1 ({EDITION}): X/Z/D/U actions, private tags, curves and overlays removed"


def _identifying_words(ds: Dataset) -> list[str]:
    """Words in ``ds`` that identify someone (names, IDs, dates, institution), longest first."""
    words: set[str] = set()
    for elem in ds.iterall():
        if elem.VR == "PN" or elem.keyword in DICOGNITO_KEYWORDS or elem.VR in ("DA", "DT"):
            for value in _values(elem):
                for part in re.split(r"[\^\s,]+", str(value or "")):
                    if len(part) >= 3:
                        words.add(part)
    return sorted(words, key=len, reverse=True)


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


class Deidentifier:
    """One de-identification run: one secret salt -> one consistent set of replacements.

    Args:
        salt: the secret; the same salt gives the same UIDs, pseudonyms and date offsets
            (keep it secret: with it the mapping can be recomputed). A random one by default.
        options: the PS3.15 options to apply.
    """

    def __init__(self, salt: str | None = None, options: DeidOptions | None = None) -> None:
        self.salt = salt or secrets.token_hex(16)
        self.options = options or DeidOptions()
        self._handler = _ProfileHandler(self.salt, self.options)
        self._anonymizer = Anonymizer(seed=self.salt)
        self._anonymizer.add_element_handler(self._handler)

    def date_offset_days(self, study_uid: str) -> int:
        """The secret, per-study shift of every date: -62 .. -730 days."""
        span = MAX_SHIFT_DAYS - MIN_SHIFT_DAYS + 1
        return -(MIN_SHIFT_DAYS + _hash_int(self.salt, "dates", str(study_uid)) % span)

    def __call__(self, ds: Dataset) -> Dataset:
        """A de-identified deep copy of ``ds`` (the original is untouched)."""
        out = copy.deepcopy(ds)
        if not hasattr(out, "file_meta"):
            out.file_meta = FileMetaDataset()
        self._handler.shift_days = self.date_offset_days(str(ds.get("StudyInstanceUID", "") or ""))
        self._handler.modality = str(ds.get("Modality", "") or "").upper()
        self._handler.identifying_words = _identifying_words(ds) if self.options.clean_descriptors else []
        for keyword in FILE_META_DROP:
            if keyword in out.file_meta:
                del out.file_meta[keyword]
        self._anonymizer.anonymize(out)
        self._finish(out)
        return out

    def _finish(self, out: Dataset) -> None:
        if not out.get("SOPInstanceUID"):  # some files lack it; a written file needs one
            out.SOPInstanceUID = generate_uid()
        if out.get("SOPInstanceUID"):
            out.file_meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
        if out.get("SOPClassUID") and not out.file_meta.get("MediaStorageSOPClassUID"):
            out.file_meta.MediaStorageSOPClassUID = out.SOPClassUID
        burned_in = str(out.get("BurnedInAnnotation", "") or "").upper() == "YES"
        out.PatientIdentityRemoved = "NO" if burned_in else "YES"
        codes = [_code(*BASIC_PROFILE_CODE)]
        if self.options.clean_descriptors:
            codes.append(_code(*CLEAN_DESCRIPTORS_CODE))
        if self.options.keep_dates_shifted:
            codes.append(_code(*MODIFIED_DATES_CODE))
        if self.options.keep_patient_characteristics:
            codes.append(_code(*PATIENT_CHARACTERISTICS_CODE))
        out.DeidentificationMethod = f"PS3.15 E.1-1 {EDITION} (MedLens, dicognito {dicognito.__version__})"[:64]
        out.DeidentificationMethodCodeSequence = Sequence(codes)
        out.LongitudinalTemporalInformationModified = "MODIFIED"  # dates left are shifted ones


def deidentify(ds: Dataset, deidentifier: Deidentifier | None = None) -> Dataset:
    """A de-identified copy of one dataset (pass one ``Deidentifier`` for a whole study)."""
    return (deidentifier or Deidentifier())(ds)


def deidentify_series(datasets: Iterable[Dataset], salt: str | None = None,
                      options: DeidOptions | None = None) -> list[Dataset]:
    """De-identify every dataset with one ``Deidentifier``, so the series stays one series."""
    run = Deidentifier(salt, options)
    return [run(ds) for ds in datasets]


def _flat(ds: Dataset, path: str = "") -> Iterator[tuple[str, BaseTag, DataElement]]:
    for elem in ds:
        yield path, elem.tag, elem
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value):
                yield from _flat(item, f"{path}{elem.keyword or elem.tag}[{i}].")


def _text(elem: DataElement) -> str:
    return "" if elem.value is None else str(elem.value)


def remaining_identifiers(original: Dataset, clean: Dataset, options: DeidOptions | None = None) -> list[str]:
    """Profile attributes of ``clean`` that still hold their value from ``original``, and any
    private tag, curve or overlay (an empty list = clean). Sequences count through their items;
    attributes an option retains are not counted."""
    options = options or DeidOptions()
    before = {(path, tag): _text(elem) for path, tag, elem in _flat(original) if elem.VR != "SQ"}
    found = []
    for path, tag, elem in _flat(clean):
        if tag.is_private or 0x5000 <= tag.group <= 0x50FF or 0x6000 <= tag.group <= 0x60FF:
            found.append(f"{path}{tag}")
            continue
        row = profile_table().get(int(tag))
        if row is None or elem.VR == "SQ" or not _text(elem).strip():
            continue
        if options.keep_patient_characteristics and row.get("patient_characteristics") == "K":
            continue
        if options.keep_dates_shifted and row.get("modified_dates") == "C" and elem.VR == "TM":
            continue
        if options.clean_descriptors and row.get("clean_descriptors") == "C":
            continue
        if before.get((path, tag)) == _text(elem):
            found.append(f"{path}{elem.keyword or Tag(tag)}")
    return found


DIRECT_IDENTIFIERS = ("PatientID", "PatientBirthDate", "AccessionNumber", "OtherPatientIDs", "InstitutionName",
                      "PatientAddress", "PatientTelephoneNumbers")


def has_identifiers(datasets: Iterable[Dataset]) -> bool:
    """Whether any dataset names someone: a person name, a patient ID, birth date, accession
    number, institution or address with a value (used to default "de-identify" to on)."""
    for ds in datasets:
        if str(ds.get("PatientIdentityRemoved", "") or "").upper() == "YES":
            continue
        for elem in ds.iterall():
            if (elem.VR == "PN" or elem.keyword in DIRECT_IDENTIFIERS) and str(elem.value or "").strip("^ "):
                return True
    return False
