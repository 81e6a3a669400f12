"""Serve the app: ``python -m core.ui.serve [streamlit options]`` is ``streamlit run app.py``
with one fix, kept here and nowhere else.

app.py navigates with ``st.navigation``, but a folder named ``pages/`` beside it makes
Streamlit run the *first* script of each server through its legacy ``pages/`` scan, which
knows none of our URLs: a deep link such as ``/upload`` opened right after a start shows a
"Page not found" dialog. ``st.navigation`` switches that legacy mode off for the process,
but only after that first run; here it is switched off before the server starts.

Streamlit 1.67 has no setting for this (the scan is decided by
``PagesManager.uses_pages_directory``, a private class attribute read in
``streamlit.runtime.scriptrunner.script_runner``). ``tests/unit/test_serve.py`` fails loudly
when an upgrade renames the attribute or drops the legacy scan (then delete this fix).
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit
from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

APP = Path(__file__).resolve().parents[2] / "app.py"
FLAG = "uses_pages_directory"


def disable_legacy_pages_scan() -> None:
    """Tell Streamlit the app does not use the legacy ``pages/`` folder (it uses ``st.navigation``)."""
    if FLAG not in vars(PagesManager):
        raise RuntimeError(f"streamlit {streamlit.__version__}: PagesManager.{FLAG} is gone; "
                           "revisit core/ui/serve.py (the legacy pages/ scan may be gone too)")
    setattr(PagesManager, FLAG, False)


def main() -> int:
    disable_legacy_pages_scan()
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
