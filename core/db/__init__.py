"""The database layer: one engine per URL (SQLite by default, PostgreSQL via ``MEDLENS_DB_URL``),
read/write transactions, and versioned migrations. Stores build on this; nothing here knows
about accounts or labeling."""

from core.db.engine import backend, db_url, dispose_all, get_engine, make_engine, read, write
from core.db.migrate import current_version, latest_version, migrate

__all__ = ["backend", "current_version", "db_url", "dispose_all", "get_engine", "latest_version", "make_engine",
           "migrate", "read", "write"]
