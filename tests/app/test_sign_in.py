"""The sign-in gate (AppTest): nothing but the form before sign-in, wrong passwords open nothing,
sign-out returns to the form; single-user mode is unchanged.

app.py itself is checked on its first run only: AppTest re-enables Streamlit's legacy ``pages/``
mode before every later run (it resets ``PagesManager.uses_pages_directory``), which runs the page
scripts without app.py. The sign-in flow is therefore driven through a small script that calls
the same gate; the browser test drives the real app.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.auth import accounts

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def accounts_mode(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MEDLENS_AUTH", "accounts")
    monkeypatch.setenv("MEDLENS_DB_URL", f"sqlite:///{tmp_path / 'app.sqlite'}")


GATED = """
import streamlit as st
from core.ui.auth import current_user, require_sign_in

user = require_sign_in()
st.title("Page content")
st.metric("Signed-in user", current_user().name)
st.session_state.setdefault("work", f"work of {user.name}")  # what a page keeps for its user
st.caption(st.session_state["work"])
"""


def _app() -> AppTest:
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=120)


def _gated() -> AppTest:
    return AppTest.from_string(GATED, default_timeout=60)


def _texts(at: AppTest) -> str:
    return " ".join(str(e.value) for kind in ("title", "markdown", "error", "warning", "subheader")
                    for e in getattr(at, kind))


def test_no_accounts_yet_says_how_to_create_the_first_admin(accounts_mode) -> None:  # type: ignore[no-untyped-def]
    at = _app().run()
    assert not at.exception
    assert "python -m core users add admin --role admin --password-stdin" in _texts(at)
    assert not at.text_input and not at.metric  # no form to fill, no system panel


def test_app_shows_only_the_form_before_sign_in(accounts_mode) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user("ann", "annotator", "ann's password")
    at = _app().run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and "Upload" not in _texts(at)  # no page content, no system panel


def test_sign_in_wrong_then_right_then_out(accounts_mode) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user("ann", "annotator", "ann's password")
    at = _gated().run()
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert at.button[0].label == "Sign in"
    assert not at.metric and "Page content" not in _texts(at)

    at.text_input[0].input("ann")
    at.text_input[1].input("not the password")
    at.button[0].click().run()
    assert "Wrong user name or password." in [e.value for e in at.error]
    assert [t.label for t in at.text_input] == ["Username", "Password"] and not at.metric

    at.text_input[0].input("ann")
    at.text_input[1].input("ann's password")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert "Signed in as **ann** · annotator" in [m.value for m in at.sidebar.markdown]
    assert [(m.label, m.value) for m in at.metric] == [("Signed-in user", "ann")]

    assert [c.value for c in at.caption] == ["work of ann"]
    sign_out = next(b for b in at.sidebar.button if b.label == "Sign out")
    sign_out.click().run()
    assert [t.label for t in at.text_input] == ["Username", "Password"] and not at.metric
    assert "work" not in at.session_state  # nothing of ann's session is left for the next user


def test_the_next_user_in_the_same_tab_starts_empty(accounts_mode) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user("ann", "annotator", "ann's password")
    accounts.add_user("bob", "annotator", "bob's password")
    at = _gated().run()
    at.text_input[0].input("ann")
    at.text_input[1].input("ann's password")
    at.button[0].click().run()
    assert [c.value for c in at.caption] == ["work of ann"]
    accounts.remove_user("ann")  # signed out at the next action, session state and all
    at.run()
    at.text_input[0].input("bob")
    at.text_input[1].input("bob's password")
    at.button[0].click().run()
    assert [(m.label, m.value) for m in at.metric] == [("Signed-in user", "bob")]
    assert [c.value for c in at.caption] == ["work of bob"]


def test_a_removed_account_is_signed_out_at_its_next_action(accounts_mode) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user("ann", "annotator", "ann's password")
    accounts.add_user("admin", "admin", "admin's password")
    at = _gated().run()
    at.text_input[0].input("ann")
    at.text_input[1].input("ann's password")
    at.button[0].click().run()
    assert at.metric
    accounts.remove_user("ann")
    at.run()
    assert [t.label for t in at.text_input] == ["Username", "Password"] and not at.metric


def test_single_user_mode_has_no_sign_in(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("MEDLENS_AUTH", raising=False)
    at = _app().run()
    assert not at.exception
    assert not at.text_input and "Device" in [m.label for m in at.metric]
    assert not any(b.label == "Sign out" for b in at.sidebar.button)
    at = _gated().run()
    assert [(m.label, m.value) for m in at.metric] == [("Signed-in user", "local")]


def test_oidc_mode_without_configuration_says_what_is_missing(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MEDLENS_AUTH", "oidc")
    monkeypatch.setenv("MEDLENS_DB_URL", f"sqlite:///{tmp_path / 'app.sqlite'}")
    at = _gated()
    at.run()
    assert any("[auth] section" in e.value for e in at.error) and not at.metric
