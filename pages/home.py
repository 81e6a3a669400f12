"""Home: what each page does, and the system panel."""

import streamlit as st

from core.ui.system import render_system_panel

st.title("MedLens")
st.markdown(
    "A browser workbench for medical image analysis with deep learning: native DICOM with real "
    "windowing, AI masks you correct by hand, predictions with explanations and calibrated "
    "uncertainty, survival curves, and synthetic data on demand. **Research use only — not for diagnosis.**"
)

st.subheader("Pages")
col1, col2 = st.columns(2)
with col1:
    st.page_link("pages/upload_preprocess.py", label="**Upload & preprocessing**", icon=":material/upload_file:")
    st.caption("DICOM (single, series, multi-frame, compressed), NIfTI and PNG/JPEG/16-bit; "
               "window/level presets, denoise, sharpen, contrast, crop, resize; metadata and "
               "de-identification.")
    st.page_link("pages/segmentation.py", label="**Segmentation**", icon=":material/draw:")
    st.caption("Model masks for lung fields, lung opacities and GI polyps; brush, eraser and "
               "polygon edits with undo; box and click prompts; measurements; exports; "
               "resumable labeling sessions.")
with col2:
    st.page_link("pages/classification_prognosis.py", label="**Classification & prognosis**", icon=":material/monitoring:")
    st.caption("Image classifiers with Grad-CAM and calibrated uncertainty; survival curves and "
               "stroke risk from clinical data; a recurrent model for heartbeat sequences.")
    st.page_link("pages/gan_augmentation.py", label="**GAN augmentation**", icon=":material/auto_awesome:")
    st.caption("A conditional generator trained by us: sample, download, and train on your own images.")

st.subheader("System")
render_system_panel()
