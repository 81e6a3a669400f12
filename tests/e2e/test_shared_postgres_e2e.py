"""Two MedLens servers (two ports, as behind a sticky load balancer) on one PostgreSQL database:
an account made once by the command line signs in on both, and failed sign-ins counted by one
server throttle the other (the counters are in the database, not in a process)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.auth import ratelimit
from core.db.connect import normalise_url
from tests.e2e.conftest import ARTIFACTS, wait_until_idle
from tests.e2e.server import REPO, instrument, running_app
from tests.postgres import create_database

PASSWORD = "ann-shared-secret"


@pytest.fixture(scope="module")
def two_servers(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    name = f"medlens_two_{os.getpid()}"
    create_database(pg_admin_url, name)
    db_url = make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    env = {**os.environ, "MEDLENS_DB_URL": db_url}
    for user in ("ann", "rita"):
        done = subprocess.run([sys.executable, "-m", "core", "users", "add", user, "--role", "annotator",
                               "--password-stdin"], input=PASSWORD + "\n", capture_output=True, text=True,
                              cwd=REPO, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
    server_env = {"MEDLENS_AUTH": "accounts", "MEDLENS_DB_URL": db_url}
    logs = tmp_path_factory.mktemp("two-servers")
    with running_app(tmp_path_factory.mktemp("a-data"), logs / "a.log", env=server_env) as first, \
         running_app(tmp_path_factory.mktemp("b-data"), logs / "b.log", env=server_env) as second:
        yield first, second, db_url


def _failures(db_url: str, subject: str) -> int:
    engine = create_engine(normalise_url(db_url))
    with engine.connect() as connection:
        count = connection.execute(text("SELECT COUNT(*) FROM sign_in_failures WHERE subject = :s"),
                                   {"s": subject}).scalar_one()
    engine.dispose()
    return int(count)


def _submit(page, name: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Username", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def _wait_for(condition, timeout_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout_s
    while not condition():
        assert time.time() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_two_servers_share_accounts_and_throttling(browser, two_servers) -> None:  # type: ignore[no-untyped-def]
    first, second, db_url = two_servers
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    instrument(context)
    page_a, page_b = context.new_page(), context.new_page()
    for page in (page_a, page_b):
        page.set_default_timeout(60_000)
    try:
        # the account made once signs in on both servers
        for page, url in ((page_a, first), (page_b, second)):
            page.goto(url)
            wait_until_idle(page)
            _submit(page, "rita", PASSWORD)
            page.get_by_test_id("stSidebar").get_by_text("Signed in as").wait_for(state="visible")
            assert "Signed in as rita · annotator" in page.get_by_test_id("stSidebar").inner_text()
            page.get_by_role("button", name="Sign out").click()
            page.get_by_label("Username", exact=True).wait_for(state="visible")

        # failures on server A ...
        for attempt in range(1, ratelimit.FREE_FAILURES + 1):
            _submit(page_a, "ann", f"wrong password {attempt}")
            _wait_for(lambda: _failures(db_url, "user:ann") == attempt)
        page_a.get_by_text("Wrong user name or password.").wait_for(state="visible")
        # ... refuse even the right password on server B
        _submit(page_b, "ann", PASSWORD)
        page_b.get_by_text("Too many failed sign-ins").wait_for(state="visible")
        assert page_b.get_by_text("Signed in as").count() == 0
        ARTIFACTS.mkdir(exist_ok=True)
        page_b.screenshot(path=str(ARTIFACTS / "two-servers-throttled.png"))
    finally:
        context.close()
