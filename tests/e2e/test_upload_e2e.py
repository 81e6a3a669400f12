"""Browser test of the Upload & preprocessing page: upload a real DICOM through the file
chooser, apply a window preset and an operation, drag a crop box on the canvas, download."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, assert_no_exception, next_frame, wait_until_idle


def _dismiss_dialog(page) -> None:
    if page.get_by_text("Page not found").count():
        page.keyboard.press("Escape")
        page.get_by_text("Page not found").first.wait_for(state="hidden")


def _select(page, label: str, option: str) -> None:
    """Pick ``option`` in the Streamlit select box labelled ``label``."""
    combo = page.get_by_role("combobox", name=label)
    combo.click()
    combo.fill(option)  # filter: long option lists are virtualised
    page.get_by_role("option", name=option, exact=True).click()
    wait_until_idle(page)


def test_upload_preset_operation_crop_and_download(page, app_url: str, shared_data: Path) -> None:
    source = shared_data / "dicom" / "ct" / "CT_small.dcm"
    page.goto(f"{app_url}/upload")
    wait_until_idle(page)
    _dismiss_dialog(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(source))
    wait_until_idle(page)
    page.get_by_text("CT_small.dcm").first.wait_for(timeout=30_000)
    assert_no_exception(page)

    _select(page, "Window preset", "CT lung")
    page.get_by_text("-600.00").first.wait_for(timeout=30_000)  # the center slider moved to the lung preset

    _select(page, "Add an operation", "Denoise: median")
    page.get_by_role("button", name="Add", exact=True).click()
    wait_until_idle(page)
    page.get_by_text("1. Denoise: median").wait_for(timeout=30_000)

    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for(state="visible", timeout=30_000)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25
    x1, y1 = box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.625
    height_box = page.get_by_role("spinbutton", name="height", exact=True)
    before = height_box.input_value()
    page.mouse.move(x0, y0)
    next_frame(page)
    page.mouse.down()
    next_frame(page)
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=5)
    next_frame(page)
    page.mouse.move(x1, y1, steps=5)
    next_frame(page)
    page.mouse.up()
    expect(height_box).not_to_have_value(before, timeout=60_000)  # the app took the drawn box
    wait_until_idle(page)
    height = int(height_box.input_value())
    width = int(page.get_by_role("spinbutton", name="width", exact=True).input_value())
    assert 55 <= width <= 73 and 40 <= height <= 56, (height, width)  # the drawn box, in image pixels
    page.get_by_role("button", name="Add crop step").click()
    wait_until_idle(page)
    page.get_by_text("2. Crop (box)").wait_for(timeout=30_000)
    page.get_by_text(f"{height}x{width}").first.wait_for(timeout=30_000)  # the After caption shows the cropped size
    assert_no_exception(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "upload-after-crop.png"), full_page=True)

    page.get_by_role("tab", name="Export").click()
    page.get_by_role("button", name="PNG").wait_for(state="visible")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="PNG").click()
    png = Image.open(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    assert png.size == (width, height)
    assert np.asarray(png).std() > 0
    page.get_by_role("button", name="Use as working image").click()
    wait_until_idle(page)
    page.get_by_text("Working image set").wait_for(timeout=60_000)
    assert_no_exception(page)
