"""Without PostgreSQL the PostgreSQL variants skip with the reason printed; with CI=true that
skip fails the run (CI must test both backends)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.e2e.server import REPO

SELECT = ["tests/db/test_db_layer.py", "-k", "migrations_bring_a_new_database"]


def _pytest(ci: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "MEDLENS_TEST_PG_URL")}
    env.update(MEDLENS_PG_BIN="/nonexistent/postgresql/bin", CI=ci)
    return subprocess.run([sys.executable, "-m", "pytest", *SELECT, "-q", "-rs", "-p", "no:cacheprovider"],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=300)


@pytest.mark.slow
def test_missing_postgresql_skips_with_the_reason() -> None:
    done = _pytest(ci="")
    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 passed, 1 skipped" in done.stdout  # sqlite ran, postgresql skipped
    assert "PostgreSQL tests cannot run: PostgreSQL's initdb/pg_ctl not found" in done.stdout


@pytest.mark.slow
def test_missing_postgresql_fails_under_ci() -> None:
    done = _pytest(ci="true")
    assert done.returncode == 1, done.stdout[-2000:]
    assert "1 passed" in done.stdout and ("1 error" in done.stdout or "1 failed" in done.stdout)  # setup fails
    assert "CI=true" in done.stdout and "initdb/pg_ctl not found" in done.stdout
