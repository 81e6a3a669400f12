"""The process-wide engines (one pool per database URL), migrated on first use, and the
read/write transactions every store uses (see ``core.db.connect`` for the backends)."""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator

from sqlalchemy import Connection, Engine

from core.db.connect import begin_write, db_url, make_engine, normalise_url
from core.db.migrate import migrate

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (default :func:`db_url`), migrated to the latest schema.

    One engine (and so one pool) per URL per process; the first call runs the migrations.
    """
    key = normalise_url(url or db_url())
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = make_engine(key)
            migrate(engine)
            _engines[key] = engine
        return engine


def dispose_all() -> None:
    """Close every pooled connection (tests, and before a process forks)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextlib.contextmanager
def read(engine: Engine | None = None) -> Iterator[Connection]:
    """A read transaction (committed at the end; rolled back on an error)."""
    with (engine or get_engine()).begin() as connection:
        yield connection


@contextlib.contextmanager
def write(engine: Engine | None = None) -> Iterator[Connection]:
    """A write transaction: on SQLite it holds the write lock from its first statement."""
    with begin_write(engine or get_engine()) as connection:
        yield connection
