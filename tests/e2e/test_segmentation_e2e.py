"""Segmentation page in Chromium: open an example, segment the lungs, paint a brush and an
eraser stroke (on the opacity label) with mouse events, undo once, reload, find the edits still
there, download the zip and check that the painted pixels lie where the mouse went."""

from __future__ import annotations

import io
import json
import re
import zipfile

import numpy as np
from PIL import Image

from tests.e2e.conftest import ARTIFACTS, assert_no_exception, next_frame, wait_until_idle

EXAMPLE = "Chest X-ray (PNG, adult PA)"  # cxr_pneumocystis.png, 512x408
IMAGE_W = 512
CANVAS_W = 540  # core.ui.segmentation.mask_editor.CANVAS_MAX


def _pixels(page, label: str = "lung") -> int:
    """The pixel count of ``label`` on this slice, as the page shows it under the measurements."""
    caption = page.get_by_text(re.compile(rf"{label}: \d+ px")).first
    caption.wait_for()
    return int(re.search(rf"{label}: (\d+) px", caption.inner_text()).group(1))


_CHANGED_JS = """([label, before]) => {
    const m = document.body.innerText.match(new RegExp(label + ': ([0-9]+) px'));
    return !!m && Number(m[1]) !== before;
}"""


def _wait_for_change(page, before: int, label: str, timeout_ms: int = 60_000) -> int:
    """Pixel count of ``label`` once the page shows one that differs from ``before`` (the edit is applied)."""
    page.wait_for_function(_CHANGED_JS, arg=[label, before], timeout=timeout_ms)
    wait_until_idle(page)
    return _pixels(page, label)


def _stroke(page, points: list[tuple[float, float]]) -> None:
    """Drag the mouse through canvas-pixel ``points`` on the drawing canvas, so that no point is lost
    on a busy machine: the page is idle first, and every event is handled (a frame rendered after it)
    before the next one is sent. A fast stroke on a loaded machine used to lose its first points."""
    wait_until_idle(page)
    canvas = page.locator(".dc-container").first
    canvas.scroll_into_view_if_needed()
    next_frame(page)
    box = canvas.bounding_box()
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + points[0][0], y0 + points[0][1])
    next_frame(page)
    page.mouse.down()
    next_frame(page)  # the canvas has started the path at the first point
    for x, y in points[1:]:
        page.mouse.move(x0 + x, y0 + y, steps=4)
        next_frame(page)
    page.mouse.up()


def _open_segmentation(page, app_url: str) -> None:
    page.goto(app_url)
    wait_until_idle(page)
    page.goto(f"{app_url}/segmentation")
    wait_until_idle(page)


def open_example(page, name: str = EXAMPLE) -> None:
    """On the Segmentation page: open a bundled example image (also used by docs/screenshots.py)."""
    page.get_by_role("tab", name="Example").click()
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Example image").click()
    page.get_by_role("option", name=name).click()
    wait_until_idle(page)
    page.get_by_role("button", name="Open example").click()
    wait_until_idle(page)
    page.locator(".dc-container").first.wait_for()


def demo_segmentation(page) -> None:
    """README screenshot demo: open the example chest X-ray and segment the lungs."""
    open_example(page)
    segment = page.get_by_role("button", name=re.compile("Segment"))
    if segment.count():
        segment.click()
        wait_until_idle(page)


def test_segment_edit_undo_reload_download(page, app_url: str) -> None:
    _open_segmentation(page, app_url)
    open_example(page)
    assert_no_exception(page)

    segment = page.get_by_role("button", name=re.compile("Segment"))
    assert segment.count() == 1, "no segmentation model registered: the page offers no Segment button"
    segment.click()
    wait_until_idle(page)
    lungs = _pixels(page, "lung")
    assert lungs > 0.1 * 512 * 408, f"the lung model found only {lungs} px"
    page.screenshot(path=str(ARTIFACTS / "segmentation-after-segment.png"), full_page=True)

    # paint on the (empty) opacity label, so the expected pixels do not depend on the model
    page.get_by_role("radiogroup", name="Label being edited").get_by_text("opacity", exact=True).click()
    wait_until_idle(page)
    # brush (12 px) along canvas row 40 from x=60 to x=260
    _stroke(page, [(60 + 10 * i, 40) for i in range(21)])
    brushed = _wait_for_change(page, 0, "opacity")
    assert brushed > 100 * 12, brushed

    page.get_by_role("radiogroup", name="Tool").get_by_text("Eraser", exact=True).click()
    wait_until_idle(page)
    _stroke(page, [(150, 20), (150, 40), (150, 60)])  # across the brush stroke
    erased = _wait_for_change(page, brushed, "opacity")
    assert 0 < erased < brushed, (brushed, erased)

    page.get_by_role("button", name="Undo edit").click()
    undone = _wait_for_change(page, erased, "opacity")
    assert undone == brushed, "undo should remove the eraser stroke only"
    assert _pixels(page, "lung") == lungs
    page.screenshot(path=str(ARTIFACTS / "segmentation-after-edits.png"), full_page=True)

    page.reload()
    wait_until_idle(page)
    page.locator(".dc-container").first.wait_for()
    assert _pixels(page, "opacity") == brushed, "the edits did not survive a reload"
    assert _pixels(page, "lung") == lungs
    assert page.get_by_text(re.compile(r"2 edit\(s\) applied")).count() == 1  # segment + brush
    assert_no_exception(page)

    page.get_by_role("button", name="Prepare zip").click()
    wait_until_idle(page)
    with page.expect_download() as info:
        page.get_by_role("button", name=re.compile(r"Download .*\.zip")).click()
    data = open(info.value.path(), "rb").read()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        folder = manifest["images"][0]["folder"]
        masks = {label: np.asarray(Image.open(io.BytesIO(zf.read(f"{folder}/masks/{label}.png")))) > 0
                 for label in ("lung", "opacity")}
        coco = json.loads(zf.read("annotations.coco.json"))
    assert f"{folder}/labelmap.nii.gz" in names
    assert int(masks["lung"].sum()) == lungs and int(masks["opacity"].sum()) == brushed
    assert [c["name"] for c in coco["categories"]][:2] == ["lung", "opacity"]
    # the stroke lies where it was drawn: canvas row 40 -> image row 40 / s, +-6 px brush radius
    s = CANVAS_W / IMAGE_W
    rows, cols = np.nonzero(masks["opacity"])
    assert abs(40 / s - (rows.min() + rows.max() + 1) / 2) <= 1.0, (rows.min(), rows.max())
    assert rows.max() - rows.min() + 1 <= 14
    assert abs(cols.min() - (60 / s - 6)) <= 2 and abs(cols.max() + 1 - (260 / s + 6)) <= 2, (cols.min(), cols.max())
