"""Image classification in Chromium: a single upload and a batch with true labels."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.e2e.conftest import ARTIFACTS, assert_no_exception, wait_until_idle

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "cxr_pediatric_pneumonia.jpeg"


def _panel(page):
    return page.get_by_role("tabpanel", name="Image classification")


def _uploader(page, label: str):
    return _panel(page).get_by_test_id("stFileUploader").filter(has_text=label).locator("input[type=file]")


def _open_panel(page, app_url: str) -> None:
    page.set_viewport_size({"width": 1400, "height": 2200})  # the whole panel in one screenshot
    page.goto(f"{app_url}/classification")
    wait_until_idle(page)
    page.get_by_role("tab", name="Image classification").click()
    box = _panel(page).get_by_test_id("stSelectbox").filter(has_text="Model")
    box.click()
    page.get_by_role("option", name="pneumonia-cxr — pneumonia").click()
    wait_until_idle(page)


@pytest.mark.e2e
def test_single_image_prediction(page, app_url: str) -> None:
    _open_panel(page, app_url)
    _uploader(page, "Image (DICOM, PNG, JPEG)").set_input_files(str(EXAMPLE))
    page.get_by_text("Interval (TTA 5–95%)").wait_for(timeout=180_000)
    page.get_by_text("Grad-CAM for 'pneumonia'").wait_for(timeout=180_000)
    wait_until_idle(page)
    assert_no_exception(page)
    body = page.inner_text("body")
    assert "P(pneumonia)" in body and "Label:" in body
    assert page.get_by_test_id("stImage").count() >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "classification-single.png"), full_page=True)


@pytest.mark.e2e
def test_batch_prediction_with_labels(page, app_url: str, shared_data, tmp_path: Path) -> None:
    files, rows = [], []
    for cls, label in (("NORMAL", 0), ("PNEUMONIA", 1)):
        for f in sorted((shared_data / "cxr_pneumonia" / "train" / cls).glob("*.jpeg"))[:4]:
            files.append(str(f))
            rows.append({"file": f.name, "label": label})
    truth = tmp_path / "truth.csv"
    with truth.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["file", "label"])
        writer.writeheader()
        writer.writerows(rows)
    _open_panel(page, app_url)
    _panel(page).get_by_role("tab", name="Batch").click()
    _uploader(page, "Images or zip files").set_input_files(files)
    wait_until_idle(page)
    _uploader(page, "CSV of true labels").set_input_files(str(truth))
    _panel(page).get_by_text("truth.csv").wait_for(timeout=60_000)
    wait_until_idle(page)
    _panel(page).get_by_role("button", name="Score batch").click()
    page.get_by_text("files scored").wait_for(timeout=180_000)
    wait_until_idle(page)
    assert_no_exception(page)
    assert "8 of 8 files scored" in page.inner_text("body").replace("**", "")
    _panel(page).locator(".js-plotly-plot").nth(2).wait_for(timeout=60_000)
    assert _panel(page).locator(".js-plotly-plot").count() >= 3  # ROC, confusion matrix, calibration
    with page.expect_download() as download:
        _panel(page).get_by_role("button", name="Download CSV").click()
    saved = tmp_path / "out.csv"
    download.value.save_as(saved)
    lines = saved.read_text().splitlines()
    assert lines[0].startswith("file,label,prediction,prob") and len(lines) == 9
    page.screenshot(path=str(ARTIFACTS / "classification-batch.png"), full_page=True)
