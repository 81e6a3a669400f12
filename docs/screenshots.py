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

from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, running_app, wait_until_idle  # noqa: E402
from tests.e2e.test_segmentation_e2e import demo_segmentation  # noqa: E402

OUT = Path(__file__).resolve().parent / "screenshots"
PAGES = {"home": "", "upload": "upload", "segmentation": "segmentation",
         "classification": "classification", "gan": "gan"}
WIDTH = 900  # px of the saved PNGs


def demo_upload(page) -> None:
    """Load the first bundled example on the upload page."""
    page.get_by_role("tab", name="Examples").click()
    page.get_by_role("button", name="Load example").click()
    wait_until_idle(page)


DEMOS = {"upload": demo_upload, "segmentation": demo_segmentation}


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
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)  # the home page first, as a user would arrive
            wait_until_idle(page)
            for name, path in PAGES.items():
                page.goto(f"{url}/{path}")
                wait_until_idle(page)
                DEMOS.get(name, lambda p: None)(page)
                target = OUT / f"{name}.png"
                page.screenshot(path=str(target))
                shrink(target)
                print(f"wrote {target} ({target.stat().st_size // 1024} KB)")
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
