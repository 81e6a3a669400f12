"""One SQLAlchemy engine per database URL: SQLite (default, embedded) or PostgreSQL (psycopg 3).

``MEDLENS_DB_URL`` chooses the database; without it MedLens uses the SQLite file
``core.paths.data_dir() / "medlens.sqlite"``. ``postgresql://user@host/db`` URLs are driven by
psycopg 3 through SQLAlchemy's connection pool, so several Streamlit processes can share one
PostgreSQL server. Every store goes through ``core.db.get_engine`` and the ``read`` / ``write``
transactions (``core.db.engine``), so one code path serves both backends.

SQLite is opened in WAL mode with a busy timeout, and write transactions start with
``BEGIN IMMEDIATE``: a writer waits for the lock up front instead of failing half-way when a
read transaction tries to become a write one (``database is locked``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.errors import InputError
from core.paths import data_dir, private_file

ENV_URL = "MEDLENS_DB_URL"
BUSY_TIMEOUT_MS = 30_000
WRITE_OPTION = "medlens_write"  # execution option: this transaction will write

def default_sqlite_path() -> Path:
    """The embedded database file used when ``MEDLENS_DB_URL`` is not set."""
    return data_dir() / "medlens.sqlite"


def db_url() -> str:
    """The database URL in force: ``MEDLENS_DB_URL`` or the default SQLite file."""
    return os.environ.get(ENV_URL) or f"sqlite:///{default_sqlite_path()}"


def normalise_url(url: str) -> str:
    """Pick the driver: ``postgresql://`` (or ``postgres://``) means psycopg 3; only SQLite and
    PostgreSQL are accepted, with a one-line reason otherwise (the URL's password is never shown)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError(f"{ENV_URL} is not a database URL (expected sqlite:///FILE or postgresql://...)") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "postgresql":
        if driver not in ("", "psycopg"):
            raise InputError(f"{ENV_URL}: PostgreSQL is driven by psycopg 3 here (postgresql:// or postgresql+psycopg://)")
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend == "sqlite":
        if driver not in ("", "pysqlite"):
            raise InputError(f"{ENV_URL}: SQLite URLs are sqlite:///FILE")
    else:
        raise InputError(f"{ENV_URL}: unsupported database '{backend}' (use sqlite:///FILE or postgresql://...)")
    return parsed.render_as_string(hide_password=False)


def backend(engine: Engine) -> str:
    """``"sqlite"`` or ``"postgresql"``."""
    return engine.dialect.name


def _enable_wal(cursor: sqlite3.Cursor) -> None:
    """Put the database file in WAL mode (it stays so), retrying while SQLite says it is locked.

    Several servers opening a new database at once can get "database is locked" from this pragma
    straight away, without the busy timeout being waited for (measured: 13 of 200 four-way first
    starts); the one that lost must wait its turn, not fail to start."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.01)


def _configure_sqlite(engine: Engine) -> None:
    """WAL + busy timeout on every connection; SQLAlchemy, not the driver, opens transactions."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # the driver must not BEGIN on its own
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")  # with WAL a commit survives a killed process
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str | None = None) -> Engine:
    """A new engine for ``url`` (default :func:`db_url`); most code wants ``core.db.get_engine``."""
    url = normalise_url(url or db_url())
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            private_file(parsed.database)  # 0600 (password hashes, patient work); SQLite's -wal/-shm follow
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True, pool_recycle=1800,
                               connect_args={"connect_timeout": 10})
    return engine


@contextlib.contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A write transaction on ``engine``: on SQLite it holds the write lock from its first statement."""
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
        yield connection
