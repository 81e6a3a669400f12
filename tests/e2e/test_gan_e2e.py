"""GAN augmentation in Chromium: generate samples with the default generator, download the zip."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest

from tests.e2e.conftest import ARTIFACTS, assert_no_exception, wait_until_idle


@pytest.mark.e2e
def test_sample_then_download_zip(page, app_url: str, tmp_path) -> None:
    # via the sidebar: a cold deep link can race the page registry and show "Page not found"
    page.goto(app_url)
    wait_until_idle(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_text("GAN augmentation").click()
    wait_until_idle(page)
    assert_no_exception(page)
    main = page.locator('[data-testid="stMainBlockContainer"]')
    page.wait_for_selector('[data-testid="stSelectbox"]', timeout=60_000)  # absent when no generator is registered
    page.get_by_role("spinbutton", name="Samples").fill("8")
    page.get_by_role("spinbutton", name="Seed").first.fill("7")
    page.get_by_role("button", name="Generate").click()
    page.wait_for_selector('[data-testid="stDownloadButton"]', timeout=120_000)
    wait_until_idle(page)
    assert_no_exception(page)
    assert main.locator('[data-testid="stImage"]').count() >= 8
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "gan-samples.png"), full_page=True)
    with page.expect_download() as info:
        page.get_by_role("button", name=re.compile(r"Download these 8 samples: zip")).click()
    path = tmp_path / "samples.zip"
    info.value.save_as(str(path))
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        rows = list(csv.DictReader(io.StringIO(archive.read("labels.csv").decode())))
    assert len(rows) == 8 and sum(n.endswith(".png") for n in names) == 8
    assert all(r["seed"] == "7" for r in rows)
