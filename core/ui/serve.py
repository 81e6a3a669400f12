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

It also refuses to serve single-user MedLens (no sign-in) on anything but a loopback address
(``core.auth.mode``); without ``--server.address`` it listens on ``MEDLENS_ADDRESS`` or 127.0.0.1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit
from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

from core.auth.mode import serving_address, serving_refusal

APP = Path(__file__).resolve().parents[2] / "app.py"
FLAG = "uses_pages_directory"


def disable_legacy_pages_scan() -> None:
    """Tell Streamlit the app does not use the legacy ``pages/`` folder (it uses ``st.navigation``)."""
    if FLAG not in vars(PagesManager):
        raise RuntimeError(f"streamlit {streamlit.__version__}: PagesManager.{FLAG} is gone; "
                           "revisit core/ui/serve.py (the legacy pages/ scan may be gone too)")
    setattr(PagesManager, FLAG, False)


def main() -> int:
    args = sys.argv[1:]
    address = serving_address(args)
    if not any(arg.startswith("--server.address") for arg in args):
        address = "127.0.0.1" if address is None else address
        args = [*args, "--server.address", address]
    refusal = serving_refusal(address)
    if refusal:
        sys.stderr.write(f"error: {refusal}\n")
        return 2
    disable_legacy_pages_scan()
    sys.argv = ["streamlit", "run", str(APP), *args]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
