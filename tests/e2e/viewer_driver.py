"""Drive the viewer component through its test contract only (``data-*`` attributes and mouse /
keyboard on its ``<canvas>``), for the browser tests and ``bench/bench_viewer.py``.

The reference rasteriser here is written independently of ``core.masks`` (vectorised numpy over
the whole image): a stroke takes the pixel centres within ``radius`` of its polyline.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from tests.e2e.server import REPO, free_port, serving

APP = REPO / "tests" / "e2e" / "apps" / "viewer_app.py"
_FIND = """() => {
  const inPage = document.querySelector('[data-testid="medlens-viewer"]');
  if (inPage) return inPage;
  for (const f of document.querySelectorAll('iframe')) {
    try { const el = f.contentDocument && f.contentDocument.querySelector('[data-testid="medlens-viewer"]');
          if (el) return el; } catch (e) {}
  }
  return null;
}"""


@contextlib.contextmanager
def viewer_app(path: str | Path, log_path: Path, brush: int = 12, timeout_s: float = 120) -> Iterator[str]:
    """Serve ``tests/e2e/apps/viewer_app.py`` on ``path``; yield its URL."""
    port = free_port()
    env = {**os.environ, "MEDLENS_VIEWER_FILE": str(path), "MEDLENS_VIEWER_BRUSH": str(brush),
           "MEDLENS_VIEWER_DOC": f"doc-{port}"}
    with serving(["-m", "streamlit", "run", str(APP)], env, log_path, port, timeout_s) as url:
        yield url


def q(v: float) -> float:
    """The browser's rounding of image coordinates: ``Math.round(v * 64) / 64``."""
    return math.floor(v * 64 + 0.5) / 64


def reference_stroke(points: list[tuple[float, float]], radius: float, hw: tuple[int, int]) -> np.ndarray:
    """Pixel centres within ``radius`` of the polyline (independent of core.masks)."""
    ys, xs = np.mgrid[0:hw[0], 0:hw[1]]
    cx, cy = xs + 0.5, ys + 0.5
    out = np.zeros(hw, bool)
    segments = list(zip(points[:-1], points[1:])) or [(points[0], points[0])]
    for (ax, ay), (bx, by) in segments:
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        px, py = cx - ax, cy - ay
        t = np.clip((px * dx + py * dy) / length2, 0, 1) if length2 else 0.0
        out |= (px - t * dx) ** 2 + (py - t * dy) ** 2 <= radius * radius + 1e-9
    return out


def sha(mask: np.ndarray) -> str:
    return hashlib.sha256(np.asarray(mask, bool).astype(np.uint8).tobytes()).hexdigest()


class ViewerDriver:
    """The viewer on a Playwright page, found in the page or in its component iframe."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def attr(self, name: str) -> str | None:
        return self.page.evaluate(f"() => {{ const el = ({_FIND})(); return el && el.getAttribute({json.dumps(name)}); }}")

    def wait(self, condition_js: str, timeout_ms: int = 60_000) -> None:
        """Wait until ``condition_js`` (an expression over ``el``, the viewer root) is true."""
        self.page.wait_for_function(f"() => {{ const el = ({_FIND})(); return !!el && ({condition_js}); }}",
                                    timeout=timeout_ms)

    def wait_rendered(self, timeout_ms: int = 120_000) -> None:
        self.wait("el.dataset.renderedSlice === el.dataset.slice", timeout_ms)

    def wait_saved(self, timeout_ms: int = 60_000) -> None:
        self.wait("el.dataset.pending === '0' && el.dataset.editsAcked === el.dataset.editsSent"
                  " && el.dataset.synced === '1'", timeout_ms)

    def expect_mask(self, expected: np.ndarray, timeout_ms: int = 60_000) -> None:
        """Wait until Python has stored every edit and both the stored mask (``data-mask-sha``) and
        the one on the screen (``data-screen-sha``) equal ``expected``; fail with what is shown."""
        want = sha(expected)
        try:
            self.wait_saved(timeout_ms)
            self.wait(f"el.dataset.maskSha === '{want}' && el.dataset.screenSha === '{want}'", timeout_ms)
        except Exception:
            shown = {n: self.attr(n) for n in ("data-mask-sha", "data-screen-sha", "data-edits-sent", "data-edits-acked",
                                               "data-pending", "data-synced", "data-label", "data-view")}
            raise AssertionError(f"expected mask {want} ({int(expected.sum())} px); the viewer shows {shown}") from None

    def canvas_origin(self) -> tuple[float, float]:
        """Page (viewport) coordinates of the canvas's top-left corner; the viewer is scrolled into
        view first when it is not wholly visible (mouse events only reach what is on screen)."""
        return tuple(self.page.evaluate(f"""() => {{
            const el = ({_FIND})(), c = el.querySelector('canvas');
            const frame = el.ownerDocument === document ? null
              : [...document.querySelectorAll('iframe')].find(f => f.contentDocument === el.ownerDocument);
            const outer = frame || el, box = outer.getBoundingClientRect();
            if (box.top < 0 || box.bottom > window.innerHeight) outer.scrollIntoView({{block: 'center'}});
            const r = c.getBoundingClientRect();
            let x = r.left, y = r.top;
            if (frame) {{ const fr = frame.getBoundingClientRect(); x += fr.left + frame.clientLeft; y += fr.top + frame.clientTop; }}
            return [x, y];
        }}"""))

    def canvas_size(self) -> tuple[float, float]:
        return tuple(self.page.evaluate(f"() => {{ const r = ({_FIND})().querySelector('canvas').getBoundingClientRect(); return [r.width, r.height]; }}"))

    def view(self) -> tuple[float, float, float]:
        return tuple(json.loads(self.attr("data-view")))

    def to_image(self, page_x: float, page_y: float) -> tuple[float, float]:
        """Image coordinates the viewer gives a pointer event at these page coordinates."""
        ox, oy = self.canvas_origin()
        zoom, pan_x, pan_y = self.view()
        return q((page_x - ox - pan_x) / zoom), q((page_y - oy - pan_y) / zoom)

    def select_label(self, name: str) -> None:
        """Pick the label being edited in the viewer's own label menu."""
        self.page.evaluate(f"""(name) => {{
            const sel = ({_FIND})().querySelector('select');
            sel.value = name; sel.dispatchEvent(new Event('change'));
        }}""", name)
        self.wait(f"el.dataset.label === {json.dumps(name)}")

    def focus(self) -> None:
        ox, oy = self.canvas_origin()
        w, h = self.canvas_size()
        self.page.mouse.move(round(ox + w / 2), round(oy + h / 2))

    def key(self, key: str) -> None:
        """Press a key with the viewer focused (a click on a page button takes the focus away)."""
        self.page.evaluate(f"() => ({_FIND})().focus()")
        self.page.keyboard.press(key)

    def drag(self, page_points: list[tuple[int, int]]) -> list[tuple[float, float]]:
        """Press at the first point, move through the others, release; returns the image points."""
        image_points = [self.to_image(x, y) for x, y in page_points]
        self.page.mouse.move(*page_points[0])
        self.page.mouse.down()
        for x, y in page_points[1:]:
            self.page.mouse.move(x, y)
        self.page.mouse.up()
        return image_points
