"""The few documented ``st.session_state`` keys that pages share.

``WORKING_IMAGE``: the image the user is working on (a ``core.imaging.MedImage``), set by
the Upload & preprocessing page after its pipeline, read by the other pages.
``WORKING_IMAGE_NAME``: its display name (file name).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

WORKING_IMAGE = "medlens.working_image"
WORKING_IMAGE_NAME = "medlens.working_image_name"


def set_working_image(image: Any, name: str) -> None:
    st.session_state[WORKING_IMAGE] = image
    st.session_state[WORKING_IMAGE_NAME] = name


def get_working_image() -> tuple[Any, str] | None:
    """``(image, name)`` or None when no page has set one yet."""
    image = st.session_state.get(WORKING_IMAGE)
    if image is None:
        return None
    return image, st.session_state.get(WORKING_IMAGE_NAME, "working image")
