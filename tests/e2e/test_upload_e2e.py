"""Browser test of the Upload & preprocessing page: upload a real DICOM through the file
chooser, apply a window preset and an operation, drag a crop box on the viewer component (crop mode),
download."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, assert_no_exception, wait_until_idle
from tests.e2e.viewer_driver import ViewerDriver


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

    viewer = ViewerDriver(page)  # the viewer component in crop mode
    viewer.wait_rendered()
    assert viewer.attr("data-mode") == "crop" and viewer.attr("data-tool") == "box"
    ox, oy = viewer.canvas_origin()
    zoom, pan_x, pan_y = viewer.view()
    corners = [(round(ox + pan_x + x * zoom), round(oy + pan_y + y * zoom)) for x, y in ((32, 32), (96, 80))]
    height_box = page.get_by_role("spinbutton", name="height", exact=True)
    before = height_box.input_value()
    (ax, ay), (bx, by) = viewer.drag([corners[0], ((corners[0][0] + corners[1][0]) // 2, corners[0][1]), corners[1]])[::2]
    left, top = math.floor(ax + 0.5), math.floor(ay + 0.5)  # whole pixel edges, as the viewer rounds them
    width, height = math.floor(bx + 0.5) - left, math.floor(by + 0.5) - top
    assert abs(left - 32) <= 1 and abs(top - 32) <= 1 and abs(width - 64) <= 1 and abs(height - 48) <= 1
    viewer.wait(f"el.dataset.box === '{left},{top},{left + width},{top + height}'")
    expect(height_box).not_to_have_value(before, timeout=60_000)  # the app took the drawn box
    wait_until_idle(page)
    assert int(height_box.input_value()) == height
    assert int(page.get_by_role("spinbutton", name="width", exact=True).input_value()) == width
    assert int(page.get_by_role("spinbutton", name="top", exact=True).input_value()) == top
    assert int(page.get_by_role("spinbutton", name="left", exact=True).input_value()) == left
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
