"""Sign-in modes, and the refusal to serve single-user MedLens beyond this machine."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.auth.mode import FIRST_ADMIN, auth_mode, is_loopback, serving_address, serving_refusal
from core.errors import InputError
from tests.e2e.server import REPO


@pytest.mark.parametrize("value, mode", [("", "single"), ("none", "single"), ("accounts", "accounts"),
                                         ("ACCOUNTS", "accounts"), ("oidc", "oidc")])
def test_modes(value: str, mode: str) -> None:
    assert auth_mode({"MEDLENS_AUTH": value}) == mode
    assert auth_mode({}) == "single"


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(InputError, match="not a sign-in mode"):
        auth_mode({"MEDLENS_AUTH": "yes"})


@pytest.mark.parametrize("address, loopback", [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),
                                               ("[::1]", True), ("localhost", True), ("0.0.0.0", False),
                                               ("", False), ("10.1.2.3", False), ("::", False),
                                               ("myhost.example", False)])
def test_loopback(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def test_serving_address_from_arguments_or_environment() -> None:
    assert serving_address(["--server.port", "1", "--server.address", "0.0.0.0"], {}) == "0.0.0.0"
    assert serving_address(["--server.address=10.0.0.1"], {}) == "10.0.0.1"
    assert serving_address([], {"MEDLENS_ADDRESS": "0.0.0.0"}) == "0.0.0.0"
    assert serving_address([], {"STREAMLIT_SERVER_ADDRESS": "::1"}) == "::1"
    assert serving_address([], {}) is None


def test_single_user_only_on_loopback() -> None:
    assert serving_refusal("127.0.0.1", {}) is None
    refusal = serving_refusal("0.0.0.0", {})
    assert refusal and "MEDLENS_AUTH=accounts" in refusal and FIRST_ADMIN in refusal
    assert serving_refusal("0.0.0.0", {"MEDLENS_AUTH": "accounts"}) is None
    assert serving_refusal("0.0.0.0", {"MEDLENS_AUTH": "oidc"}) is None
    assert "not a sign-in mode" in serving_refusal("127.0.0.1", {"MEDLENS_AUTH": "bogus"})


def test_serve_refuses_to_start_on_every_interface_without_accounts() -> None:
    """The real entry point exits 2 with the message before Streamlit starts listening."""
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    done = subprocess.run([sys.executable, "-m", "core.ui.serve", "--server.address", "0.0.0.0",
                           "--server.port", "1"], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert done.returncode == 2
    assert FIRST_ADMIN in done.stderr and "Traceback" not in done.stderr
