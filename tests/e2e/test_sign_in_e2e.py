"""Multi-user mode in Chromium against a live server (MEDLENS_AUTH=accounts, accounts made by the
command line): an anonymous browser sees only the sign-in form on every page URL, a wrong
password opens nothing and says so, the right one opens the app with the user's name and role
in the sidebar, and signing out returns to the form."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Iterator

import pytest

from tests.e2e.conftest import ARTIFACTS, assert_no_exception, wait_until_idle
from tests.e2e.server import REPO, running_app

PAGES = {"home": "", "upload": "upload", "segmentation": "segmentation", "classification": "classification",
         "gan": "gan"}
# what each page shows once signed in (its h1), and so must never show before
TITLES = {"upload": "Upload", "segmentation": "Segmentation", "classification": "Classification", "gan": "GAN"}
ACCOUNTS = {"ann": ("annotator", "ann-secret-1"), "rita": ("reviewer", "rita-secret-2")}


def _add_account(env: dict[str, str], name: str, role: str, password: str) -> None:
    done = subprocess.run([sys.executable, "-m", "core", "users", "add", name, "--role", role, "--password-stdin"],
                          input=password + "\n", capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def auth_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server in accounts mode with two accounts made by ``python -m core users add``."""
    data = tmp_path_factory.mktemp("auth-data")
    env = {k: v for k, v in os.environ.items() if k != "MEDLENS_DB_URL"}
    env.update(MEDLENS_DATA_DIR=str(data), MEDLENS_AUTH="accounts")
    for name, (role, password) in ACCOUNTS.items():
        _add_account(env, name, role, password)
    log_path = tmp_path_factory.mktemp("auth-server") / "streamlit.log"
    with running_app(data, log_path, env={"MEDLENS_AUTH": "accounts", "MEDLENS_DB_URL": ""}) as url:
        yield url
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "streamlit-auth.log").write_text(log_path.read_text())


def _assert_only_the_form(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Username", exact=True).wait_for(state="visible")
    assert page.get_by_label("Password", exact=True).is_visible()
    assert page.get_by_role("button", name="Sign in").is_visible()
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0  # no page list
    assert page.get_by_text("Signed in as").count() == 0
    headings = [h.strip() for h in page.locator("h1").all_inner_texts()]
    assert headings == ["MedLens"], headings
    main = page.locator('[data-testid="stMain"]').inner_text()
    for title in TITLES.values():
        assert title not in main
    assert page.locator('[data-testid="stMetric"]').count() == 0  # not even the system panel
    assert_no_exception(page)


@pytest.mark.parametrize("name", list(PAGES))
def test_anonymous_sees_only_the_sign_in_form(page, auth_url: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{auth_url}/{PAGES[name]}")
    wait_until_idle(page)
    _assert_only_the_form(page)
    if name == "home":
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "signin.png"))


def _sign_in(page, name: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Username", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_wrong_password_opens_nothing_and_the_right_one_opens_the_app(page, auth_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{auth_url}/upload")
    wait_until_idle(page)
    _sign_in(page, "ann", "not-ann's-password")
    page.get_by_text("Wrong user name or password.").wait_for(state="visible")
    _assert_only_the_form(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "signin-wrong.png"))
    _sign_in(page, "nobody", "ann-secret-1")  # an unknown name gets the same answer
    page.get_by_text("Wrong user name or password.").wait_for(state="visible")
    _assert_only_the_form(page)

    _sign_in(page, "ann", ACCOUNTS["ann"][1])
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Signed in as").wait_for(state="visible")
    page.get_by_label("Password", exact=True).wait_for(state="detached")  # the form is gone ...
    page.locator("h1", has_text="Upload").wait_for(state="visible")  # ... for the deep link's page
    wait_until_idle(page)
    assert "Signed in as ann · annotator" in sidebar.inner_text()
    assert page.locator('[data-testid="stSidebarNav"]').count() == 1
    assert_no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "signed-in.png"))

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username", exact=True).wait_for(state="visible")
    wait_until_idle(page)
    _assert_only_the_form(page)


def test_each_account_sees_its_own_name_and_role(page, auth_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(auth_url)
    wait_until_idle(page)
    _sign_in(page, "rita", ACCOUNTS["rita"][1])
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Signed in as").wait_for(state="visible")
    assert "Signed in as rita · reviewer" in sidebar.inner_text()
    assert "ann" not in sidebar.inner_text()


def test_second_account_never_sees_the_first_accounts_labeling_work(page, auth_url: str) -> None:  # type: ignore[no-untyped-def]
    """ann opens an image into a labeling session; rita, signing in next in the same tab, finds
    no session, no image and no trace of ann's work on the Segmentation page."""
    from tests.e2e.test_segmentation_e2e import open_example
    from tests.e2e.viewer_driver import ViewerDriver

    page.goto(f"{auth_url}/segmentation")
    wait_until_idle(page)
    _sign_in(page, "ann", ACCOUNTS["ann"][1])
    page.locator("h1", has_text="Segmentation").wait_for(state="visible")
    wait_until_idle(page)
    open_example(page)
    sessions = page.get_by_test_id("stSidebar").locator('[data-testid="stSelectbox"]')
    sessions.first.wait_for(state="visible")  # ann's session picker: her session exists
    assert sessions.count() == 1
    ann_main = page.locator('[data-testid="stMain"]').inner_text()
    assert "cxr_pneumocystis" in ann_main  # the image ann opened, by its file name
    assert_no_exception(page)
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username", exact=True).wait_for(state="visible")

    _sign_in(page, "rita", ACCOUNTS["rita"][1])
    page.locator("h1", has_text="Segmentation").wait_for(state="visible")
    page.get_by_text("Open an image to start").wait_for(state="visible")
    wait_until_idle(page)
    main = page.locator('[data-testid="stMain"]').inner_text()
    side = page.get_by_test_id("stSidebar").inner_text()
    assert "cxr_pneumocystis" not in main and "Session 1" not in side, (main, side)
    assert page.get_by_test_id("stSidebar").locator('[data-testid="stSelectbox"]').count() == 0  # none to pick
    assert ViewerDriver(page).attr("data-slice") is None  # no editor: nothing was auto-joined
    assert_no_exception(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "second-account-segmentation.png"))
    page.goto(f"{auth_url}/upload")
    wait_until_idle(page)
    assert "cxr_pneumocystis" not in page.locator('[data-testid="stMain"]').inner_text()
