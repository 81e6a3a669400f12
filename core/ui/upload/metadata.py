"""Metadata table with search, identifying tags highlighted, and a de-identified download."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.export_image import dataset_bytes, zip_bytes
from core.imaging import MedImage
from core.imaging.deid import deidentify_series
from core.imaging.metadata import metadata_rows


def _highlight(row: pd.Series) -> list[str]:
    style = "background-color: rgba(255, 140, 0, 0.25)" if row["identifying"] else ""
    return [style] * len(row)


def deidentified_bytes(image: MedImage, shift_dates: bool) -> tuple[bytes, str]:
    """De-identified copies of the source DICOM files: one .dcm, or a zip for a series."""
    datasets = deidentify_series(image.datasets, date_shift_days=-365 if shift_dates else None)
    if len(datasets) == 1:
        return dataset_bytes(datasets[0]), ".dcm"
    return zip_bytes((f"{i + 1:04d}.dcm", dataset_bytes(ds)) for i, ds in enumerate(datasets)), ".zip"


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
        shift = st.checkbox("Shift dates by a fixed offset instead of removing them", key=f"{key}.shift")
        stem = image.name.rsplit(".", 1)[0] or "image"
        n = len(image.datasets)
        st.download_button(
            "Download de-identified DICOM" + (f" ({n} files, zip)" if n > 1 else ""),
            data=lambda: deidentified_bytes(image, shift)[0],
            file_name=f"{stem}_deid{'.zip' if n > 1 else '.dcm'}",
            mime="application/zip" if n > 1 else "application/dicom",
            key=f"{key}.deid", on_click="ignore", icon=":material/shield_person:",
            help="PS3.15 Basic Application Confidentiality Profile: names, IDs, dates, institution, "
                 "physicians, comments and private tags removed; UIDs replaced consistently.",
        )
