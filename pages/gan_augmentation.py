"""GAN augmentation: sample our conditional GANs, download, compare with classic augmentation,
train a GAN on your own images in the background, and see whether synthetic data helps."""

from __future__ import annotations

import streamlit as st

from core.ui.errors import user_errors
from core.ui.gan import panel as gp

st.title("GAN augmentation")
st.caption("Class-conditional GANs trained by MedLens from scratch. Synthetic images are not patients: "
           "use them to augment training data, never for diagnosis.")

tab_sample, tab_train, tab_quality = st.tabs(["Sample & download", "Train on your images", "Quality & benefit"])

with tab_sample:
    model = gp.pick_generator()
    if model is not None:
        request, pressed = gp.sample_form(model)
        if pressed:
            with user_errors():
                gp.run_sampling(request)
        left, right = st.columns([3, 2], gap="large")
        with left:
            st.subheader("GAN samples")
            samples = gp.current_samples(request)
            if samples is None:
                st.caption("Pick a class, number, seed and truncation, then press **Generate**.")
            else:
                gp.gallery(samples, st.session_state.get(gp.DISTANCES))
                gp.downloads(samples, st.session_state.get(gp.DISTANCES))
        with right:
            with user_errors():
                gp.augmentation_preview(samples)
        gp.card_expander(model)

with tab_train:
    gp.training_panel()

with tab_quality:
    model_q = gp.pick_generator(key="gan.model_quality")
    if model_q is not None:
        gp.quality_panel(model_q)
