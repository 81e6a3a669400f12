"""``python -m core users ...``: last stdout line JSON, exit 2 with one line on bad input,
passwords only from standard input and never echoed."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from core.cli import main
from tests.e2e.server import REPO


@pytest.fixture
def users_db(monkeypatch, tmp_path) -> str:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'users.sqlite'}"
    monkeypatch.setenv("MEDLENS_DB_URL", url)
    return url


def _run(monkeypatch, capsys, argv: list[str], stdin: str = "") -> tuple[int, dict | None, str]:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors
        code = int(exc.code)
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    return code, (json.loads(lines[-1]) if lines and code == 0 else None), err


def test_add_list_passwd_remove(users_db, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = _run(monkeypatch, capsys, ["users", "add", "admin", "--role", "admin", "--password-stdin"],
                        "first password\n")
    assert code == 0 and out["user"]["name"] == "admin" and out["user"]["role"] == "admin"
    code, out, _ = _run(monkeypatch, capsys, ["users", "add", "ann", "--role", "annotator", "--password-stdin"],
                        "second password\r\n")
    assert code == 0
    code, out, _ = _run(monkeypatch, capsys, ["users", "list"])
    assert [u["name"] for u in out["users"]] == ["admin", "ann"]
    assert "password" not in json.dumps(out)

    from core.auth.signin import authenticate

    assert authenticate("ann", "second password").name == "ann"  # the \r\n was not part of it
    code, out, _ = _run(monkeypatch, capsys, ["users", "passwd", "ann", "--password-stdin"], "third password\n")
    assert code == 0 and out == {"user": "ann", "password": "changed"}
    assert authenticate("ann", "third password").name == "ann"
    code, out, _ = _run(monkeypatch, capsys, ["users", "set", "ann", "--role", "reviewer", "--disable"])
    assert code == 0 and out["user"]["role"] == "reviewer" and out["user"]["disabled"] is True
    code, out, _ = _run(monkeypatch, capsys, ["users", "remove", "ann"])
    assert code == 0 and out == {"removed": "ann"}


@pytest.mark.parametrize("argv, stdin, reason", [
    (["users", "add", "ann", "--role", "boss", "--password-stdin"], "a good password\n", "bad role"),
    (["users", "add", "a b", "--role", "admin", "--password-stdin"], "a good password\n", "bad user name"),
    (["users", "add", "ann", "--role", "admin", "--password-stdin"], "\n", "password is empty"),
    (["users", "add", "ann", "--role", "admin", "--password-stdin"], "", "password is empty"),
    (["users", "add", "ann", "--role", "admin"], "", "needs a password"),
    (["users", "add", "admin", "--role", "admin", "--password-stdin"], "a good password\n", "already exists"),
    (["users", "remove", "nobody"], "", "no user"),
    (["users", "passwd", "nobody", "--password-stdin"], "a good password\n", "no user"),
    (["users", "frobnicate"], "", "invalid choice"),
])
def test_bad_input_exits_2_with_one_line(users_db, monkeypatch, capsys, argv, stdin, reason) -> None:  # type: ignore[no-untyped-def]
    _run(monkeypatch, capsys, ["users", "add", "admin", "--role", "admin", "--password-stdin"], "first password\n")
    code, _, err = _run(monkeypatch, capsys, argv, stdin)
    assert code == 2
    assert reason in err and len(err.strip().splitlines()) == 1
    assert "good password" not in err


def test_the_real_command_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One run through ``python -m core``: the password comes from stdin and is never printed."""
    env = {"MEDLENS_DB_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "core", "users", "add", "admin", "--role", "admin",
                           "--password-stdin"], input="s3cret-passphrase\n", capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["user"]["name"] == "admin"
    assert "s3cret-passphrase" not in done.stdout + done.stderr
    again = subprocess.run([sys.executable, "-m", "core", "users", "add", "admin", "--role", "admin",
                            "--password-stdin"], input="s3cret-passphrase\n", capture_output=True, text=True,
                           cwd=REPO, env=env, timeout=120)
    assert again.returncode == 2 and again.stderr.strip() == "error: user 'admin' already exists"
