"""MedLens core: all logic, importable and testable without a browser.

Only ``core.ui`` imports Streamlit.
"""

__version__ = "0.1.0"
