"""Segmentation page in Chromium with the viewer component: open an example, segment the lungs,
paint a brush and an eraser stroke on the opacity label, undo once, reload, and download the zip.
After each step the mask Python stored for the label shown (``data-mask-sha``) equals the mask
computed here from the test's own strokes, and the downloads equal the screen."""

from __future__ import annotations

import io
import json
import re
import zipfile

import numpy as np
import pytest
from PIL import Image

from tests.e2e.conftest import ARTIFACTS, assert_no_exception, wait_until_idle
from tests.e2e.server import download, instrument
from tests.e2e.viewer_driver import ViewerDriver, reference_stroke, sha

EXAMPLE = "Chest X-ray (PNG, adult PA)"  # cxr_pneumocystis.png, 512x408
HW = (408, 512)
BRUSH = 12  # the viewer's default brush diameter, image pixels


def _pixels(page, label: str = "lung") -> int:
    """The pixel count of ``label`` on this slice, as the page shows it under the measurements."""
    caption = page.get_by_text(re.compile(rf"{label}: \d+ px")).first
    caption.wait_for()
    return int(re.search(rf"{label}: (\d+) px", caption.inner_text()).group(1))


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
    ViewerDriver(page).wait_rendered()


def demo_segmentation(page) -> None:
    """README screenshot demo: open the example chest X-ray and segment the lungs."""
    open_example(page)
    segment = page.get_by_role("button", name=re.compile("Segment"))
    if segment.count():
        segment.click()
        wait_until_idle(page)


def _settled(viewer: ViewerDriver, page, expected: np.ndarray) -> None:
    viewer.expect_mask(expected)
    wait_until_idle(page)


def test_segment_edit_undo_reload_download(page, app_url: str) -> None:
    _open_segmentation(page, app_url)
    open_example(page)
    assert_no_exception(page)
    viewer = ViewerDriver(page)

    segment = page.get_by_role("button", name=re.compile("Segment"))
    assert segment.count() == 1, "no segmentation model registered: the page offers no Segment button"
    segment.click()
    wait_until_idle(page)
    lungs = _pixels(page, "lung")
    assert lungs > 0.1 * 512 * 408, f"the lung model found only {lungs} px"
    viewer.wait("el.dataset.label === 'lung'")  # the model's label is shown
    page.get_by_text("Single files").click()
    model_png = np.asarray(Image.open(io.BytesIO(download(page, "PNG (label shown)")))) > 0
    assert int(model_png.sum()) == lungs
    viewer.wait(f"el.dataset.maskSha === '{sha(model_png)}'")  # model run: export == screen
    page.screenshot(path=str(ARTIFACTS / "segmentation-after-segment.png"), full_page=True)

    # paint on the (empty) opacity label, so the expected pixels do not depend on the model
    viewer.select_label("opacity")
    ox, oy = (round(v) for v in viewer.canvas_origin())
    w, h = viewer.canvas_size()
    cx, cy = round(ox + w / 2), round(oy + h / 2)
    stroke = viewer.drag([(cx - 100 + 10 * i, cy - 60) for i in range(21)])
    brushed = reference_stroke(stroke, BRUSH / 2, HW)
    _settled(viewer, page, brushed)
    assert _pixels(page, "opacity") == int(brushed.sum())

    viewer.key("e")
    erase = viewer.drag([(cx, cy - 90), (cx, cy - 60), (cx, cy - 30)])
    erased = brushed & ~reference_stroke(erase, BRUSH / 2, HW)
    assert 0 < erased.sum() < brushed.sum()
    _settled(viewer, page, erased)

    viewer.key("Control+z")
    _settled(viewer, page, brushed)
    assert _pixels(page, "opacity") == int(brushed.sum()) and _pixels(page, "lung") == lungs
    page.screenshot(path=str(ARTIFACTS / "segmentation-after-edits.png"), full_page=True)

    page.reload()
    wait_until_idle(page)
    viewer.wait_rendered()
    viewer.select_label("opacity")
    _settled(viewer, page, brushed)
    assert _pixels(page, "opacity") == int(brushed.sum()), "the edits did not survive a reload"
    assert _pixels(page, "lung") == lungs
    assert_no_exception(page)

    data = download(page, "Download zip")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        folder = manifest["images"][0]["folder"]
        masks = {label: np.asarray(Image.open(io.BytesIO(zf.read(f"{folder}/masks/{label}.png")))) > 0
                 for label in ("lung", "opacity")}
        coco = json.loads(zf.read("annotations.coco.json"))
    assert f"{folder}/labelmap.nii.gz" in names
    assert np.array_equal(masks["lung"], model_png) and np.array_equal(masks["opacity"], brushed)
    assert [c["name"] for c in coco["categories"]][:2] == ["lung", "opacity"]


@pytest.mark.parametrize("width,height", [(1280, 800), (1920, 1080)])
def test_viewer_toolbar_fits_its_column(browser, app_url: str, width: int, height: int) -> None:
    """Every toolbar button is wholly inside the viewer (the toolbar wraps in a narrow column) and
    the iframe is tall enough for toolbar + canvas + status line; screenshots kept."""
    context = browser.new_context(viewport={"width": width, "height": height})
    instrument(context)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        _open_segmentation(page, app_url)
        viewer = ViewerDriver(page)
        if page.get_by_role("tab", name="Example").is_visible():
            open_example(page)
        else:  # an earlier test left an image open in this server's session: the page resumes it
            viewer.wait_rendered()
        viewer.wait("el.querySelectorAll('button').length > 0")
        frame = next(f for f in page.frames if "medlens_viewer" in f.url)
        frame.wait_for_function("() => document.body.scrollHeight <= window.innerHeight + 1")  # the iframe grew
        layout = frame.evaluate("""() => {
            const root = document.querySelector('[data-testid="medlens-viewer"]');
            const bar = root.firstElementChild, box = bar.getBoundingClientRect();
            const items = [...bar.children].map((b) => { const r = b.getBoundingClientRect();
              return {text: b.textContent.slice(0, 20), left: r.left, right: r.right, top: r.top, bottom: r.bottom}; });
            return {width: root.clientWidth, bar: [box.left, box.right, box.top, box.bottom], items,
                    scroll: document.body.scrollHeight, inner: window.innerHeight};
        }""")
        left, right, top, bottom = layout["bar"]
        cut = [i["text"] for i in layout["items"] if i["left"] < left - 0.5 or i["right"] > right + 0.5
               or i["top"] < top - 0.5 or i["bottom"] > bottom + 0.5]
        assert not cut, f"toolbar items cut at {width}x{height}: {cut} ({layout})"
        assert any(i["text"] == "Area" for i in layout["items"])
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"segmentation-toolbar-{width}x{height}.png"))
    finally:
        context.close()
