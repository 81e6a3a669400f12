"""Regenerate the README screenshots: ``.venv/bin/python docs/screenshots.py``.

Serves the app, opens each page in Debian's Chromium, runs the page's demo action when it
has one (e.g. load an example), and saves a small PNG per page in docs/screenshots/.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402

from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, instrument, running_app, wait_until_idle  # noqa: E402
from tests.e2e.test_segmentation_e2e import demo_segmentation  # noqa: E402

OUT = Path(__file__).resolve().parent / "screenshots"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PAGES = {"home": "", "upload": "upload", "segmentation": "segmentation",
         "classification": "classification", "gan": "gan"}
WIDTH = 900  # px of the saved PNGs


def demo_upload(page) -> None:
    """Load the first bundled example on the upload page."""
    page.get_by_role("tab", name="Examples").click()
    page.get_by_role("button", name="Load example").click()
    wait_until_idle(page)


def demo_classification(page) -> None:
    """Classify the bundled paediatric chest X-ray with pneumonia-cxr (Grad-CAM shown)."""
    panel = page.get_by_role("tabpanel", name="Image classification")
    panel.get_by_test_id("stSelectbox").filter(has_text="Model").click()
    page.get_by_role("option", name="pneumonia-cxr — pneumonia").click()
    wait_until_idle(page)
    uploader = panel.get_by_test_id("stFileUploader").filter(has_text="Image (DICOM, PNG, JPEG)")
    uploader.locator("input[type=file]").set_input_files(str(EXAMPLES / "cxr_pediatric_pneumonia.jpeg"))
    page.get_by_text("Grad-CAM for 'pneumonia'").wait_for(timeout=180_000)
    wait_until_idle(page)


def wait_for_work(page) -> None:
    """Wait until no spinner or 'Running …' status is left on the page."""
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stSpinner"]')
                 && !document.body.innerText.includes('Running ')""",
        timeout=180_000,
    )
    wait_until_idle(page)


def demo_gan(page) -> None:
    """Generate the default 16 samples (both classes in turn) with pneumonia-cgan."""
    page.get_by_role("button", name="Generate").click()
    page.get_by_text("Under each sample").wait_for(timeout=180_000)
    wait_until_idle(page)


DEMOS = {"upload": demo_upload, "segmentation": demo_segmentation, "classification": demo_classification,
         "gan": demo_gan}


def shrink(path: Path) -> None:
    image = Image.open(path).convert("RGB")
    height = round(image.height * WIDTH / image.width)
    image.resize((WIDTH, height), Image.LANCZOS).quantize(colors=128).save(path, optimize=True)


def main() -> int:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp), Path(tmp) / "log.txt") as url:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            instrument(context)
            page = context.new_page()
            page.goto(url)  # the home page first, as a user would arrive
            wait_until_idle(page)
            for name, path in PAGES.items():
                page.goto(f"{url}/{path}")
                wait_until_idle(page)
                DEMOS.get(name, lambda p: None)(page)
                wait_for_work(page)
                target = OUT / f"{name}.png"
                page.screenshot(path=str(target))
                shrink(target)
                print(f"wrote {target} ({target.stat().st_size // 1024} KB)")
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
