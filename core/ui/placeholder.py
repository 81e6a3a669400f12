"""An honest "not built yet" notice for parts of the app whose issue has not landed."""

from __future__ import annotations

import streamlit as st


def not_available(what: str, planned: str) -> None:
    """Say plainly that ``what`` is not available yet and what is planned for it."""
    st.warning(f"**{what} is not available yet.** Nothing on this part of the page works yet.")
    st.markdown(f"Planned: {planned}")
