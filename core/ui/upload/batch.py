"""Batch mode: the current pipeline over many uploaded files, to a zip, with progress."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.export.deidentified import kept_note
from core.imaging.deid import DeidOptions
from core.preprocess import Pipeline
from core.preprocess.batch import run_batch
from core.ui import freshness


def batch_panel(pipeline: Pipeline, key: str) -> None:
    st.caption(f"Runs the current pipeline ({len(pipeline)} step(s)) on every file and zips the results. "
               "PNG takes the middle frame; NIfTI and DICOM keep every frame.")
    files = st.file_uploader("Files to process", accept_multiple_files=True, key=f"{key}.files")
    fmt = st.radio("Output format", ["png", "nifti", "dicom"], horizontal=True, key=f"{key}.fmt")
    deidentify = False
    if fmt == "dicom":
        deidentify = st.checkbox("De-identify", value=True, key=f"{key}.deid", help=kept_note(DeidOptions()))
        st.caption("De-identified (PS3.15 Basic Profile): pixels, modality, geometry kept; names, IDs, dates, "
                   "institution and UIDs replaced or removed; files named image0001… ." if deidentify else
                   ":orange[Keeps each source's identifiers (patient name, ID, dates, institution).]")
    inputs = {"pipeline": pipeline.to_dict(), "fmt": fmt, "deidentify": deidentify,
              "files": [(f.name, f.size, getattr(f, "file_id", "")) for f in files or []]}
    if st.button("Run batch", key=f"{key}.run", disabled=not files, icon=":material/play_arrow:"):
        bar = st.progress(0.0, text="Starting…")

        def progress(done: int, total: int, name: str) -> None:
            bar.progress(done / total, text=f"{done}/{total}: {name}")

        archive, report = run_batch([(f.name, f.getvalue()) for f in files], pipeline, fmt, progress, deidentify)
        freshness.keep(f"{key}.result", inputs, (archive, report))
    result = freshness.fresh(f"{key}.result", inputs)
    if result:
        archive, report = result
        ok = sum(r["status"] == "ok" for r in report)
        (st.success if ok == len(report) else st.warning)(f"{ok} of {len(report)} file(s) processed.")
        st.dataframe(pd.DataFrame(report), hide_index=True, width="stretch")
        st.download_button("Download results (zip)", archive, file_name="medlens_batch.zip", mime="application/zip",
                           key=f"{key}.download", on_click="ignore", icon=":material/download:")
