"""``MEDLENS_AUTH=oidc``: Streamlit's ``st.login`` against a mock OpenID Connect provider
(oidc-provider-mock, in this process), in Chromium. An identity linked to a MedLens account by
``python -m core users add ... --oidc ID`` opens the app with that account's name and role; an
identity without an account opens nothing and is told what an administrator must do."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Iterator

import pytest

from tests.e2e.conftest import ARTIFACTS, assert_no_exception, wait_until_idle
from tests.e2e.server import REPO, free_port, running_app

LINKED = "dr.who@hospital.example"


@pytest.fixture(scope="module")
def oidc_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app in oidc mode, configured for a mock provider; one account linked to ``LINKED``."""
    try:
        from oidc_provider_mock import run_server_in_thread
    except ImportError as exc:
        pytest.skip(f"oidc-provider-mock is not installed ({exc})")
    previous = os.environ.get("AUTHLIB_INSECURE_TRANSPORT")
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # the mock speaks plain http on loopback
    data = tmp_path_factory.mktemp("oidc-data")
    env = {k: v for k, v in os.environ.items() if k != "MEDLENS_DB_URL"}
    env.update(MEDLENS_DATA_DIR=str(data))
    done = subprocess.run([sys.executable, "-m", "core", "users", "add", "drwho", "--role", "reviewer",
                           "--oidc", LINKED], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    port = free_port()
    with run_server_in_thread(port=free_port()) as provider:
        secrets = tmp_path_factory.mktemp("oidc-secrets") / "secrets.toml"
        secrets.write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            'cookie_secret = "test-cookie-secret-not-for-production"\n'
            'client_id = "medlens"\n'
            'client_secret = "medlens-secret"\n'
            f'server_metadata_url = "http://localhost:{provider.server_port}/.well-known/openid-configuration"\n')
        log_path = tmp_path_factory.mktemp("oidc-server") / "streamlit.log"
        server_env = {"MEDLENS_AUTH": "oidc", "MEDLENS_DB_URL": "", "AUTHLIB_INSECURE_TRANSPORT": "1"}
        try:
            with running_app(data, log_path, env=server_env, port=port, args=["--secrets.files", str(secrets)]) as url:
                yield url
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / "streamlit-oidc.log").write_text(log_path.read_text())
            if previous is None:
                os.environ.pop("AUTHLIB_INSECURE_TRANSPORT", None)
            else:
                os.environ["AUTHLIB_INSECURE_TRANSPORT"] = previous


def _sign_in_at_provider(page, url: str, identity: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    wait_until_idle(page)
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    assert page.locator('[data-testid="stMetric"]').count() == 0
    page.get_by_role("button", name="Sign in with your organisation").click()
    page.locator('input[name="sub"]').fill(identity)  # the mock provider's authorize form
    page.get_by_role("button", name="Authorize").click()


def test_a_linked_identity_opens_the_app_as_its_account(page, oidc_url: str) -> None:  # type: ignore[no-untyped-def]
    _sign_in_at_provider(page, f"{oidc_url}/upload", LINKED)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Signed in as").wait_for(state="visible")
    wait_until_idle(page)
    assert "Signed in as drwho · reviewer" in sidebar.inner_text()
    assert page.locator("h1").all_inner_texts() == ["MedLens"]  # the home page's title, nothing of the sign-in
    assert page.locator('[data-testid="stSidebarNav"]').count() == 1
    assert_no_exception(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "oidc-signed-in.png"))
    page.get_by_role("button", name="Sign out").click()  # st.logout: ends the session at the provider too
    page.get_by_role("button", name="End session").click()  # the mock provider's confirmation
    page.get_by_role("button", name="Sign in with your organisation").wait_for(state="visible")
    assert page.get_by_text("Signed in as").count() == 0


def test_an_identity_without_an_account_opens_nothing(page, oidc_url: str) -> None:  # type: ignore[no-untyped-def]
    _sign_in_at_provider(page, oidc_url, "stranger@elsewhere.example")
    page.get_by_text("has no MedLens account").wait_for(state="visible")
    wait_until_idle(page)
    assert "--oidc stranger@elsewhere.example" in page.locator('[data-testid="stMain"]').inner_text()
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert page.get_by_text("Signed in as").count() == 0
