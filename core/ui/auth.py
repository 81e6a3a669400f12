"""Sign-in for multi-user mode, and the signed-in user for the pages.

``app.py`` calls :func:`require_sign_in` before it runs a page: in single-user mode it returns
:data:`LOCAL_USER` at once (and refuses to serve a non-loopback address); with
``MEDLENS_AUTH=accounts`` it shows the sign-in form (fields "Username" and "Password", button
"Sign in") and stops the script until the user is signed in; with ``MEDLENS_AUTH=oidc`` it
signs in through Streamlit's ``st.login`` and maps the identity to a MedLens account. Pages ask
:func:`current_user` who is working, so they can show only that user's work.
"""

from __future__ import annotations

import streamlit as st

from core.auth import accounts, mode, oidc
from core.auth.accounts import User
from core.auth.signin import SignInError, authenticate
from core.errors import MedLensError

SESSION_KEY = "medlens_user"
#: the one user of single-user mode (an admin: it may do everything, as today)
LOCAL_USER = User(name="local", role="admin", created=0.0)


def current_user() -> User | None:
    """The signed-in user (``LOCAL_USER`` in single-user mode); None before sign-in."""
    try:
        current = mode.auth_mode()
    except MedLensError:
        return None
    if current == mode.SINGLE:
        return LOCAL_USER
    if current == mode.OIDC:
        return _oidc_account()
    return st.session_state.get(SESSION_KEY)


def _oidc_account() -> User | None:
    """The account linked to the identity signed in with ``st.login`` (None: none, or signed out)."""
    if not _auth_configured() or not st.user.is_logged_in:
        return None
    try:
        return oidc.resolve(st.user.to_dict())
    except SignInError:
        return None


def is_signed_in() -> bool:
    """Whether pages may be shown (decides whether the page list is shown in the sidebar)."""
    try:
        accounts_mode = mode.auth_mode() == mode.ACCOUNTS
    except MedLensError:
        return False  # require_sign_in() shows why
    if accounts_mode:
        return _refreshed_session_user() is not None
    return current_user() is not None


def _refreshed_session_user() -> User | None:
    """The session's account as stored now: a removed or disabled account is signed out at once,
    a changed role takes effect at the next action."""
    user = st.session_state.get(SESSION_KEY)
    if user is None:
        return None
    fresh = accounts.get_user(user.name)
    if fresh is None or fresh.disabled:
        _sign_out()
        return None
    st.session_state[SESSION_KEY] = fresh
    return fresh


def _sign_out() -> None:
    """Forget the user and everything the session held for them (images, masks, results), so
    whoever signs in next in this browser tab starts empty."""
    st.session_state.clear()


def _sidebar(user: User, oidc_mode: bool) -> None:
    with st.sidebar:
        st.markdown(f"Signed in as **{user.name}** · {user.role}")
        if oidc_mode:
            st.button("Sign out", key="medlens-sign-out", on_click=st.logout)
        else:
            st.button("Sign out", key="medlens-sign-out", on_click=_sign_out)


def _accounts_form() -> None:
    """The sign-in form; on success the user is stored in the session and the script reruns."""
    st.title("MedLens")
    if accounts.count_users() == 0:
        st.warning("No accounts exist yet. On the server, create the first administrator with  \n"
                   f"`{mode.FIRST_ADMIN}`  \n(type the password, then Enter), and reload this page.")
        return
    st.subheader("Sign in")
    with st.form("medlens-sign-in"):
        name = st.text_input("Username", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        try:
            user = authenticate(name, password, client=st.context.ip_address)
        except SignInError as exc:
            st.error(str(exc))
            return
        st.session_state.clear()  # nothing of an earlier session carries over to this user
        st.session_state[SESSION_KEY] = user
        st.rerun()


def _auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all
        return False


def _oidc_sign_in() -> None:
    """What a browser without a linked, signed-in identity sees: the sign-in button, or why not."""
    st.title("MedLens")
    if not _auth_configured():
        st.error("MEDLENS_AUTH=oidc needs an [auth] section in .streamlit/secrets.toml (see the README).")
    elif not st.user.is_logged_in:
        st.button("Sign in with your organisation", on_click=st.login)
    else:
        try:
            oidc.resolve(st.user.to_dict())
        except SignInError as exc:
            st.error(str(exc))
        st.button("Sign out", on_click=st.logout)


def require_sign_in() -> User:
    """Return the user, or show the sign-in (and nothing else) and stop the script."""
    try:
        current = mode.auth_mode()
    except MedLensError as exc:
        st.error(str(exc))
        st.stop()
    if current == mode.SINGLE:
        # an address set to a non-loopback one (``streamlit run`` without core.ui.serve); unset is
        # refused by core.ui.serve, and AppTest has no server at all
        address = str(st.get_option("server.address") or "")
        refusal = mode.serving_refusal(address) if address else None
        if refusal:
            st.error(refusal)
            st.stop()
        return LOCAL_USER
    if current == mode.OIDC:
        user = _oidc_account()
        if user is None:
            _oidc_sign_in()
            st.stop()
        _sidebar(user, oidc_mode=True)
        return user
    user = _refreshed_session_user()
    if user is None:
        _accounts_form()
        st.stop()
    _sidebar(user, oidc_mode=False)
    return user
