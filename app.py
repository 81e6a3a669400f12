"""MedLens entry point: ``streamlit run app.py``.

Navigation over the home page and the four tool pages; every page gets the system status
in the sidebar. In multi-user mode (``MEDLENS_AUTH``) nothing but the sign-in is shown until
the user has signed in (``core.ui.auth``). Pages hold widgets only; the logic is in ``core``.
"""

import streamlit as st

from core.ui.auth import is_signed_in, require_sign_in
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

# signed out (multi-user mode): the page list is hidden, but deep links still resolve to their page
navigation = st.navigation(PAGES, position="sidebar" if is_signed_in() else "hidden")
require_sign_in()  # multi-user mode: only the sign-in form, and the script stops, until signed in
navigation.run()
render_sidebar_status()  # after the page, so models it just loaded are counted
