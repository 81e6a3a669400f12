"""Every page (and the app with its navigation) renders without an exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
PAGES = sorted(p.name for p in (REPO / "pages").glob("*.py"))


def test_app_renders_home() -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    assert any("MedLens" in t.value for t in at.title)
    # the system panel: device, models, cache memory
    labels = [m.label for m in at.metric]
    assert "Device" in labels and "Memory held by the model cache" in labels


@pytest.mark.parametrize("page", PAGES)
def test_page_renders(page: str) -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    at.switch_page(f"pages/{page}").run()
    assert not at.exception, at.exception
    assert at.title, f"{page} shows no title"
