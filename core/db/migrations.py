"""The schema's history: ``MIGRATIONS[n]`` turns version n-1 into version n.

Append only: never edit a migration that has shipped; add the next number instead. Each
step receives the open transaction and uses SQLAlchemy Core DDL (or portable SQL), so it runs
unchanged on SQLite and PostgreSQL. Tables are declared inside their step, as they were at
that version; the stores' query-side tables live with the stores (e.g. ``core.auth.tables``).
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import (Boolean, Column, Connection, Float, Index, Integer, MetaData, String, Table, Text,
                        UniqueConstraint)


def _v1_accounts(connection: Connection) -> None:
    """accounts: users (password hash or external identity) and failed sign-ins."""
    meta = MetaData()
    Table(
        "users", meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(64), nullable=False),
        Column("role", String(16), nullable=False),
        Column("password_hash", Text, nullable=True),
        Column("external_id", String(320), nullable=True),
        Column("created", Float, nullable=False),
        Column("disabled", Boolean, nullable=False, default=False),
        UniqueConstraint("name", name="users_name_key"),
        UniqueConstraint("external_id", name="users_external_id_key"),
    )
    failures = Table(
        "sign_in_failures", meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("subject", String(400), nullable=False),
        Column("at", Float, nullable=False),
    )
    Index("sign_in_failures_subject", failures.c.subject, failures.c.at)
    meta.create_all(connection)


MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _v1_accounts,
}
