"""A one-component Streamlit app for the viewer's browser tests and bench: the image named by
``MEDLENS_VIEWER_FILE`` (a file or a series folder), two labels, a "Run model" button (the
segmentation model ``MEDLENS_VIEWER_MODEL``, default lungs-cxr, on the frame shown, into "lung"),
and PNG / NIfTI / DICOM SEG downloads built from the stored mask at the moment of the click."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

from core.export.dicom_seg import seg_bytes
from core.export.nifti import mask_nifti_bytes
from core.export.png import mask_png_bytes
from core.ui.components.viewer import medlens_viewer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from viewer_state import document  # noqa: E402  (this folder is not a package on streamlit's path)

LABELS, COLOURS = ["lung", "lesion"], ["#00c853", "#ff6d00"]

st.set_page_config(layout="wide")
doc = document(os.environ["MEDLENS_VIEWER_FILE"], LABELS)
image, masks, sync = doc["image"], doc["masks"], doc["sync"]


MODEL = os.environ.get("MEDLENS_VIEWER_MODEL", "lungs-cxr")


def _run_model(frame: int) -> None:
    """The model's mask replaces "lung" on ``frame`` (one undoable edit; the viewer is sent it)."""
    from core.segmentation import service

    found = service.segment(MODEL, image.frame(frame))
    if masks.set("lung", frame, found.mask, f"model {MODEL}") is not None:
        sync.touch("lung", frame)


@st.fragment
def viewer() -> None:
    if st.session_state.get("run_model"):  # the button below was clicked: run before the viewer answers
        _run_model(int(st.session_state.get("viewer_frame", image.n_frames // 2)))
    value = medlens_viewer(image, sync, key="viewer", doc_key=os.environ.get("MEDLENS_VIEWER_DOC", "test-doc"),
                           labels=LABELS, colours=COLOURS, brush=int(os.environ.get("MEDLENS_VIEWER_BRUSH", "12")),
                           height=600, frame=image.n_frames // 2)
    frame, label = int(value.get("frame", image.n_frames // 2)), str(value.get("label", LABELS[0]))
    st.session_state["viewer_frame"] = frame
    st.button(f"Run model ({MODEL})", key="run_model")
    cols = st.columns(3)
    cols[0].download_button("PNG", lambda: mask_png_bytes(masks.get(label, frame)), "mask.png", "image/png", on_click="ignore")
    cols[1].download_button("NIfTI", lambda: mask_nifti_bytes(masks.data[label]), "mask.nii.gz", "application/gzip",
                            on_click="ignore")
    if image.datasets:
        cols[2].download_button("DICOM SEG", lambda: seg_bytes(masks.data[label], list(image.datasets), label=label),
                                "mask_seg.dcm", "application/dicom", on_click="ignore")


viewer()
