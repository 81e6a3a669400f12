"""The one Streamlit private we rely on (``core.ui.serve``): fails loudly when an upgrade changes it."""

from __future__ import annotations

import inspect

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import script_runner

from core.ui import serve


@pytest.fixture
def fresh_flag():
    saved = vars(PagesManager).get(serve.FLAG)
    PagesManager.uses_pages_directory = None
    yield
    PagesManager.uses_pages_directory = saved


def test_streamlit_still_scans_our_pages_folder_without_the_fix(fresh_flag) -> None:
    """If this fails, Streamlit dropped the legacy pages/ scan: delete the fix in core/ui/serve.py."""
    PagesManager(str(serve.APP))
    assert PagesManager.uses_pages_directory is True, "app.py's pages/ folder no longer triggers the legacy scan"
    assert f"PagesManager.{serve.FLAG}" in inspect.getsource(script_runner), \
        "the script runner no longer reads the flag: the fix in core/ui/serve.py does nothing now"


def test_the_fix_switches_the_scan_off_for_the_server(fresh_flag) -> None:
    serve.disable_legacy_pages_scan()
    PagesManager(str(serve.APP))  # a session's manager must not turn it back on
    assert PagesManager.uses_pages_directory is False


def test_the_fix_refuses_to_guess_when_the_flag_is_gone(fresh_flag, monkeypatch) -> None:
    monkeypatch.delattr(PagesManager, serve.FLAG)
    with pytest.raises(RuntimeError, match="revisit core/ui/serve.py"):
        serve.disable_legacy_pages_scan()
