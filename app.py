"""MedLens entry point: ``streamlit run app.py``.

Navigation over the home page and the four tool pages; every page gets the system status
in the sidebar. Pages hold widgets only; the logic is in ``core``.
"""

import streamlit as st

from core.ui.system import render_sidebar_status

st.set_page_config(page_title="MedLens", page_icon=":material/radiology:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/upload_preprocess.py", title="Upload & preprocessing", icon=":material/upload_file:", url_path="upload"),
    st.Page("pages/segmentation.py", title="Segmentation", icon=":material/draw:", url_path="segmentation"),
    st.Page("pages/classification_prognosis.py", title="Classification & prognosis", icon=":material/monitoring:",
            url_path="classification"),
    st.Page("pages/gan_augmentation.py", title="GAN augmentation", icon=":material/auto_awesome:", url_path="gan"),
]

navigation = st.navigation(PAGES)
navigation.run()
render_sidebar_status()  # after the page, so models it just loaded are counted
