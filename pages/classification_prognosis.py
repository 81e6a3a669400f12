"""Classification & prognosis: one tab per model family; each panel lives in core.ui."""

import importlib
import importlib.util

import streamlit as st

from core.ui.placeholder import not_available

st.title("Classification & prognosis")
st.caption("Research use only — not for diagnosis.")

TABS = [
    ("Image classification", "core.ui.classification.panel", "render",
     "pneumonia (chest X-ray) and breast-lesion (ultrasound) classifiers with Grad-CAM and calibrated uncertainty."),
    ("Survival", "core.ui.prognosis.panel", "render_survival",
     "individual survival curves from clinical data (GBSG2) with risk groups."),
    ("Stroke risk", "core.ui.prognosis.panel", "render_stroke",
     "calibrated stroke risk from a patient form or a CSV."),
    ("Heartbeat sequence", "core.ui.prognosis.panel", "render_sequence",
     "a recurrent model that classifies ECG heartbeats, with saliency."),
]

for tab, (title, module_name, function, planned) in zip(st.tabs([t[0] for t in TABS]), TABS):
    with tab:
        if importlib.util.find_spec(module_name) is None:  # its issue has not landed yet
            not_available(title, planned)
            continue
        getattr(importlib.import_module(module_name), function)()
