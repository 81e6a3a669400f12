"""The labeling tables as the store's queries see them (their DDL is ``_v2_labeling`` and
``_v3_positions`` in ``core.db.migrations``)."""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, LargeBinary, MetaData, String, Table, Text

metadata = MetaData()

sessions = Table(
    "labeling_sessions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False), Column("labels", Text, nullable=False),
    Column("colours", Text, nullable=False), Column("annotator", String(200), nullable=False, default=""),
    Column("owner", String(64), nullable=False), Column("created", Float), Column("updated", Float),
    Column("current_image", Integer), Column("current_frame", Integer, nullable=False, default=0),
    Column("current_label", String(200)),
)
images = Table(
    "labeling_images", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Integer, nullable=False), Column("position", Integer, nullable=False),
    Column("name", String(400), nullable=False), Column("sha", String(64), nullable=False),
    Column("status", String(16), nullable=False, default="to do"),
    Column("annotator", String(200), nullable=False, default=""), Column("uncertainty", Float),
    Column("frames", Integer), Column("height", Integer), Column("width", Integer), Column("updated", Float),
    Column("review", String(16), nullable=False, default=""),
    Column("review_comment", Text, nullable=False, default=""),
    Column("reviewer", String(64), nullable=False, default=""),
)
image_data = Table(
    "labeling_image_data", metadata,
    Column("image_id", Integer, primary_key=True, autoincrement=False), Column("data", LargeBinary, nullable=False),
)
masks = Table(
    "labeling_masks", metadata,
    Column("image_id", Integer, primary_key=True, autoincrement=False),
    Column("label", String(200), primary_key=True), Column("frame", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False), Column("version", Integer, nullable=False, default=0),
    Column("updated", Float), Column("updated_by", String(64), nullable=False, default=""),
)
edits = Table(
    "labeling_edits", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("image_id", Integer, nullable=False), Column("op_id", String(64)),
    Column("username", String(64), nullable=False), Column("label", String(200), nullable=False),
    Column("frame", Integer, nullable=False), Column("bbox", String(100), nullable=False),
    Column("touched", String(100), nullable=False), Column("before", LargeBinary, nullable=False),
    Column("after", LargeBinary, nullable=False), Column("op_mask", LargeBinary, nullable=False),
    Column("op_values", LargeBinary, nullable=False), Column("description", Text, nullable=False, default=""),
    Column("undone", Integer, nullable=False, default=0), Column("created", Float),
)
steps = Table(  # the ids of undo/redo steps taken (edits carry theirs in ``edits.op_id``)
    "labeling_steps", metadata,
    Column("image_id", Integer, primary_key=True, autoincrement=False), Column("op_id", String(64), primary_key=True),
    Column("username", String(64), nullable=False), Column("action", String(8), nullable=False),
    Column("at", Float, nullable=False),
)
assignments = Table(
    "labeling_assignments", metadata,
    Column("image_id", Integer, primary_key=True, autoincrement=False), Column("username", String(64), primary_key=True),
)
locks = Table(
    "labeling_locks", metadata,
    Column("image_id", Integer, primary_key=True, autoincrement=False), Column("username", String(64), primary_key=True),
    Column("at", Float, nullable=False),
)
audit = Table(
    "labeling_audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Integer), Column("image_id", Integer), Column("username", String(64), nullable=False),
    Column("at", Float, nullable=False), Column("action", String(32), nullable=False),
    Column("detail", Text, nullable=False, default=""),
)
positions = Table(
    "labeling_positions", metadata,
    Column("session_id", Integer, primary_key=True, autoincrement=False),
    Column("username", String(64), primary_key=True), Column("image_id", Integer),
    Column("frame", Integer, nullable=False, default=0), Column("label", String(200)),
    Column("updated", Float, nullable=False),
)
