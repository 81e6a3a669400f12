"""The accounts tables as the queries see them (their DDL is in ``core.db.migrations``)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table, Text

metadata = MetaData()

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text),
    Column("external_id", String(320), unique=True),
    Column("created", Float, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

sign_in_failures = Table(
    "sign_in_failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject", String(400), nullable=False),
    Column("at", Float, nullable=False),
)
