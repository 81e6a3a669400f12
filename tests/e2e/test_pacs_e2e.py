"""The PACS flow in Chromium against a live Orthanc: "Open from PACS" -> search -> open the chest
X-ray -> use it as the working image -> segment the lungs -> "Send to PACS"; then Orthanc lists
the SEG under the same study. Screenshots: test-artifacts/pacs-*.png (README: docs/screenshots/)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator

import pytest

from core.pacs import search_series, server_for_url
from tests.orthanc import LocalOrthanc
from tests.e2e.conftest import ARTIFACTS, assert_no_exception, wait_until_idle
from tests.e2e.server import running_app
from tests.e2e.viewer_driver import ViewerDriver
from tests.pacs_server import running_orthanc

CR_STUDY = "1.2.392.200036.9125.0.199302241758.16"


@pytest.fixture(scope="module")
def orthanc(shared_data: Path) -> Iterator[LocalOrthanc]:
    yield from running_orthanc(shared_data)


@pytest.fixture(scope="module")
def pacs_app(orthanc: LocalOrthanc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A MedLens server configured with the test Orthanc (environment only; no secrets file)."""
    saved = {k: os.environ.get(k) for k in ("MEDLENS_DICOMWEB_URL", "MEDLENS_DICOMWEB_NAME", "MEDLENS_SECRETS")}
    os.environ.update({"MEDLENS_DICOMWEB_URL": orthanc.dicomweb_url, "MEDLENS_DICOMWEB_NAME": "Orthanc (test)",
                       "MEDLENS_SECRETS": str(tmp_path_factory.mktemp("nosecrets") / "none.toml")})
    try:
        log = tmp_path_factory.mktemp("pacs-server") / "streamlit.log"
        with running_app(tmp_path_factory.mktemp("pacs-data"), log) as url:
            yield url
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"pacs-{name}.png"), full_page=True)


def _single_files(page) -> None:
    """Unfold the "Single files" expander of the export panel when it is folded."""
    if not page.get_by_role("button", name="Send to PACS").is_visible():
        page.get_by_text("Single files").click()
        wait_until_idle(page)


def test_open_from_pacs_segment_send_back(page, pacs_app: str, orthanc: LocalOrthanc) -> None:
    pacs = server_for_url(orthanc.dicomweb_url)
    seg_before = [s for s in search_series(pacs, CR_STUDY) if s.modality == "SEG"]
    page.goto(f"{pacs_app}/upload")
    wait_until_idle(page)
    page.get_by_role("tab", name="Open from PACS").click()
    wait_until_idle(page)
    page.get_by_label("Modality").fill("CR")
    page.get_by_role("button", name="Search").click()
    wait_until_idle(page)
    page.get_by_text("1 study found").wait_for()
    page.locator('[data-testid="stImage"]').first.wait_for()  # the series thumbnail
    _shot(page, "search")
    page.get_by_role("button", name="Open").click()
    wait_until_idle(page)
    summary = page.get_by_text(re.compile(r"DICOM CR · 1 x 440 x 440")).first
    summary.wait_for()
    assert_no_exception(page)
    summary.scroll_into_view_if_needed()
    _shot(page, "opened")

    page.get_by_role("tab", name="Export").click()
    wait_until_idle(page)
    page.get_by_role("button", name="Use as working image").click()
    wait_until_idle(page)
    page.get_by_text("Working image set").wait_for()

    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Segmentation").click()  # same session
    wait_until_idle(page)
    page.get_by_role("button", name=re.compile("Add the working image to this session")).click()  # never added unasked
    wait_until_idle(page)
    ViewerDriver(page).wait_rendered()
    page.get_by_role("button", name=re.compile("Segment → lung")).click()
    wait_until_idle(page)
    page.get_by_text(re.compile(r"lungs-cxr: lung covers")).first.wait_for()
    _shot(page, "segmented")
    _single_files(page)
    page.get_by_role("button", name="Send to PACS").click()  # beside the DICOM SEG download
    wait_until_idle(page)
    _single_files(page)  # a rerun may fold the expander
    page.get_by_text("Sent 1 object(s) to Orthanc (test)").wait_for()
    assert_no_exception(page)
    page.get_by_text("Sent 1 object(s) to Orthanc (test)").scroll_into_view_if_needed()
    _shot(page, "sent")

    seg_after = [s for s in search_series(pacs, CR_STUDY) if s.modality == "SEG"]
    assert len(seg_after) == len(seg_before) + 1, "Orthanc lists the new SEG under the chest X-ray's study"
