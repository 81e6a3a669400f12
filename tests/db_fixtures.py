"""Database fixtures: every store test runs on SQLite and on PostgreSQL.

``pg_admin_url`` starts one throwaway PostgreSQL per test run (see ``tests/postgres.py``).
When PostgreSQL cannot be had, the PostgreSQL variants skip with the reason, except under
``CI=true``, where that is a failure: CI must test both backends.
``db_engine`` gives each test a fresh, migrated database on one backend.
"""

from __future__ import annotations

import itertools
import os
from typing import Iterator

import pytest

from tests.postgres import create_database, start_cluster

_counter = itertools.count()


def _unavailable(reason: str) -> None:
    """Skip with the reason; under CI=true the shared hook turns this skip into a failure."""
    from tests.conftest import skip_for_system

    skip_for_system(f"PostgreSQL tests cannot run: {reason}")


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """URL of a PostgreSQL database the tests may create databases from."""
    external = os.environ.get("MEDLENS_TEST_PG_URL")
    if external:
        yield external
        return
    try:
        cluster = start_cluster()
    except (RuntimeError, OSError) as exc:
        _unavailable(str(exc))
        return
    try:
        yield cluster.url()
    finally:
        from core.db import dispose_all

        dispose_all()
        cluster.stop()


@pytest.fixture
def pg_url(pg_admin_url: str) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    from sqlalchemy.engine import make_url

    name = f"medlens_t{os.getpid()}_{next(_counter)}"
    create_database(pg_admin_url, name)
    return make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A fresh database URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'medlens.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def db_engine(db_url: str):  # type: ignore[no-untyped-def]
    """A migrated engine on a fresh database (SQLite file or PostgreSQL database)."""
    from core.db import make_engine, migrate

    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()
