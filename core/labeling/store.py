"""Labeling sessions in the MedLens database (``core.db``: SQLite or PostgreSQL), saved edit by
edit, shared by a team without losing an edit.

A **session** has an owner, a set of images and its labels (with colours). **Where each user
is** (the open image, its frame, the label being edited) is a ``Position`` per user and session,
so one user moving to the next image never moves another user's view.
Each **image** has a status (``to do`` / ``in progress`` / ``done``), annotators assigned to it,
a review (``accepted`` / ``returned`` with a comment) and optionally the model's uncertainty.

**Edits are operations, never whole masks.** ``apply_edit`` receives a footprint (the pixels a
stroke, polygon or model result touches) and the values to write there, and applies them to the
*latest saved* mask inside one write transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the
image row ``FOR UPDATE``), so strokes of several users on one image merge. Each edit may carry an
id (the viewer's edit id): an id seen before is acknowledged without being applied again.
Undo and redo are per user and may carry an id too (the viewer's step id, kept in ``labeling_steps``):
a step re-sent after a reload is taken once. A **conflict** is an undo (or redo) of an edit that another user has
built on since: a later, still applied edit of someone else whose touched rectangle overlaps the
pixels the undo would change. It is refused with "changed by NAME; reload", never applied over
their work. Every change is written to an audit log (who, when, what, which image).

**Who sees what**: listing calls take ``user`` (a name) and ``admin``: without a user (single-user
mode, the command line) everything is listed; an admin sees everything; anyone else sees the
sessions they own and the images assigned to them (all images of the sessions they own).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
from sqlalchemy import Connection, Engine, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from core.db import get_engine, read, write
from core.errors import InputError
from core.labeling import tables as t
from core.labeling.codec import decode_image, encode_image, image_shape
from core.masks.history import Edit, History, pack, unpack
from core.masks.maskset import DEFAULT_COLOURS, MaskSet
from core.paths import data_dir

STATUSES = ("to do", "in progress", "done")
REVIEWS = ("accepted", "returned")
LOCAL = "local"  # the user of single-user mode and of the command line
LOCK_TTL_S = 120.0  # an advisory "NAME is editing" lock older than this is not shown
_OP_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def default_path() -> Path:
    """Where the embedded database lives by default (``core.db``'s SQLite file)."""
    return data_dir() / "medlens.sqlite"


def mean_entropy(prob: np.ndarray) -> float:
    """Mean binary entropy (bits, 0..1) of a probability map: 0 = the model is sure everywhere."""
    p = np.clip(np.asarray(prob, np.float64), 1e-7, 1 - 1e-7)
    h = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    return float(h.mean())


@dataclass
class Session:
    id: int
    name: str
    labels: list[str]
    colours: list[str]
    annotator: str = ""
    current_image: int | None = None
    current_frame: int = 0
    current_label: str | None = None
    updated: float = 0.0
    owner: str = LOCAL

    def colour(self, label: str) -> str:
        return self.colours[self.labels.index(label)] if label in self.labels else "#ff0000"


@dataclass
class Position:
    """Where one user is in one session: the image open, its frame, the label being edited."""

    session_id: int
    user: str
    image_id: int | None
    frame: int = 0
    label: str | None = None
    updated: float = 0.0


@dataclass
class ImageRecord:
    id: int
    session_id: int
    position: int
    name: str
    status: str
    annotator: str
    uncertainty: float | None
    shape: tuple[int, int, int]
    extra: dict[str, Any] = field(default_factory=dict)
    review: str = ""
    review_comment: str = ""
    reviewer: str = ""


@dataclass
class EditResult:
    """What ``apply_edit`` did: the stored edit (``applied`` False when its id was seen before)
    and the label's mask on that frame as saved now (everyone's edits included)."""

    edit: Edit
    mask: np.ndarray
    applied: bool


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Half-open ``(r0, r1, c0, c1)`` around the true pixels; ``(0, 0, 0, 0)`` when none."""
    if not mask.any():
        return 0, 0, 0, 0
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _overlap(a: Sequence[int], b: Sequence[int]) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


VIEWER_OPS = ("brush", "erase", "polygon", "erase_polygon")  # the stroke ops of ``core.masks.edits``


def op_id_of(description: str) -> str | None:
    """The viewer's edit id in a description ``"<op> <id>"`` (``core.masks.edits``), if any;
    other descriptions (``"model NAME"``, ``"import FILE"``) carry none."""
    parts = description.split(" ")
    return parts[1] if len(parts) == 2 and parts[0] in VIEWER_OPS and _OP_ID.match(parts[1]) else None


class LabelingStore:
    """Sessions, images, masks, edits, assignments, locks and audit on a ``core.db`` engine."""

    def __init__(self, path: str | Path | Engine | None = None) -> None:
        """``path``: an engine, a SQLite file, or None for ``core.db.get_engine()`` (``MEDLENS_DB_URL``)."""
        try:
            if isinstance(path, Engine):
                self.engine = path
            else:
                self.engine = get_engine(f"sqlite:///{Path(path)}" if path else None)
        except (OSError, SQLAlchemyError) as exc:
            raise InputError(f"cannot open the labeling database (set MEDLENS_DATA_DIR or MEDLENS_DB_URL): "
                             f"{type(exc).__name__}") from None
        self.path = path

    def close(self) -> None:
        """Nothing to release: the engine's pool is process-wide (``core.db.dispose_all``)."""

    # -- plumbing
    def _audit(self, db: Connection, user: str, action: str, image_id: int | None = None,
               session_id: int | None = None, detail: str = "") -> None:
        db.execute(insert(t.audit).values(session_id=session_id, image_id=image_id, username=user or LOCAL,
                                          at=time.time(), action=action, detail=detail[:2000]))

    def _session_of(self, db: Connection, image_id: int) -> int | None:
        return db.execute(select(t.images.c.session_id).where(t.images.c.id == image_id)).scalar()

    # -- sessions
    def create_session(self, name: str, labels: Sequence[str], annotator: str = "",
                       colours: Sequence[str] | None = None, owner: str = LOCAL) -> Session:
        labels = [str(label).strip() for label in labels if str(label).strip()]
        if not name.strip():
            raise InputError("a labeling session needs a name")
        if not labels or len(set(labels)) != len(labels):
            raise InputError("a labeling session needs at least one label, each named once")
        colours = list(colours or [])
        colours += [DEFAULT_COLOURS[i % len(DEFAULT_COLOURS)] for i in range(len(colours), len(labels))]
        now = time.time()
        with write(self.engine) as db:
            session_id = db.execute(insert(t.sessions).values(
                name=name.strip(), labels=json.dumps(labels), colours=json.dumps(colours[: len(labels)]),
                annotator=annotator, owner=owner or LOCAL, created=now, updated=now, current_frame=0,
                current_label=labels[0])).inserted_primary_key[0]
            self._audit(db, owner, "create session", session_id=session_id, detail=name.strip())
        return self.get_session(int(session_id))

    @staticmethod
    def _session(row: Any) -> Session:
        return Session(int(row.id), row.name, json.loads(row.labels), json.loads(row.colours), row.annotator,
                       row.current_image, int(row.current_frame or 0), row.current_label, float(row.updated or 0),
                       row.owner)

    def get_session(self, session_id: int) -> Session:
        with read(self.engine) as db:
            row = db.execute(select(t.sessions).where(t.sessions.c.id == session_id)).first()
        if row is None:
            raise InputError(f"no labeling session {session_id}")
        return self._session(row)

    def list_sessions(self, user: str | None = None, admin: bool = False) -> list[Session]:
        """Sessions ``user`` may open (owned, or holding an image assigned to them), newest first;
        every session without a user or for an admin."""
        query = select(t.sessions).order_by(t.sessions.c.updated.desc(), t.sessions.c.id.desc())
        if user is not None and not admin:
            assigned = select(t.images.c.session_id).join(
                t.assignments, t.assignments.c.image_id == t.images.c.id).where(t.assignments.c.username == user)
            query = query.where(or_(t.sessions.c.owner == user, t.sessions.c.id.in_(assigned)))
        with read(self.engine) as db:
            return [self._session(r) for r in db.execute(query)]

    def latest_session(self, user: str | None = None, admin: bool = False) -> Session | None:
        sessions = self.list_sessions(user, admin)
        return sessions[0] if sessions else None

    def can_open(self, session_id: int, user: str | None, admin: bool = False) -> bool:
        """Whether ``user`` may see this session (see the module doc)."""
        return user is None or admin or any(s.id == session_id for s in self.list_sessions(user))

    def update_session(self, session_id: int, **fields: Any) -> Session:
        """Change ``name``, ``annotator``, ``labels`` (adding only), ``colours`` or the session-wide
        position (``current_image``, ``current_frame``, ``current_label``: the default for a user
        who has no position of their own yet; each user's own is :meth:`set_position`)."""
        allowed = {"name", "annotator", "labels", "colours", "current_image", "current_frame", "current_label"}
        unknown = set(fields) - allowed
        if unknown:
            raise InputError(f"cannot change {', '.join(sorted(unknown))} of a session")
        if "labels" in fields:
            old = self.get_session(session_id).labels
            new = [str(x).strip() for x in fields["labels"] if str(x).strip()]
            if not set(old) <= set(new) or len(set(new)) != len(new):
                raise InputError("labels can be added to a session, not removed or repeated")
        values = {k: json.dumps(v) if k in ("labels", "colours") else v for k, v in fields.items()}
        values["updated"] = time.time()
        with write(self.engine) as db:
            db.execute(update(t.sessions).where(t.sessions.c.id == session_id).values(**values))
        return self.get_session(session_id)

    def delete_session(self, session_id: int, user: str = LOCAL) -> None:
        with write(self.engine) as db:
            ids = [r[0] for r in db.execute(select(t.images.c.id).where(t.images.c.session_id == session_id))]
            if ids:
                for table in (t.image_data, t.masks, t.edits, t.steps, t.assignments, t.locks):
                    db.execute(delete(table).where(table.c.image_id.in_(ids)))
            db.execute(delete(t.positions).where(t.positions.c.session_id == session_id))
            db.execute(delete(t.images).where(t.images.c.session_id == session_id))
            db.execute(delete(t.sessions).where(t.sessions.c.id == session_id))
            self._audit(db, user, "delete session", session_id=session_id)

    # -- where each user is
    @staticmethod
    def _position(row: Any) -> Position:
        return Position(int(row.session_id), row.username, None if row.image_id is None else int(row.image_id),
                        int(row.frame or 0), row.label, float(row.updated))

    def position(self, session_id: int, user: str) -> Position | None:
        """Where ``user`` was in this session; None before they opened anything in it."""
        with read(self.engine) as db:
            row = db.execute(select(t.positions).where(t.positions.c.session_id == session_id,
                                                       t.positions.c.username == (user or LOCAL))).first()
        return None if row is None else self._position(row)

    def last_position(self, user: str) -> Position | None:
        """``user``'s most recent position in any session (where a reload resumes)."""
        with read(self.engine) as db:
            row = db.execute(select(t.positions).where(t.positions.c.username == (user or LOCAL))
                             .order_by(t.positions.c.updated.desc()).limit(1)).first()
        return None if row is None else self._position(row)

    def set_position(self, session_id: int, user: str, image_id: int | None = None, frame: int | None = None,
                     label: str | None = None) -> Position:
        """Record where ``user`` is in this session; only the fields given change (an image given
        without a frame starts at frame 0). Nobody else's position moves."""
        user = user or LOCAL
        changes: dict[str, Any] = {"updated": time.time()}
        if image_id is not None:
            changes.update(image_id=int(image_id), frame=0)
        if frame is not None:
            changes["frame"] = int(frame)
        if label is not None:
            changes["label"] = str(label)
        with write(self.engine) as db:
            if db.execute(select(t.sessions.c.id).where(t.sessions.c.id == session_id)).first() is None:
                raise InputError(f"no labeling session {session_id}")
            if image_id is not None and db.execute(select(t.images.c.id).where(
                    t.images.c.id == image_id, t.images.c.session_id == session_id)).first() is None:
                raise InputError(f"image {image_id} is not in labeling session {session_id}")
            dialect_insert = pg_insert if db.dialect.name == "postgresql" else sqlite_insert
            statement = dialect_insert(t.positions).values(session_id=session_id, username=user,
                                                           **{"frame": 0, **changes})
            db.execute(statement.on_conflict_do_update(index_elements=["session_id", "username"], set_=changes))
            row = db.execute(select(t.positions).where(t.positions.c.session_id == session_id,
                                                       t.positions.c.username == user)).one()
        return self._position(row)

    # -- images
    def add_image(self, session_id: int, image: Any, name: str | None = None, user: str = LOCAL) -> int:
        """Add a ``MedImage`` to the session (the same pixels twice give the same id)."""
        self.get_session(session_id)
        data = encode_image(image)
        sha = hashlib.sha256(np.ascontiguousarray(image.pixels).tobytes()).hexdigest()
        frames, h, w = image_shape(image)
        now = time.time()
        with write(self.engine) as db:
            found = db.execute(select(t.images.c.id).where(t.images.c.session_id == session_id,
                                                           t.images.c.sha == sha)).scalar()
            if found is not None:
                return int(found)
            position = db.execute(select(func.coalesce(func.max(t.images.c.position), -1) + 1)
                                  .where(t.images.c.session_id == session_id)).scalar_one()
            image_id = int(db.execute(insert(t.images).values(
                session_id=session_id, position=position, name=name or image.name, sha=sha, status="to do",
                annotator="", frames=frames, height=h, width=w, updated=now, review="", review_comment="",
                reviewer="")).inserted_primary_key[0])
            db.execute(insert(t.image_data).values(image_id=image_id, data=data))
            db.execute(update(t.sessions).where(t.sessions.c.id == session_id).values(updated=now))
            self._audit(db, user, "add image", image_id, session_id, name or image.name)
        return image_id

    @staticmethod
    def _record(row: Any) -> ImageRecord:
        return ImageRecord(int(row.id), int(row.session_id), int(row.position), row.name, row.status, row.annotator,
                           row.uncertainty, (int(row.frames), int(row.height), int(row.width)),
                           review=row.review, review_comment=row.review_comment, reviewer=row.reviewer)

    def list_images(self, session_id: int, user: str | None = None, admin: bool = False) -> list[ImageRecord]:
        """The session's images in order; for a user who neither owns the session nor is an
        admin, only the images assigned to them."""
        query = select(t.images).where(t.images.c.session_id == session_id).order_by(t.images.c.position)
        with read(self.engine) as db:
            if user is not None and not admin:
                owner = db.execute(select(t.sessions.c.owner).where(t.sessions.c.id == session_id)).scalar()
                if owner != user:
                    query = query.where(t.images.c.id.in_(
                        select(t.assignments.c.image_id).where(t.assignments.c.username == user)))
            return [self._record(r) for r in db.execute(query)]

    def get_image_record(self, image_id: int) -> ImageRecord:
        with read(self.engine) as db:
            row = db.execute(select(t.images).where(t.images.c.id == image_id)).first()
        if row is None:
            raise InputError(f"no image {image_id} in the labeling store")
        return self._record(row)

    def load_image(self, image_id: int) -> Any:
        with read(self.engine) as db:
            data = db.execute(select(t.image_data.c.data).where(t.image_data.c.image_id == image_id)).scalar()
        if data is None:
            raise InputError(f"no image {image_id} in the labeling store")
        return decode_image(bytes(data))

    def set_status(self, image_id: int, status: str, annotator: str | None = None, user: str = LOCAL) -> None:
        if status not in STATUSES:
            raise InputError(f"status must be one of {', '.join(STATUSES)}")
        values: dict[str, Any] = {"status": status, "updated": time.time()}
        if annotator is not None:
            values["annotator"] = annotator
        with write(self.engine) as db:
            db.execute(update(t.images).where(t.images.c.id == image_id).values(**values))
            self._audit(db, user, "status", image_id, self._session_of(db, image_id), status)

    def set_uncertainty(self, image_id: int, value: float | None) -> None:
        with write(self.engine) as db:
            db.execute(update(t.images).where(t.images.c.id == image_id).values(uncertainty=value))

    def next_image(self, session_id: int, current: int | None = None, by_uncertainty: bool = False,
                   user: str | None = None, admin: bool = False) -> int | None:
        """The next unfinished image (of those ``user`` sees): by list order after ``current``
        (wrapping around), or the most uncertain first (unscored ones last, in list order)."""
        listed = self.list_images(session_id, user, admin)
        images = [r for r in listed if r.status != "done" and r.id != current]
        if not images:
            return None
        if by_uncertainty:
            images.sort(key=lambda r: (r.uncertainty is None, -(r.uncertainty or 0.0), r.position))
            return images[0].id
        pos = next((r.position for r in listed if r.id == current), -1)
        after = [r for r in images if r.position > pos]
        return (after or images)[0].id

    # -- assignments, advisory locks, reviews
    def assign(self, image_id: int, users: Sequence[str], by: str = LOCAL) -> None:
        """Assign the image to these annotators (added to those already assigned)."""
        with write(self.engine) as db:
            have = {r[0] for r in db.execute(select(t.assignments.c.username).where(t.assignments.c.image_id == image_id))}
            for name in users:
                if name and name not in have:
                    db.execute(insert(t.assignments).values(image_id=image_id, username=name))
                    have.add(name)
            self._audit(db, by, "assign", image_id, self._session_of(db, image_id), ", ".join(users))

    def unassign(self, image_id: int, name: str, by: str = LOCAL) -> None:
        with write(self.engine) as db:
            db.execute(delete(t.assignments).where(t.assignments.c.image_id == image_id,
                                                   t.assignments.c.username == name))
            self._audit(db, by, "unassign", image_id, self._session_of(db, image_id), name)

    def assignees(self, image_id: int) -> list[str]:
        with read(self.engine) as db:
            return sorted(r[0] for r in db.execute(
                select(t.assignments.c.username).where(t.assignments.c.image_id == image_id)))

    def touch_lock(self, image_id: int, user: str) -> None:
        """Say "``user`` is editing this image" (advisory: nobody is kept out)."""
        with write(self.engine) as db:
            found = db.execute(update(t.locks).where(t.locks.c.image_id == image_id, t.locks.c.username == user)
                               .values(at=time.time())).rowcount
            if not found:
                db.execute(insert(t.locks).values(image_id=image_id, username=user, at=time.time()))

    def release_lock(self, image_id: int, user: str) -> None:
        with write(self.engine) as db:
            db.execute(delete(t.locks).where(t.locks.c.image_id == image_id, t.locks.c.username == user))

    def editors(self, image_ids: Sequence[int]) -> dict[int, list[str]]:
        """``{image id: [names editing it]}`` from advisory locks younger than ``LOCK_TTL_S``."""
        if not image_ids:
            return {}
        out: dict[int, list[str]] = {}
        with read(self.engine) as db:
            for row in db.execute(select(t.locks).where(t.locks.c.image_id.in_(list(image_ids)),
                                                        t.locks.c.at > time.time() - LOCK_TTL_S)
                                  .order_by(t.locks.c.username)):
                out.setdefault(int(row.image_id), []).append(row.username)
        return out

    def review(self, image_id: int, decision: str, comment: str, reviewer: str) -> None:
        """A reviewer accepts (the image is done) or returns it (back to in progress) with a comment."""
        if decision not in REVIEWS:
            raise InputError(f"a review is one of {', '.join(REVIEWS)}")
        if decision == "returned" and not comment.strip():
            raise InputError("say why the image is returned (a comment is needed)")
        status = "done" if decision == "accepted" else "in progress"
        with write(self.engine) as db:
            db.execute(update(t.images).where(t.images.c.id == image_id).values(
                review=decision, review_comment=comment.strip()[:2000], reviewer=reviewer, status=status,
                updated=time.time()))
            self._audit(db, reviewer, decision, image_id, self._session_of(db, image_id), comment.strip())

    # -- masks and edits
    def _lock_image(self, db: Connection, image_id: int) -> tuple[int, int]:
        """Serialise writers of one image (PostgreSQL: row lock; SQLite: the write transaction
        already holds the database's write lock); returns the image's ``(H, W)``."""
        row = db.execute(select(t.images.c.height, t.images.c.width).where(t.images.c.id == image_id)
                         .with_for_update()).first()
        if row is None:
            raise InputError(f"no image {image_id} in the labeling store")
        return int(row.height), int(row.width)

    def _get_mask(self, db: Connection, image_id: int, label: str, frame: int, hw: tuple[int, int]) -> tuple[np.ndarray, int]:
        row = db.execute(select(t.masks.c.data, t.masks.c.version).where(
            t.masks.c.image_id == image_id, t.masks.c.label == label, t.masks.c.frame == frame)).first()
        if row is None:
            return np.zeros(hw, bool), 0
        return unpack(bytes(row.data), hw), int(row.version)

    def _put_mask(self, db: Connection, image_id: int, label: str, frame: int, mask: np.ndarray,
                  version: int, user: str) -> None:
        now = time.time()
        values = dict(data=pack(mask), version=version + 1, updated=now, updated_by=user)
        if version == 0 and not db.execute(select(t.masks.c.version).where(
                t.masks.c.image_id == image_id, t.masks.c.label == label, t.masks.c.frame == frame)).first():
            db.execute(insert(t.masks).values(image_id=image_id, label=label, frame=int(frame), **values))
        else:
            db.execute(update(t.masks).where(t.masks.c.image_id == image_id, t.masks.c.label == label,
                                             t.masks.c.frame == frame).values(**values))
        db.execute(update(t.images).where(t.images.c.id == image_id).values(updated=now))
        db.execute(update(t.images).where(t.images.c.id == image_id, t.images.c.status == "to do")
                   .values(status="in progress"))

    def save_mask(self, image_id: int, label: str, frame: int, mask: np.ndarray, user: str = LOCAL) -> None:
        """Replace one label's mask on one frame, as one edit (an import or a model result)."""
        mask = np.asarray(mask, bool)
        self.apply_edit(image_id, label, frame, np.ones(mask.shape, bool), mask, user, description="replace")

    @staticmethod
    def _edit(row: Any) -> Edit:
        edit = Edit(row.label, int(row.frame), tuple(json.loads(row.bbox)), bytes(row.before), bytes(row.after),
                    row.description, int(row.id))
        return edit

    def apply_edit(self, image_id: int, label: str, frame: int, footprint: np.ndarray, values: np.ndarray | bool,
                   user: str = LOCAL, op_id: str | None = None, description: str = "") -> EditResult:
        """Write ``values`` on the ``footprint`` pixels of the *latest saved* mask, in one transaction.

        ``values`` is True (a brush or polygon), False (an eraser) or an ``(H, W)`` bool array (a
        model result or an import). An ``op_id`` stored before for this image is acknowledged
        without being applied twice. A new edit drops ``user``'s undone edits (their redo branch)."""
        footprint = np.asarray(footprint, bool)
        if op_id is not None and not _OP_ID.match(op_id):
            raise InputError("an edit id is 1-64 letters, digits, '-' or '_'")
        with write(self.engine) as db:
            hw = self._lock_image(db, image_id)
            if footprint.shape != hw:
                raise InputError(f"an edit of shape {footprint.shape} does not fit the image {hw}")
            frames = db.execute(select(t.images.c.frames).where(t.images.c.id == image_id)).scalar_one()
            if not 0 <= int(frame) < int(frames):
                raise InputError(f"frame {frame} is outside the image (0..{int(frames) - 1})")
            if op_id is not None:
                seen = db.execute(select(t.edits).where(t.edits.c.image_id == image_id, t.edits.c.op_id == op_id)).first()
                if seen is not None:
                    return EditResult(self._edit(seen), self._get_mask(db, image_id, seen.label, seen.frame, hw)[0], False)
            old, version = self._get_mask(db, image_id, label, frame, hw)
            new = old.copy()
            new[footprint] = values if isinstance(values, (bool, np.bool_)) else np.asarray(values, bool)[footprint]
            changed = Edit.between(label, frame, old, new, description)
            edit = changed or Edit(label, int(frame), (0, 0, 0, 0), b"", b"", description)
            db.execute(update(t.edits).where(t.edits.c.image_id == image_id, t.edits.c.username == user,
                                             t.edits.c.undone == 1).values(undone=2))
            touched = _bbox(footprint)
            r0, r1, c0, c1 = touched
            written = np.zeros(hw, bool)
            written[footprint] = new[footprint]
            edit.id = int(db.execute(insert(t.edits).values(
                image_id=image_id, op_id=op_id, username=user, label=label, frame=int(frame),
                bbox=json.dumps(list(edit.bbox)), touched=json.dumps(list(touched)), before=edit.before,
                after=edit.after, op_mask=pack(footprint[r0:r1, c0:c1]), op_values=pack(written[r0:r1, c0:c1]),
                description=description, undone=0, created=time.time())).inserted_primary_key[0])
            if changed is not None:
                self._put_mask(db, image_id, label, frame, new, version, user)
            self._audit(db, user, "edit", image_id, self._session_of(db, image_id),
                        f"{label} frame {frame}: {description or 'edit'}")
        return EditResult(edit, new, True)

    def record_edit(self, image_id: int, edit: Edit, mask: np.ndarray, user: str = LOCAL) -> int:
        """Store an edit made on a local copy, as an operation: the pixels it changed get its values
        on the latest saved mask (other users' strokes elsewhere are kept). Returns its id."""
        r0, r1, c0, c1 = edit.bbox
        hw = np.asarray(mask).shape
        footprint, values = np.zeros(hw, bool), np.zeros(hw, bool)
        if r1 > r0 and c1 > c0:
            before, after = unpack(edit.before, edit.patch_shape), unpack(edit.after, edit.patch_shape)
            footprint[r0:r1, c0:c1] = before != after
            values[r0:r1, c0:c1] = after
        result = self.apply_edit(image_id, edit.label, edit.frame, footprint, values, user,
                                 op_id_of(edit.description), edit.description)
        edit.id = result.edit.id
        return int(edit.id)

    def _conflict(self, db: Connection, image_id: int, edit_row: Any, user: str) -> str | None:
        """The name of another user whose later, applied edit touches what undoing/redoing
        ``edit_row`` would change; None when there is none."""
        bbox = json.loads(edit_row.bbox)
        if bbox[1] <= bbox[0]:
            return None
        rows = db.execute(select(t.edits.c.username, t.edits.c.touched).where(
            t.edits.c.image_id == image_id, t.edits.c.id > edit_row.id, t.edits.c.undone == 0,
            t.edits.c.username != user, t.edits.c.label == edit_row.label, t.edits.c.frame == edit_row.frame))
        for row in rows:
            if _overlap(bbox, json.loads(row.touched)):
                return row.username
        return None

    def _step(self, image_id: int, user: str, undo: bool, op_id: str | None = None) -> EditResult | None:
        if op_id is not None and not _OP_ID.match(op_id):
            raise InputError("an edit id is 1-64 letters, digits, '-' or '_'")
        with write(self.engine) as db:
            hw = self._lock_image(db, image_id)
            if op_id is not None:  # a step with an id is taken once (the viewer re-sends after a reload)
                if db.execute(select(t.steps.c.op_id).where(t.steps.c.image_id == image_id,
                                                            t.steps.c.op_id == op_id)).first() is not None:
                    return None
                db.execute(insert(t.steps).values(image_id=image_id, op_id=op_id, username=user,
                                                  action="undo" if undo else "redo", at=time.time()))
            query = select(t.edits).where(t.edits.c.image_id == image_id, t.edits.c.username == user,
                                          t.edits.c.undone == (0 if undo else 1))
            row = db.execute(query.order_by(t.edits.c.id.desc() if undo else t.edits.c.id.asc()).limit(1)).first()
            if row is None:
                return None  # nothing to undo: the id is still recorded, so a re-send does nothing either
            other = self._conflict(db, image_id, row, user)
            if other is not None:  # raised inside the transaction: the step's id is not kept
                raise InputError(f"changed by {other}; reload (your {'undo' if undo else 'redo'} would "
                                 f"overwrite their later edit of {row.label})")
            edit = self._edit(row)
            mask, version = self._get_mask(db, image_id, edit.label, edit.frame, hw)
            r0, r1, c0, c1 = edit.bbox
            if r1 > r0:
                before, after = unpack(edit.before, edit.patch_shape), unpack(edit.after, edit.patch_shape)
                diff = before != after
                mask[r0:r1, c0:c1][diff] = (before if undo else after)[diff]
                self._put_mask(db, image_id, edit.label, edit.frame, mask, version, user)
            db.execute(update(t.edits).where(t.edits.c.id == row.id).values(undone=1 if undo else 0))
            self._audit(db, user, "undo" if undo else "redo", image_id, self._session_of(db, image_id),
                        f"{edit.label} frame {edit.frame}: {edit.description or 'edit'}")
        return EditResult(edit, mask, True)

    def undo(self, image_id: int, user: str = LOCAL, op_id: str | None = None) -> EditResult | None:
        """Undo ``user``'s latest applied edit of this image; ``InputError`` "changed by NAME; reload"
        when another user has built on it since. An ``op_id`` (the viewer's step id) seen before for
        this image does nothing: None, as when there is nothing to undo."""
        return self._step(image_id, user, undo=True, op_id=op_id)

    def redo(self, image_id: int, user: str = LOCAL, op_id: str | None = None) -> EditResult | None:
        """Redo ``user``'s earliest undone edit of this image (same conflict and id rules as ``undo``)."""
        return self._step(image_id, user, undo=False, op_id=op_id)

    def record_undo(self, image_id: int, edit: Edit, mask: np.ndarray, undone: bool = True, user: str = LOCAL) -> None:
        """Compatibility: undo (or redo) ``user``'s latest edit (the store decides which)."""
        self._step(image_id, user, undo=undone)

    def load_masks(self, image_id: int, labels: Sequence[str]) -> dict[str, np.ndarray]:
        """``{label: (frames, H, W) bool}`` for every label (empty where nothing was saved)."""
        frames, h, w = self.get_image_record(image_id).shape
        out = {label: np.zeros((frames, h, w), bool) for label in labels}
        with read(self.engine) as db:
            for row in db.execute(select(t.masks.c.label, t.masks.c.frame, t.masks.c.data)
                                  .where(t.masks.c.image_id == image_id)):
                if row.label in out and 0 <= row.frame < frames:
                    out[row.label][row.frame] = unpack(bytes(row.data), (h, w))
        return out

    def mask_versions(self, image_id: int) -> dict[tuple[str, int], int]:
        """``{(label, frame): version}``: what changed since a workspace last looked."""
        with read(self.engine) as db:
            return {(r.label, int(r.frame)): int(r.version) for r in db.execute(
                select(t.masks.c.label, t.masks.c.frame, t.masks.c.version).where(t.masks.c.image_id == image_id))}

    def load_history(self, image_id: int, limit: int = 500, user: str | None = None) -> History:
        """The undo list of ``user`` (everyone's when None) on this image: applied edits, then undone ones."""
        query = select(t.edits).where(t.edits.c.image_id == image_id, t.edits.c.undone < 2)
        if user is not None:
            query = query.where(t.edits.c.username == user)
        with read(self.engine) as db:
            rows = list(db.execute(query.order_by(t.edits.c.id.desc()).limit(limit)))[::-1]
        applied = [self._edit(r) for r in rows if not r.undone]
        undone = [self._edit(r) for r in rows if r.undone]
        return History(applied + undone, len(applied), limit)

    def edit_ids(self, image_id: int) -> dict[str, str]:
        """``{op id: username}`` of the edits stored for this image (acknowledged ids)."""
        with read(self.engine) as db:
            return {r.op_id: r.username for r in db.execute(
                select(t.edits.c.op_id, t.edits.c.username).where(t.edits.c.image_id == image_id,
                                                                  t.edits.c.op_id.is_not(None)))}

    def op_ids(self, image_id: int) -> set[str]:
        """Every id taken for this image: edits' and undo/redo steps' (a viewer's ledger starts from these)."""
        with read(self.engine) as db:
            steps = {r[0] for r in db.execute(select(t.steps.c.op_id).where(t.steps.c.image_id == image_id))}
        return set(self.edit_ids(image_id)) | steps

    def edit_count(self, image_id: int | None = None) -> int:
        query = select(func.count()).select_from(t.edits).where(t.edits.c.undone < 2)
        if image_id is not None:
            query = query.where(t.edits.c.image_id == image_id)
        with read(self.engine) as db:
            return int(db.execute(query).scalar_one())

    def user_masks(self, image_id: int, labels: Sequence[str]) -> dict[str, dict[str, np.ndarray]]:
        """``{user: {label: (frames, H, W)}}``: each user's applied operations (footprint and
        values) replayed in order on empty masks: what each annotator drew, for agreement."""
        frames, h, w = self.get_image_record(image_id).shape
        out: dict[str, dict[str, np.ndarray]] = {}
        with read(self.engine) as db:
            rows = db.execute(select(t.edits).where(t.edits.c.image_id == image_id, t.edits.c.undone == 0)
                              .order_by(t.edits.c.id))
            for row in rows:
                if row.label not in labels:
                    continue
                masks = out.setdefault(row.username, {label: np.zeros((frames, h, w), bool) for label in labels})
                r0, r1, c0, c1 = json.loads(row.touched)
                if r1 > r0:
                    footprint = unpack(bytes(row.op_mask), (r1 - r0, c1 - c0))
                    values = unpack(bytes(row.op_values), (r1 - r0, c1 - c0))
                    masks[row.label][row.frame, r0:r1, c0:c1][footprint] = values[footprint]
        return out

    def open_maskset(self, session: Session, image_id: int, user: str | None = None) -> MaskSet:
        """The image's masks and ``user``'s history, ready to edit."""
        shape = self.get_image_record(image_id).shape
        return MaskSet(session.labels, shape, self.load_masks(image_id, session.labels),
                       self.load_history(image_id, user=user))

    def iter_session(self, session_id: int, user: str | None = None,
                     admin: bool = False) -> Iterator[tuple[ImageRecord, Any, dict[str, np.ndarray]]]:
        """``(record, image, masks)`` for each image of a session ``user`` sees (for exports)."""
        session = self.get_session(session_id)
        for record in self.list_images(session_id, user, admin):
            yield record, self.load_image(record.id), self.load_masks(record.id, session.labels)

    # -- audit
    def audit(self, image_id: int | None = None, session_id: int | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Audit entries (newest first): ``at``, ``user``, ``action``, ``image_id``, ``detail``."""
        query = select(t.audit).order_by(t.audit.c.id.desc()).limit(limit)
        if image_id is not None:
            query = query.where(t.audit.c.image_id == image_id)
        if session_id is not None:
            query = query.where(t.audit.c.session_id == session_id)
        with read(self.engine) as db:
            return [{"at": float(r.at), "user": r.username, "action": r.action, "session_id": r.session_id,
                     "image_id": r.image_id, "detail": r.detail} for r in db.execute(query)]

    def audit_csv(self, image_id: int | None = None, session_id: int | None = None) -> bytes:
        """The audit log as CSV (UTC ISO times), for download."""
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["time_utc", "user", "action", "session_id", "image_id", "detail"])
        for e in reversed(self.audit(image_id, session_id, limit=1_000_000)):
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(e["at"]))
            writer.writerow([stamp, e["user"], e["action"], e["session_id"], e["image_id"], e["detail"]])
        return buf.getvalue().encode()


# ------------------------------------------------------------------ process-wide stores

_stores: dict[str, LabelingStore] = {}
_stores_lock = threading.Lock()


def get_store(path: str | Path | None = None) -> LabelingStore:
    """The store on ``path`` (default: ``core.db``'s database in force, ``MEDLENS_DB_URL``)."""
    if not path:
        return LabelingStore()  # cheap: the engine is process-wide, and follows the environment
    key = str(path)
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = LabelingStore(path)
        return store
