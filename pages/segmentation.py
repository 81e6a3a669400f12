"""Segmentation: model masks you can edit by hand, measurements, labeling sessions, exports.

Widgets and layout only: the editor is ``core.ui.segmentation.mask_editor``, sessions and exports are
``core.ui.segmentation.labeling``, the logic behind them ``core.masks``, ``core.labeling``, ``core.export``.
"""

import streamlit as st

from core.ui.errors import user_errors
from core.ui.segmentation import labeling as lp
from core.ui.segmentation.mask_editor import K, mask_editor, model_picker
from core.ui.segmentation.team import team_panel

st.title("Segmentation")
st.caption("Segment with a model, correct the mask by hand, measure it, and export it. "
           "Every edit is saved as you go: a reload or restart resumes where you were.")

with st.sidebar:
    st.subheader("Labeling session")
    with user_errors():
        lp.session_picker()

lp.offer_working_image()
ws = lp.workspace()
lp.image_source(expanded=ws is None)
if ws is None:
    st.info("Open an image to start: upload one, pick an example, or bring the working image from the "
            "Upload & preprocessing page.")
    st.stop()

model = model_picker(ws)
with user_errors():
    mask_editor(ws, model)

with st.expander("Labels and colours"):
    lp.labels_panel(ws)
with st.expander("Labeling session: status and next image", expanded=True):
    lp.status_panel(ws)
    if model is not None and st.button("Score model uncertainty for all images", key=K + "score"):
        with user_errors():
            lp.score_uncertainty(ws, model)
            st.rerun()
with st.expander("Team: assignment, review, agreement, audit"):
    with user_errors():
        team_panel(ws)
with st.expander("Import masks"):
    lp.import_panel(ws)
st.subheader("Export")
with user_errors():
    lp.export_panel(ws)
