"""Serve the app: ``python -m core.ui.serve [streamlit options]`` is ``streamlit run app.py``
with one fix.

app.py navigates with ``st.navigation``, but a folder named ``pages/`` beside it makes
Streamlit run the *first* script of each server through its legacy ``pages/`` scan, which
knows none of our URLs: a deep link such as ``/upload`` opened right after a start shows a
"Page not found" dialog. ``st.navigation`` switches that legacy mode off for the process,
but only after that first run; here it is switched off before the server starts.
"""

from __future__ import annotations

import sys
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

APP = Path(__file__).resolve().parents[2] / "app.py"


def main() -> int:
    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
