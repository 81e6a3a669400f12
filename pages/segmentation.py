"""Segmentation with editable masks (placeholder until its issue lands)."""

import streamlit as st

from core.ui.placeholder import not_available

st.title("Segmentation")
not_available(
    "The segmentation page",
    "model masks for lung fields, lung opacities and GI polyps; brush, eraser and polygon edits "
    "with undo/redo; box and click prompts; measurements in mm²; PNG, NIfTI, DICOM SEG and COCO "
    "exports; resumable labeling sessions.",
)
