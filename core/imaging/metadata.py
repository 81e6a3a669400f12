"""Displayable metadata: DICOM elements as short strings, and rows for the metadata table."""

from __future__ import annotations

from typing import Any

from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset

from core.imaging.deid import IDENTIFYING_KEYWORDS

MAX_VALUE_CHARS = 200

SKIP_VRS = {"OB", "OW", "OF", "OD", "OL", "OV", "UN"}


def _value_text(elem: Any) -> str:
    if elem.VR == "SQ":
        return f"<sequence of {len(elem.value)} item(s)>"
    value = elem.value
    text = "\\".join(str(v) for v in value) if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def dicom_metadata(ds: Dataset) -> dict[str, str]:
    """Top-level elements (file meta included) as ``keyword -> text``; binary blobs left out.

    Private or unknown elements are keyed by their tag, e.g. ``"(0029,1010)"``.
    """
    out: dict[str, str] = {}
    meta = getattr(ds, "file_meta", None)
    sources = [(meta, tag) for tag in meta.keys()] if meta is not None else []
    sources += [(ds, tag) for tag in ds.keys() if tag.group != 0x0002]  # keys(): nothing parsed yet
    for holder, tag in sources:
        if tag == 0x7FE00010:
            continue
        key = keyword_for_tag(tag) or f"({tag.group:04X},{tag.element:04X})"
        try:
            elem = holder[tag]  # parsing happens here: an unknown VR or a bad length raises
            if elem.VR in SKIP_VRS:
                continue
            out[key] = _value_text(elem)
        except Exception:  # an unparsable element is shown as such, never raised
            out[key] = "<unreadable value>"
    return out


def is_identifying(key: str) -> bool:
    """True for tags that can identify a patient, clinician or institution (and private tags)."""
    return key in IDENTIFYING_KEYWORDS or (key.startswith("(") and int(key[1:5], 16) % 2 == 1)


def metadata_rows(metadata: dict[str, Any], query: str = "") -> list[dict[str, Any]]:
    """Rows ``{"field", "value", "identifying"}`` filtered by a case-insensitive substring."""
    q = query.strip().lower()
    rows = []
    for key, value in metadata.items():
        if key.startswith("_"):
            continue
        text = str(value)
        if q and q not in key.lower() and q not in text.lower():
            continue
        rows.append({"field": key, "value": text, "identifying": is_identifying(key)})
    return rows
