"""Screenshots of issue 20's papercuts 2, 3 and 4: ``.venv/bin/python docs/papercut_screenshots.py [2 3 4]``.

2: the survival form with age 250 (named, run blocked) and the earlier curve hidden;
3: pydicom's real 12-lead ECG segmented into beats and classified; 4: a zip of 3 CT slices plus
a text file and a truncated slice. Needs the shared data (for 4) and Debian's Chromium.
"""
import io
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from playwright.sync_api import sync_playwright  # noqa: E402
from PIL import Image  # noqa: E402

from core.paths import shared_data_dir  # noqa: E402
from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, instrument, next_frame, running_app, wait_until_idle  # noqa: E402

OUT = REPO / "docs" / "screenshots"
which = sys.argv[1:] or ["2", "3", "4"]


def mixed_zip(folder: Path) -> Path:
    """3 good CT slices, a text file and a truncated slice, zipped."""
    data = shared_data_dir() / "dicom"
    path = folder / "mixed.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for slice_path in sorted((data / "series" / "ct_chest_3slice_dcmqi").glob("*.dcm")):
            archive.write(slice_path, slice_path.name)
        archive.writestr("notes.txt", b"these are notes, not an image\n")
        archive.write(data / "malformed" / "truncated_60pct_ct_slice.dcm", "truncated.dcm")
    return path


def shrink(path: Path, width: int = 1000) -> None:
    image = Image.open(path).convert("RGB")
    image.resize((width, round(image.height * width / image.width)), Image.LANCZOS).quantize(colors=128).save(
        path, optimize=True)


def nav(page, url, name):
    page.goto(url); wait_until_idle(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_text(name).click(); wait_until_idle(page)

def panel(page):
    return page.locator('[data-testid="stTabPanel"]:visible')

with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp), Path(tmp) / "log.txt") as url:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
        instrument(ctx)
        page = ctx.new_page(); page.set_default_timeout(180_000)
        if "2" in which:
            nav(page, url, "Classification & prognosis")
            page.get_by_role("tab", name="Survival").click(); wait_until_idle(page)
            p = panel(page)
            p.get_by_role("button", name="Predict survival").click(); wait_until_idle(page)
            page.wait_for_selector("text=Risk group")
            age = p.get_by_role("spinbutton", name="Age (years)")
            age.fill("250"); age.press("Tab"); wait_until_idle(page)
            page.get_by_text("Inputs changed — run again").wait_for()
            page.get_by_text("out of range").first.wait_for()
            p.get_by_role("button", name="Predict survival").scroll_into_view_if_needed(); next_frame(page)
            page.screenshot(path=str(OUT / "papercut-2.png"))
            shrink(OUT / "papercut-2.png")
            print("wrote 2")
        if "3" in which:
            nav(page, url, "Classification & prognosis")
            page.get_by_role("tab", name="Heartbeat sequence").click(); wait_until_idle(page)
            p = panel(page)
            p.get_by_text("Real ECG recording").click(); wait_until_idle(page)
            page.get_by_text("beats", exact=False).first.wait_for()
            p.locator(".js-plotly-plot").first.wait_for()
            page.set_viewport_size({"width": 1300, "height": 1500})
            p.get_by_text("Lead", exact=True).first.scroll_into_view_if_needed(); next_frame(page)
            page.mouse.wheel(0, 500); next_frame(page); wait_until_idle(page)
            page.screenshot(path=str(OUT / "papercut-3.png"))
            page.set_viewport_size({"width": 1300, "height": 1000})
            shrink(OUT / "papercut-3.png")
            print("wrote 3")
        if "4" in which:
            nav(page, url, "Upload & preprocessing")
            page.locator('[data-testid="stFileUploader"] input[type=file]').first.set_input_files(str(mixed_zip(Path(tmp))))
            wait_until_idle(page)
            page.get_by_text("3 slices").first.wait_for()
            page.get_by_text("file(s) skipped").first.click(); wait_until_idle(page)
            page.set_viewport_size({"width": 1300, "height": 1300})
            page.get_by_text("file(s) skipped").first.scroll_into_view_if_needed(); next_frame(page)
            page.screenshot(path=str(OUT / "papercut-4.png"))
            shrink(OUT / "papercut-4.png")
            print("wrote 4")
        browser.close()
