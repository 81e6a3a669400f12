"""Every page opens in Chromium without an exception box."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS, assert_no_exception, wait_until_idle

PAGES = {
    "home": "",
    "upload": "upload",
    "segmentation": "segmentation",
    "classification": "classification",
    "gan": "gan",
}


@pytest.mark.parametrize("name", list(PAGES))
def test_page_opens_without_exception(page, app_url: str, name: str) -> None:
    page.goto(f"{app_url}/{PAGES[name]}")
    wait_until_idle(page)
    assert page.locator("h1").count() >= 1
    assert_no_exception(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"page-{name}.png"))
