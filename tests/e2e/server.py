"""Start ``streamlit run app.py`` on a free local port and wait for its health check.

Used by the browser-test fixture and by ``docs/screenshots.py``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator, Sequence

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("MEDLENS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(program: Sequence[str], env: dict[str, str], log_path: Path, port: int | None = None,
            timeout_s: float = 90, args: Sequence[str] = ()) -> Iterator[str]:
    """Run a Streamlit ``program`` (e.g. ``-m core.ui.serve``) on 127.0.0.1 with ``env``, logging to
    ``log_path``; yield its base URL once it answers its health check; stop it afterwards."""
    port = port or free_port()
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, *program, "--server.port", str(port),
             "--server.headless", "true", "--server.address", "127.0.0.1", *args],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"streamlit did not start; log:\n{log_path.read_text()[-3000:]}")
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(timeout=0.5)  # paces the health poll; returns at once when the server dies
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


@contextlib.contextmanager
def running_app(data_dir: Path, log_path: Path, timeout_s: float = 90, env: dict[str, str] | None = None,
                port: int | None = None, args: Sequence[str] = ()) -> Iterator[str]:
    """Serve the app with its own user data folder (``env`` added to the environment, ``args``
    to streamlit's options); yield its base URL; stop it afterwards."""
    env = {**os.environ, "MEDLENS_DATA_DIR": str(data_dir), **(env or {})}
    with serving(["-m", "core.ui.serve"], env, log_path, port, timeout_s, args) as url:
        yield url


# Streamlit marks its root with the script-run state ("running", "rerunRequested", "notRunning", ...)
# and the connection state. A click only reaches the server through the websocket, so right after it
# the page still says "notRunning": INSTRUMENT_JS (run in every page before Streamlit) records when the
# user last acted and when the run state last changed. Idle = connected, not running, no run owed to an
# input (the state changed after the last input, or the input started none within INPUT_GRACE_MS, e.g. a
# tab), for SETTLE_FRAMES rendered frames in a row (a component that reports its value after rendering
# starts a rerun within a frame or two).
SETTLE_FRAMES = 10
INPUT_GRACE_MS = 3000
INSTRUMENT_JS = """(() => {
    const m = window.__medlens = {lastInput: -1e12, lastRun: -1e12, calm: 0};
    for (const type of ['click', 'change', 'keydown', 'mouseup', 'pointerup', 'drop']) {
        document.addEventListener(type, () => { m.lastInput = performance.now(); }, true);
    }
    const watch = () => {
        const app = document.querySelector('[data-testid="stApp"]');
        if (!app) { requestAnimationFrame(watch); return; }
        new MutationObserver(() => { m.lastRun = performance.now(); })
            .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
    };
    watch();
})()"""
_IDLE_JS = """([frames, graceMs]) => {
    const m = window.__medlens || (window.__medlens = {lastInput: -1e12, lastRun: -1e12, calm: 0});
    const app = document.querySelector('[data-testid="stApp"]');
    const quiet = !!app && app.dataset.testScriptState === 'notRunning'
        && app.dataset.testConnectionState === 'CONNECTED'
        && !document.querySelector('[data-testid="stStatusWidget"]');
    const answered = m.lastRun >= m.lastInput || performance.now() - m.lastInput > graceMs;
    m.calm = quiet && answered ? m.calm + 1 : 0;
    return m.calm >= frames;
}"""


def instrument(context) -> None:
    """Install INSTRUMENT_JS in every page of a Playwright browser context (before ``new_page``)."""
    context.add_init_script(INSTRUMENT_JS)


def next_frame(page) -> None:
    """Return once the browser has rendered a frame: the input events sent before it were handled."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def wait_until_idle(page, timeout_ms: int = 120_000) -> None:
    """Wait until Streamlit has run the script: content in the main block, the app connected and
    not running (nor asked to rerun) for a few frames in a row."""
    page.wait_for_selector('[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]',
                           timeout=timeout_ms)
    page.evaluate("() => { if (window.__medlens) window.__medlens.calm = 0; }")
    page.wait_for_function(_IDLE_JS, arg=[SETTLE_FRAMES, INPUT_GRACE_MS], timeout=timeout_ms,
                           polling="raf")  # checked once per rendered frame


def download(page, name: str, *, exact: bool = False, tries: int = 3) -> bytes:
    """Click download button ``name`` once the app is idle and return the file. A click that lands
    while a fragment reruns can hit a button about to be replaced and start nothing (seen once in CI,
    right after "Run model"): as a user would, click again, at most ``tries`` times."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(1, tries + 1):
        wait_until_idle(page)
        try:
            with page.expect_download(timeout=30_000) as info:
                page.get_by_role("button", name=name, exact=exact).click()
            return open(info.value.path(), "rb").read()
        except PlaywrightTimeout:
            if attempt == tries:
                raise
    raise AssertionError("unreachable")
