"""The database layer: one engine per URL (SQLite by default, PostgreSQL via ``MEDLENS_DB_URL``),
read/write transactions, and versioned migrations. Stores build on this; nothing here knows
about accounts or labeling.

Moving a store onto it (the labeling store is next):

1. add its tables as the next step in ``core/db/migrations.py`` (Core DDL, both backends; an
   existing SQLite file of the old store is imported by that step or by a one-off command);
2. declare the query-side ``Table`` objects beside the store (as ``core/auth/tables.py`` does);
3. open transactions with ``write(engine)`` / ``read(engine)``: a write on SQLite holds the write
   lock from its first statement, and on PostgreSQL use ``SELECT ... FOR UPDATE`` (or a version
   column checked in the ``UPDATE ... WHERE``) wherever a row is read, changed and written back;
4. take the engine as an optional argument (default :func:`get_engine`) so the tests run the
   store on both backends through the ``db_engine`` fixture (``tests/db_fixtures.py``).
"""

from core.db.connect import backend, db_url, make_engine
from core.db.engine import dispose_all, get_engine, read, write
from core.db.migrate import current_version, latest_version, migrate

__all__ = ["backend", "current_version", "db_url", "dispose_all", "get_engine", "latest_version", "make_engine",
           "migrate", "read", "write"]
