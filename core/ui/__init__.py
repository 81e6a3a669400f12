"""Streamlit widgets shared by the pages: the only part of ``core`` that imports streamlit."""
