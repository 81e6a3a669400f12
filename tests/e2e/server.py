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
from typing import Iterator

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
def running_app(data_dir: Path, log_path: Path, timeout_s: float = 90) -> Iterator[str]:
    """Serve the app with its own user data folder; yield its base URL; stop it afterwards."""
    port = free_port()
    env = {**os.environ, "MEDLENS_DATA_DIR": str(data_dir)}
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "core.ui.serve", "--server.port", str(port),
             "--server.headless", "true", "--server.address", "127.0.0.1"],
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
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def wait_until_idle(page, timeout_ms: int = 120_000) -> None:
    """Wait until Streamlit has run the script: content in the main block, no 'running' widget."""
    page.wait_for_selector('[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]',
                           timeout=timeout_ms)
    for _ in range(2):  # a rerun can start right after the first one ends
        page.wait_for_function(
            """() => !document.querySelector('[data-testid="stStatusWidget"]')""", timeout=timeout_ms
        )
        page.wait_for_timeout(500)
