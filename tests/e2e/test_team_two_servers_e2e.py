"""Two MedLens servers on two ports (as behind a sticky load balancer) editing one labeling session
on one PostgreSQL database, in Chromium: annotator ann on server 1 and annotator ben on server 2,
both assigned to the same image, each paint a stroke with the viewer; once each page's edits are
acknowledged, both pages reload and show both strokes: the stored mask (``data-mask-sha``) and the
screen (``data-screen-sha``) equal the mask this test computes from the two strokes, and so does
the mask in the database. Screenshots: docs/screenshots/team-two-servers-{a,b}.png.

Needs PostgreSQL (``tests/postgres.py``); without it the test skips with the reason, and under
``CI=true`` that skip is a failure (``tests.conftest.skip_for_system``)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Iterator

import numpy as np
import pytest
from sqlalchemy.engine import make_url

from core.db import make_engine, migrate
from core.examples import list_examples, load_example
from core.labeling import LabelingStore
from tests.e2e.conftest import ARTIFACTS, assert_no_exception, wait_until_idle
from tests.e2e.server import REPO, instrument, running_app
from tests.e2e.test_segmentation_e2e import BRUSH, EXAMPLE, HW
from tests.e2e.viewer_driver import ViewerDriver, reference_stroke, sha
from tests.postgres import create_database

PASSWORDS = {"lead": "lead-secret-0", "ann": "ann-secret-1", "ben": "ben-secret-2"}
ROLES = {"lead": "admin", "ann": "annotator", "ben": "annotator"}
SESSION = "Team session"
SCREENSHOTS = REPO / "docs" / "screenshots"


@pytest.fixture(scope="module")
def team_servers(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str, int]]:
    """Two servers on one fresh PostgreSQL database, three accounts made by the command line, and
    a session owned by lead whose one image (the example chest X-ray) is assigned to ann and ben."""
    name = f"medlens_team_{os.getpid()}"
    create_database(pg_admin_url, name)
    db_url = make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    env = {**os.environ, "MEDLENS_DB_URL": db_url}
    for user, role in ROLES.items():
        done = subprocess.run([sys.executable, "-m", "core", "users", "add", user, "--role", role,
                               "--password-stdin"], input=PASSWORDS[user] + "\n", capture_output=True, text=True,
                              cwd=REPO, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
    engine = make_engine(db_url)
    migrate(engine)
    store = LabelingStore(engine)
    session = store.create_session(SESSION, ["lung", "opacity"], owner="lead")
    example = next(e for e in list_examples("segmentation") if e.name == EXAMPLE)
    image_id = store.add_image(session.id, load_example(example), example.file, user="lead")
    store.assign(image_id, ["ann", "ben"], by="lead")
    engine.dispose()
    server_env = {"MEDLENS_AUTH": "accounts", "MEDLENS_DB_URL": db_url}
    logs = tmp_path_factory.mktemp("team-servers")
    try:
        with running_app(tmp_path_factory.mktemp("one-data"), logs / "one.log", env=server_env) as first, \
             running_app(tmp_path_factory.mktemp("two-data"), logs / "two.log", env=server_env) as second:
            yield first, second, db_url, image_id
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        for log in ("one.log", "two.log"):
            if (logs / log).exists():
                (ARTIFACTS / f"streamlit-team-{log}").write_text((logs / log).read_text())


def _sign_in(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Username", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORDS[name])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("stSidebar").get_by_text("Signed in as").wait_for(state="visible")
    page.locator("h1", has_text="Segmentation").wait_for(state="visible")
    wait_until_idle(page)


def _open_session(page) -> None:  # type: ignore[no-untyped-def]
    """Pick the session (assigned, not owned: nothing is auto-joined) in the sidebar picker."""
    page.get_by_test_id("stSidebar").locator('[data-testid="stSelectbox"]').filter(
        has_text="Labeling session").click()
    page.get_by_role("option", name=f"{SESSION} (1 images)").click()
    wait_until_idle(page)


def _paint(viewer: ViewerDriver, dy: int) -> np.ndarray:
    """A horizontal brush stroke ``dy`` page pixels below the canvas centre; its reference mask."""
    ox, oy = (round(v) for v in viewer.canvas_origin())
    w, h = viewer.canvas_size()
    cx, cy = round(ox + w / 2), round(oy + h / 2)
    stroke = viewer.drag([(cx - 90 + 9 * i, cy + dy) for i in range(21)])
    return reference_stroke(stroke, BRUSH / 2, HW)


def test_two_servers_two_annotators_one_image(browser, team_servers) -> None:  # type: ignore[no-untyped-def]
    first, second, db_url, image_id = team_servers
    contexts = [browser.new_context(viewport={"width": 1400, "height": 900}) for _ in range(2)]
    pages = []
    for context in contexts:
        instrument(context)
        page = context.new_page()
        page.set_default_timeout(90_000)
        pages.append(page)
    page_a, page_b = pages
    try:
        for page, url, user in ((page_a, first, "ann"), (page_b, second, "ben")):
            page.goto(f"{url}/segmentation")
            wait_until_idle(page)
            _sign_in(page, user)
            _open_session(page)
            ViewerDriver(page).wait_rendered()
            assert_no_exception(page)
        viewer_a, viewer_b = ViewerDriver(page_a), ViewerDriver(page_b)

        viewer_a.select_label("opacity")
        stroke_a = _paint(viewer_a, -70)  # ann, on server 1
        viewer_a.expect_mask(stroke_a)  # acknowledged; ben has drawn nothing yet
        assert viewer_a.attr("data-edits-acked") == viewer_a.attr("data-edits-sent") != "0"
        viewer_b.select_label("opacity")
        stroke_b = _paint(viewer_b, 70)  # ben, on server 2, whose page opened before ann's stroke
        both = stroke_a | stroke_b
        assert stroke_a.any() and stroke_b.any() and not (stroke_a & stroke_b).any()
        viewer_b.wait_saved()
        assert viewer_b.attr("data-edits-acked") == viewer_b.attr("data-edits-sent") != "0"
        viewer_b.wait(f"el.dataset.maskSha === '{sha(both)}'")  # the store merged the two strokes

        engine = make_engine(db_url)
        store = LabelingStore(engine)
        stored = store.load_masks(image_id, ["opacity"])["opacity"][0]
        authors = sorted(set(store.edit_ids(image_id).values()))
        engine.dispose()
        assert np.array_equal(stored, both) and authors == ["ann", "ben"]

        for page, user in ((page_a, "ann"), (page_b, "ben")):  # a reload: sign in again, resume there
            page.reload()
            wait_until_idle(page)
            _sign_in(page, user)
            viewer = ViewerDriver(page)
            viewer.wait_rendered()
            viewer.select_label("opacity")
            viewer.expect_mask(both)  # stored and on screen: both strokes, on both servers
            wait_until_idle(page)
            assert_no_exception(page)
        SCREENSHOTS.mkdir(exist_ok=True)
        for page, side in ((page_a, "a"), (page_b, "b")):
            page.screenshot(path=str(SCREENSHOTS / f"team-two-servers-{side}.png"))
    finally:
        for context in contexts:
            context.close()
