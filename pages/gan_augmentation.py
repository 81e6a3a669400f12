"""GAN augmentation (placeholder until its issue lands)."""

import streamlit as st

from core.ui.placeholder import not_available

st.title("GAN augmentation")
not_available(
    "GAN augmentation",
    "a class-conditional generator trained by us on chest X-rays and BreastMNIST: sample a "
    "gallery, download a zip or npz, compare with classic augmentation, and train on your own images.",
)
