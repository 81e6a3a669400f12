"""Browser-test fixtures: ``streamlit run app.py`` on a free local port, and Debian's Chromium
driven by Playwright. Screenshots go to ``test-artifacts/`` (git-ignored)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import SYSTEM_SKIP_TAG
from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, REPO, instrument, next_frame, running_app, wait_until_idle

ARTIFACTS = REPO / "test-artifacts"
__all__ = ["ARTIFACTS", "assert_no_exception", "next_frame", "wait_until_idle"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in tests/e2e is a browser test; skip them all with the reason when no browser
    (a skip that fails the run when CI=true, see ``tests.conftest.skip_for_system``)."""
    reason = os.environ.get("MEDLENS_SKIP_E2E")
    if not reason and not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM}"
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)  # a server and a browser: seconds to minutes each
            if reason:
                item.add_marker(pytest.mark.skip(reason=f"{SYSTEM_SKIP_TAG} browser tests skipped: {reason}"))


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a running MedLens server (its own user data folder); its log is kept."""
    log_path = tmp_path_factory.mktemp("server") / "streamlit.log"
    with running_app(tmp_path_factory.mktemp("e2e-data"), log_path) as url:
        yield url
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "streamlit.log").write_text(log_path.read_text())


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh page (1400x900); a screenshot of it is saved after the test, pass or fail."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    instrument(context)  # lets wait_until_idle see that a click has started a run
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.name)
    try:
        pg.screenshot(path=str(ARTIFACTS / f"{safe}.png"), full_page=True)
    except Exception:
        pass
    context.close()


def assert_no_exception(page) -> None:
    """Fail when Streamlit shows an exception box or a traceback reaches the page."""
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, boxes.first.inner_text()
    body = page.inner_text("body")
    assert "Traceback" not in body
    assert "Page not found" not in body, "Streamlit showed its 'Page not found' dialog"
