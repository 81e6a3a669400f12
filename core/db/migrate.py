"""Versioned schema migrations, the same on SQLite and PostgreSQL.

Each migration is a numbered function in :mod:`core.db.migrations` that changes the schema
with SQLAlchemy Core (so the SQL is right for either backend). ``schema_version`` records
which have run. :func:`migrate` runs the missing ones in one transaction that first takes a
lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock), so several
processes starting at once migrate once, and a failed migration leaves the schema as it was.
A database newer than this code is refused rather than written to.
"""

from __future__ import annotations

import time

from sqlalchemy import Column, Connection, Engine, Float, Integer, MetaData, String, Table, func, select, text

from core.db.connect import begin_write
from core.db.migrations import MIGRATIONS
from core.errors import InputError

ADVISORY_LOCK_KEY = 0x4D65644C656E73  # "MedLens"

_meta = MetaData()
schema_version = Table(
    "schema_version", _meta,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("applied", Float, nullable=False),
)


def latest_version() -> int:
    """The schema version this code expects."""
    return max(MIGRATIONS) if MIGRATIONS else 0


def current_version(connection: Connection) -> int:
    """The version recorded in the database (0 for an empty database)."""
    if not connection.dialect.has_table(connection, "schema_version"):
        return 0
    return int(connection.execute(select(func.coalesce(func.max(schema_version.c.version), 0))).scalar_one())


def migrate(engine: Engine) -> list[int]:
    """Bring the database to :func:`latest_version`; returns the versions applied now."""
    applied: list[int] = []
    with begin_write(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        schema_version.create(connection, checkfirst=True)
        found = current_version(connection)
        if found > latest_version():
            raise InputError(f"the database schema is version {found}, newer than this MedLens "
                             f"(version {latest_version()}); upgrade MedLens before using this database")
        for version in sorted(v for v in MIGRATIONS if v > found):
            step = MIGRATIONS[version]
            step(connection)
            connection.execute(schema_version.insert().values(
                version=version, name=(step.__doc__ or step.__name__).strip().splitlines()[0][:200],
                applied=time.time()))
            applied.append(version)
    return applied
