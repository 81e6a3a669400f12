"""Metadata table with search, identifying tags highlighted, and a de-identified download."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.export.deidentified import deidentified_download, kept_note
from core.imaging import MedImage
from core.imaging.deid import DeidOptions
from core.imaging.metadata import metadata_rows


def _highlight(row: pd.Series) -> list[str]:
    style = "background-color: rgba(255, 140, 0, 0.25)" if row["identifying"] else ""
    return [style] * len(row)


def metadata_panel(image: MedImage, key: str) -> None:
    query = st.text_input("Search tags and values", key=f"{key}.query", placeholder="e.g. Patient, Spacing, 0010")
    rows = metadata_rows(image.metadata, query)
    n_identifying = sum(r["identifying"] for r in rows)
    st.caption(f"{len(rows)} field(s); {n_identifying} identifying (highlighted) — names, IDs, dates, institution, UIDs, private tags.")
    if rows:
        frame = pd.DataFrame(rows)
        st.dataframe(frame.style.apply(_highlight, axis=1), hide_index=True, width="stretch", height=320,
                     column_config={"identifying": st.column_config.CheckboxColumn("identifying", width="small")})
    if image.kind == "dicom" and image.datasets:
        shift = st.checkbox("Keep dates, shifted by a secret per-study offset (intervals kept)", key=f"{key}.shift")
        keep_chars = st.checkbox("Keep patient age, sex, size and weight", key=f"{key}.chars")
        options = DeidOptions(keep_dates_shifted=shift, keep_patient_characteristics=keep_chars)
        n = len(image.datasets)
        name = "deidentified.zip" if n > 1 else "deidentified.dcm"
        st.download_button(
            "Download de-identified DICOM" + (f" ({n} files, zip)" if n > 1 else ""),
            data=lambda: deidentified_download(image.datasets, options)[0],
            file_name=name,
            mime="application/zip" if n > 1 else "application/dicom",
            key=f"{key}.deid", on_click="ignore", icon=":material/shield_person:",
            help=kept_note(options),
        )
