"""Single-user or multi-user: which sign-in the server asks for, and where it may listen.

``MEDLENS_AUTH`` unset (or ``none``) is single-user: no sign-in, for one person on this machine.
``accounts`` asks for a MedLens user name and password; ``oidc`` signs in through the hospital's
identity provider with Streamlit's ``st.login`` (configured in ``.streamlit/secrets.toml``) and
maps the identity to a MedLens account. A server that listens on anything but a loopback
address must use one of the multi-user modes: :func:`serving_refusal` says why not otherwise.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Mapping, Sequence

from core.errors import InputError

ENV_AUTH = "MEDLENS_AUTH"
ENV_ADDRESS = "MEDLENS_ADDRESS"
SINGLE, ACCOUNTS, OIDC = "single", "accounts", "oidc"
MODES = {"": SINGLE, "none": SINGLE, "single": SINGLE, ACCOUNTS: ACCOUNTS, OIDC: OIDC}
FIRST_ADMIN = "python -m core users add admin --role admin --password-stdin"


def auth_mode(env: Mapping[str, str] | None = None) -> str:
    """``single``, ``accounts`` or ``oidc`` from ``MEDLENS_AUTH``; an unknown value is refused."""
    value = (os.environ if env is None else env).get(ENV_AUTH, "").strip().lower()
    if value not in MODES:
        raise InputError(f"{ENV_AUTH}={value!r} is not a sign-in mode (unset for single-user, 'accounts' or 'oidc')")
    return MODES[value]


def is_multi_user(env: Mapping[str, str] | None = None) -> bool:
    return auth_mode(env) != SINGLE


def is_loopback(address: str) -> bool:
    """Whether a listen address only accepts connections from this machine."""
    host = address.strip().strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost, or "" (every interface)


def serving_address(args: Sequence[str], env: Mapping[str, str] | None = None) -> str | None:
    """The address Streamlit will listen on, from ``--server.address`` or the environment;
    None when nothing sets it (Streamlit would then listen on every interface)."""
    env = os.environ if env is None else env
    for index, arg in enumerate(args):
        if arg.startswith("--server.address="):
            return arg.split("=", 1)[1]
        if arg == "--server.address" and index + 1 < len(args):
            return args[index + 1]
    return env.get("STREAMLIT_SERVER_ADDRESS") or env.get(ENV_ADDRESS) or None


def serving_refusal(address: str, env: Mapping[str, str] | None = None) -> str | None:
    """Why the server must not start on ``address`` in the current mode (None: it may)."""
    try:
        mode = auth_mode(env)
    except InputError as exc:
        return str(exc)
    if mode == SINGLE and not is_loopback(address):
        shown = address or "every interface"
        return (f"refusing to serve single-user MedLens on {shown}: other machines could open it without "
                f"signing in. Set {ENV_AUTH}=accounts (create the first admin with: {FIRST_ADMIN}) "
                f"or serve on 127.0.0.1.")
    return None
