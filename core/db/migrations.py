"""The schema's history: ``MIGRATIONS[n]`` turns version n-1 into version n.

Append only: never edit a migration that has shipped; add the next number instead. Each
step receives the open transaction and uses SQLAlchemy Core DDL (or portable SQL), so it runs
unchanged on SQLite and PostgreSQL. Tables are declared inside their step, as they were at
that version; the stores' query-side tables live with the stores (e.g. ``core.auth.tables``).
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import (Boolean, Column, Connection, Float, Index, Integer, LargeBinary, MetaData, String, Table,
                        Text, UniqueConstraint, select)


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


def _v2_labeling(connection: Connection) -> None:
    """labeling: sessions and images with owners, assignments, masks with versions, edits as
    operations with ids, advisory locks, audit log, reviews."""
    meta = MetaData()
    Table(
        "labeling_sessions", meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(200), nullable=False),
        Column("labels", Text, nullable=False),
        Column("colours", Text, nullable=False),
        Column("annotator", String(200), nullable=False, default=""),
        Column("owner", String(64), nullable=False),
        Column("created", Float), Column("updated", Float),
        Column("current_image", Integer), Column("current_frame", Integer, nullable=False, default=0),
        Column("current_label", String(200)),
    )
    images = Table(
        "labeling_images", meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("session_id", Integer, nullable=False),
        Column("position", Integer, nullable=False),
        Column("name", String(400), nullable=False),
        Column("sha", String(64), nullable=False),
        Column("status", String(16), nullable=False, default="to do"),
        Column("annotator", String(200), nullable=False, default=""),
        Column("uncertainty", Float),
        Column("frames", Integer), Column("height", Integer), Column("width", Integer),
        Column("updated", Float),
        Column("review", String(16), nullable=False, default=""),
        Column("review_comment", Text, nullable=False, default=""),
        Column("reviewer", String(64), nullable=False, default=""),
        UniqueConstraint("session_id", "sha", name="labeling_images_session_sha"),
    )
    Index("labeling_images_session", images.c.session_id, images.c.position)
    Table("labeling_image_data", meta,
          Column("image_id", Integer, primary_key=True, autoincrement=False),
          Column("data", LargeBinary, nullable=False))
    Table("labeling_masks", meta,
          Column("image_id", Integer, primary_key=True, autoincrement=False),
          Column("label", String(200), primary_key=True),
          Column("frame", Integer, primary_key=True, autoincrement=False),
          Column("data", LargeBinary, nullable=False),
          Column("version", Integer, nullable=False, default=0),
          Column("updated", Float), Column("updated_by", String(64), nullable=False, default=""))
    edits = Table(
        "labeling_edits", meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("image_id", Integer, nullable=False),
        Column("op_id", String(64)),
        Column("username", String(64), nullable=False),
        Column("label", String(200), nullable=False),
        Column("frame", Integer, nullable=False),
        Column("bbox", String(100), nullable=False),
        Column("touched", String(100), nullable=False),
        Column("before", LargeBinary, nullable=False),
        Column("after", LargeBinary, nullable=False),
        Column("op_mask", LargeBinary, nullable=False),  # the operation: footprint within "touched"
        Column("op_values", LargeBinary, nullable=False),  # and the values it writes there
        Column("description", Text, nullable=False, default=""),
        Column("undone", Integer, nullable=False, default=0),
        Column("created", Float),
        UniqueConstraint("image_id", "op_id", name="labeling_edits_op"),
    )
    Index("labeling_edits_image", edits.c.image_id, edits.c.id)
    Table("labeling_assignments", meta,
          Column("image_id", Integer, primary_key=True, autoincrement=False),
          Column("username", String(64), primary_key=True))
    Table("labeling_locks", meta,
          Column("image_id", Integer, primary_key=True, autoincrement=False),
          Column("username", String(64), primary_key=True),
          Column("at", Float, nullable=False))
    audit = Table(
        "labeling_audit", meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("session_id", Integer), Column("image_id", Integer),
        Column("username", String(64), nullable=False),
        Column("at", Float, nullable=False),
        Column("action", String(32), nullable=False),
        Column("detail", Text, nullable=False, default=""),
    )
    Index("labeling_audit_image", audit.c.image_id, audit.c.id)
    meta.create_all(connection)


def _v3_positions(connection: Connection) -> None:
    """labeling positions: the image, frame and label each user was at in a session (one user
    moving on no longer moves everyone); the owner keeps the session's old position."""
    meta = MetaData()
    positions = Table(
        "labeling_positions", meta,
        Column("session_id", Integer, primary_key=True, autoincrement=False),
        Column("username", String(64), primary_key=True),
        Column("image_id", Integer),
        Column("frame", Integer, nullable=False, default=0),
        Column("label", String(200)),
        Column("updated", Float, nullable=False),
    )
    Index("labeling_positions_user", positions.c.username, positions.c.updated)
    meta.create_all(connection)
    sessions = Table("labeling_sessions", MetaData(), autoload_with=connection)
    for row in connection.execute(select(sessions).where(sessions.c.current_image.is_not(None))):
        connection.execute(positions.insert().values(
            session_id=row.id, username=row.owner, image_id=row.current_image, frame=int(row.current_frame or 0),
            label=row.current_label, updated=float(row.updated or 0.0)))


def _v4_labeling_steps(connection: Connection) -> None:
    """labeling: the ids of the viewer's undo/redo steps, so one re-sent after a reload is applied once."""
    meta = MetaData()
    Table("labeling_steps", meta,
          Column("image_id", Integer, primary_key=True, autoincrement=False),
          Column("op_id", String(64), primary_key=True),
          Column("username", String(64), nullable=False),
          Column("action", String(8), nullable=False),  # "undo" or "redo"
          Column("at", Float, nullable=False))
    meta.create_all(connection)


MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _v1_accounts,
    2: _v2_labeling,
    3: _v3_positions,
    4: _v4_labeling_steps,
}
