"""The "De-identify" option every DICOM export in the UI offers (widgets only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from core.export.deidentified import kept_note
from core.imaging.deid import DeidOptions, has_identifiers


def deidentify_option(datasets: Sequence[Any], key: str, container: Any = None) -> bool:
    """A "De-identify" checkbox, on by default when the source DICOM names someone, and a line
    saying what the file will keep; returns the choice."""
    where = container or st
    identifying = has_identifiers(datasets)
    on = where.checkbox("De-identify", value=identifying, key=key, help=kept_note(DeidOptions()))
    if on:
        where.caption("De-identified (PS3.15 Basic Profile): pixels, modality, geometry and acquisition "
                      "parameters kept; names, IDs, dates, institution and UIDs replaced or removed.")
    elif identifying:
        where.caption(":orange[Keeps the source's identifiers: patient name, ID, dates, institution.]")
    else:
        where.caption("The source holds no patient name or ID; its UIDs and dates are kept.")
    return on
