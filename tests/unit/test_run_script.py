"""``./run.sh`` binds 127.0.0.1 unless MEDLENS_ADDRESS asks for a network address (then it warns)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def stub_repo(tmp_path: Path) -> Path:
    """A copy of run.sh whose .venv is installed (stamp matches) and whose python prints its arguments."""
    shutil.copy(REPO / "run.sh", tmp_path / "run.sh")
    (tmp_path / "requirements.txt").write_text("numpy==1.0\n")
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / ".requirements.sha256").write_text(hashlib.sha256(b"numpy==1.0\n").hexdigest() + "\n")
    python = venv / "bin" / "python"
    python.write_text('#!/bin/sh\necho "ARGS $*"\n')
    python.chmod(0o755)
    return tmp_path


def _run(folder: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("MEDLENS_ADDRESS", "PORT")}
    return subprocess.run(["bash", str(folder / "run.sh")], capture_output=True, text=True, timeout=60,
                          env={**clean, "PYTHON": shutil.which("python3") or "python3", **env})


def test_serves_this_computer_only_by_default(stub_repo: Path) -> None:
    out = _run(stub_repo)
    assert out.returncode == 0, out.stderr
    args = out.stdout.strip().splitlines()[-1]
    assert "--server.address 127.0.0.1" in args and "--server.port 8501" in args and "core.ui.serve" in args
    assert "MEDLENS_ADDRESS=0.0.0.0 ./run.sh" in out.stdout  # says how to serve on the network
    assert "WARNING" not in out.stderr


def test_a_network_address_is_passed_on_with_a_warning(stub_repo: Path) -> None:
    out = _run(stub_repo, MEDLENS_ADDRESS="0.0.0.0", PORT="8600")
    assert out.returncode == 0, out.stderr
    assert "--server.address 0.0.0.0 --server.headless true" in out.stdout.strip().splitlines()[-1]
    assert "--server.port 8600" in out.stdout
    assert "WARNING" in out.stderr and "MEDLENS_AUTH=accounts" in out.stderr


def test_the_streamlit_config_defaults_to_loopback_too() -> None:
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
