"""Labeling sessions on disk (SQLite in WAL mode), saved edit by edit and resumable.

A **session** holds a set of images, its labels (with colours), the annotator's name and where
the user was (current image, frame, label). Each **image** has a status (``to do`` /
``in progress`` / ``done``), an annotator, and optionally the model's uncertainty (mean
binary entropy of its probability map, in bits, 0..1) so that "next image" can serve the
hardest cases first. Every mask edit is one transaction that stores the edit (for undo/redo
after a reload) and the label's new mask on that frame: a browser reload or a server restart
resumes exactly there, and a process killed mid-session loses at most the edit in flight.

The database lives at ``core.paths.data_dir() / "labeling" / "labeling.sqlite"``. Several
processes may write at once (WAL, ``busy_timeout``); each ``LabelingStore`` serialises its own
threads with a lock.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from core.errors import InputError
from core.labeling.codec import decode_image, encode_image, image_shape
from core.masks.history import Edit, History, pack, unpack
from core.masks.maskset import DEFAULT_COLOURS, MaskSet
from core.paths import data_dir, private_file

STATUSES = ("to do", "in progress", "done")
SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, labels TEXT NOT NULL, colours TEXT NOT NULL,
    annotator TEXT NOT NULL DEFAULT '', created REAL, updated REAL,
    current_image INTEGER, current_frame INTEGER NOT NULL DEFAULT 0, current_label TEXT);
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL, position INTEGER NOT NULL, name TEXT NOT NULL,
    sha TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'to do', annotator TEXT NOT NULL DEFAULT '',
    uncertainty REAL, frames INTEGER, height INTEGER, width INTEGER, updated REAL,
    UNIQUE (session_id, sha));
CREATE TABLE IF NOT EXISTS image_data (image_id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS masks (
    image_id INTEGER NOT NULL, label TEXT NOT NULL, frame INTEGER NOT NULL, data BLOB NOT NULL,
    updated REAL, PRIMARY KEY (image_id, label, frame));
CREATE TABLE IF NOT EXISTS edits (
    id INTEGER PRIMARY KEY AUTOINCREMENT, image_id INTEGER NOT NULL, label TEXT NOT NULL,
    frame INTEGER NOT NULL, bbox TEXT NOT NULL, before BLOB NOT NULL, after BLOB NOT NULL,
    description TEXT NOT NULL DEFAULT '', undone INTEGER NOT NULL DEFAULT 0, created REAL);
CREATE INDEX IF NOT EXISTS edits_image ON edits (image_id, id);
CREATE INDEX IF NOT EXISTS images_session ON images (session_id, position);
"""


def default_path() -> Path:
    """Where the labeling database lives by default (under ``MEDLENS_DATA_DIR``)."""
    return data_dir() / "labeling" / "labeling.sqlite"


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

    def colour(self, label: str) -> str:
        return self.colours[self.labels.index(label)] if label in self.labels else "#ff0000"


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


# ------------------------------------------------------------------ the store


class LabelingStore:
    """Sessions, images, masks and edits in one SQLite file (WAL)."""

    def __init__(self, path: str | Path | None = None, timeout_s: float = 30.0) -> None:
        self.path = Path(path) if path else default_path()
        self._lock = threading.RLock()
        try:
            private_file(self.path)  # 0600 in a 0700 folder; SQLite gives -wal and -shm the same mode
            self._db = sqlite3.connect(str(self.path), timeout=timeout_s, check_same_thread=False,
                                       isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")  # WAL: a commit survives a killed process
            with self._tx():
                for statement in SCHEMA.strip().split(";"):
                    if statement.strip():
                        self._db.execute(statement)
        except (OSError, sqlite3.Error) as exc:
            raise InputError(f"cannot open the labeling store {self.path} (set MEDLENS_DATA_DIR): {exc}") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- plumbing
    class _Tx:
        def __init__(self, store: "LabelingStore") -> None:
            self.store = store

        def __enter__(self) -> sqlite3.Connection:
            self.store._lock.acquire()
            try:
                self.store._db.execute("BEGIN IMMEDIATE")
            except BaseException:
                self.store._lock.release()
                raise
            return self.store._db

        def __exit__(self, exc_type, exc, tb) -> None:
            try:
                self.store._db.execute("ROLLBACK" if exc_type else "COMMIT")
            finally:
                self.store._lock.release()

    def _tx(self) -> "LabelingStore._Tx":
        """One write transaction (``BEGIN IMMEDIATE``: waits for other writers, then commits)."""
        return LabelingStore._Tx(self)

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    # -- sessions
    def create_session(self, name: str, labels: Sequence[str], annotator: str = "",
                       colours: Sequence[str] | None = None) -> Session:
        labels = [str(label).strip() for label in labels if str(label).strip()]
        if not name.strip():
            raise InputError("a labeling session needs a name")
        if not labels or len(set(labels)) != len(labels):
            raise InputError("a labeling session needs at least one label, each named once")
        colours = list(colours or [])
        colours += [DEFAULT_COLOURS[i % len(DEFAULT_COLOURS)] for i in range(len(colours), len(labels))]
        now = time.time()
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO sessions (name, labels, colours, annotator, created, updated, current_label) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name.strip(), json.dumps(labels), json.dumps(colours[: len(labels)]), annotator, now, now, labels[0]))
            session_id = int(cur.lastrowid)
        return self.get_session(session_id)

    def _session(self, row: sqlite3.Row) -> Session:
        return Session(int(row["id"]), row["name"], json.loads(row["labels"]), json.loads(row["colours"]),
                       row["annotator"], row["current_image"], int(row["current_frame"] or 0), row["current_label"],
                       float(row["updated"] or 0))

    def get_session(self, session_id: int) -> Session:
        rows = self._query("SELECT * FROM sessions WHERE id = ?", (session_id,))
        if not rows:
            raise InputError(f"no labeling session {session_id}")
        return self._session(rows[0])

    def list_sessions(self) -> list[Session]:
        return [self._session(r) for r in self._query("SELECT * FROM sessions ORDER BY updated DESC, id DESC")]

    def latest_session(self) -> Session | None:
        sessions = self.list_sessions()
        return sessions[0] if sessions else None

    def update_session(self, session_id: int, **fields: Any) -> Session:
        """Change ``name``, ``annotator``, ``labels`` (adding only), ``colours`` or the position
        (``current_image``, ``current_frame``, ``current_label``)."""
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
        with self._tx() as db:
            db.execute(f"UPDATE sessions SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                       (*values.values(), session_id))
        return self.get_session(session_id)

    def delete_session(self, session_id: int) -> None:
        with self._tx() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM images WHERE session_id = ?", (session_id,))]
            for table in ("image_data", "masks", "edits"):
                db.executemany(f"DELETE FROM {table} WHERE image_id = ?", [(i,) for i in ids])
            db.execute("DELETE FROM images WHERE session_id = ?", (session_id,))
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    # -- images
    def add_image(self, session_id: int, image: Any, name: str | None = None) -> int:
        """Add a ``MedImage`` to the session (the same pixels twice give the same id)."""
        self.get_session(session_id)
        data = encode_image(image)
        sha = hashlib.sha256(np.ascontiguousarray(image.pixels).tobytes()).hexdigest()
        frames, h, w = image_shape(image)
        now = time.time()
        with self._tx() as db:
            row = db.execute("SELECT id FROM images WHERE session_id = ? AND sha = ?", (session_id, sha)).fetchone()
            if row:
                return int(row[0])
            position = db.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM images WHERE session_id = ?",
                                  (session_id,)).fetchone()[0]
            cur = db.execute(
                "INSERT INTO images (session_id, position, name, sha, frames, height, width, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, position, name or image.name, sha, frames, h, w, now))
            image_id = int(cur.lastrowid)
            db.execute("INSERT INTO image_data (image_id, data) VALUES (?, ?)", (image_id, data))
            db.execute("UPDATE sessions SET updated = ? WHERE id = ?", (now, session_id))
        return image_id

    def _record(self, row: sqlite3.Row) -> ImageRecord:
        return ImageRecord(int(row["id"]), int(row["session_id"]), int(row["position"]), row["name"], row["status"],
                           row["annotator"], row["uncertainty"], (int(row["frames"]), int(row["height"]), int(row["width"])))

    def list_images(self, session_id: int) -> list[ImageRecord]:
        return [self._record(r) for r in self._query(
            "SELECT * FROM images WHERE session_id = ? ORDER BY position", (session_id,))]

    def get_image_record(self, image_id: int) -> ImageRecord:
        rows = self._query("SELECT * FROM images WHERE id = ?", (image_id,))
        if not rows:
            raise InputError(f"no image {image_id} in the labeling store")
        return self._record(rows[0])

    def load_image(self, image_id: int) -> Any:
        rows = self._query("SELECT data FROM image_data WHERE image_id = ?", (image_id,))
        if not rows:
            raise InputError(f"no image {image_id} in the labeling store")
        return decode_image(rows[0][0])

    def set_status(self, image_id: int, status: str, annotator: str | None = None) -> None:
        if status not in STATUSES:
            raise InputError(f"status must be one of {', '.join(STATUSES)}")
        with self._tx() as db:
            if annotator is None:
                db.execute("UPDATE images SET status = ?, updated = ? WHERE id = ?", (status, time.time(), image_id))
            else:
                db.execute("UPDATE images SET status = ?, annotator = ?, updated = ? WHERE id = ?",
                           (status, annotator, time.time(), image_id))

    def set_uncertainty(self, image_id: int, value: float | None) -> None:
        with self._tx() as db:
            db.execute("UPDATE images SET uncertainty = ? WHERE id = ?", (value, image_id))

    def next_image(self, session_id: int, current: int | None = None, by_uncertainty: bool = False) -> int | None:
        """The next unfinished image: by list order after ``current`` (wrapping around), or the
        most uncertain first (images not scored yet come last, in list order)."""
        images = [r for r in self.list_images(session_id) if r.status != "done" and r.id != current]
        if not images:
            return None
        if by_uncertainty:
            images.sort(key=lambda r: (r.uncertainty is None, -(r.uncertainty or 0.0), r.position))
            return images[0].id
        pos = next((r.position for r in self.list_images(session_id) if r.id == current), -1)
        after = [r for r in images if r.position > pos]
        return (after or images)[0].id

    # -- masks and edits
    def save_mask(self, image_id: int, label: str, frame: int, mask: np.ndarray) -> None:
        """Store one label's mask on one frame (replacing what was there)."""
        with self._tx() as db:
            self._put_mask(db, image_id, label, frame, mask)

    def _put_mask(self, db: sqlite3.Connection, image_id: int, label: str, frame: int, mask: np.ndarray) -> None:
        now = time.time()
        db.execute("INSERT OR REPLACE INTO masks (image_id, label, frame, data, updated) VALUES (?, ?, ?, ?, ?)",
                   (image_id, label, int(frame), pack(mask), now))
        db.execute("UPDATE images SET status = CASE status WHEN 'to do' THEN 'in progress' ELSE status END, "
                   "updated = ? WHERE id = ?", (now, image_id))
        db.execute("UPDATE sessions SET updated = ? WHERE id = (SELECT session_id FROM images WHERE id = ?)",
                   (now, image_id))

    def load_masks(self, image_id: int, labels: Sequence[str]) -> dict[str, np.ndarray]:
        """``{label: (frames, H, W) bool}`` for every label (empty where nothing was saved)."""
        frames, h, w = self.get_image_record(image_id).shape
        out = {label: np.zeros((frames, h, w), bool) for label in labels}
        for row in self._query("SELECT label, frame, data FROM masks WHERE image_id = ?", (image_id,)):
            if row["label"] in out and 0 <= row["frame"] < frames:
                out[row["label"]][row["frame"]] = unpack(row["data"], (h, w))
        return out

    def record_edit(self, image_id: int, edit: Edit, mask: np.ndarray) -> int:
        """Save an applied edit and the label's resulting mask in one transaction; undone
        edits of this image (the redo branch) are dropped. Returns the edit's id."""
        with self._tx() as db:
            db.execute("DELETE FROM edits WHERE image_id = ? AND undone = 1", (image_id,))
            cur = db.execute(
                "INSERT INTO edits (image_id, label, frame, bbox, before, after, description, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (image_id, edit.label, edit.frame, json.dumps(list(edit.bbox)), edit.before, edit.after,
                 edit.description, time.time()))
            edit.id = int(cur.lastrowid)
            self._put_mask(db, image_id, edit.label, edit.frame, mask)
        return edit.id

    def record_undo(self, image_id: int, edit: Edit, mask: np.ndarray, undone: bool = True) -> None:
        """Mark ``edit`` undone (or redone with ``undone=False``) and save the resulting mask."""
        if edit.id is None:
            raise InputError("this edit was never saved")
        with self._tx() as db:
            db.execute("UPDATE edits SET undone = ? WHERE id = ? AND image_id = ?", (int(undone), edit.id, image_id))
            self._put_mask(db, image_id, edit.label, edit.frame, mask)

    def load_history(self, image_id: int, limit: int = 500) -> History:
        rows = self._query("SELECT * FROM (SELECT * FROM edits WHERE image_id = ? ORDER BY id DESC LIMIT ?) "
                           "ORDER BY id", (image_id, limit))
        edits = [Edit(r["label"], int(r["frame"]), tuple(json.loads(r["bbox"])), r["before"], r["after"],
                      r["description"], int(r["id"])) for r in rows]
        position = sum(1 for r in rows if not r["undone"])
        return History(edits, position, limit)

    def edit_count(self, image_id: int | None = None) -> int:
        if image_id is None:
            return int(self._query("SELECT COUNT(*) FROM edits")[0][0])
        return int(self._query("SELECT COUNT(*) FROM edits WHERE image_id = ?", (image_id,))[0][0])

    def open_maskset(self, session: Session, image_id: int) -> MaskSet:
        """The image's masks and history, ready to edit."""
        shape = self.get_image_record(image_id).shape
        return MaskSet(session.labels, shape, self.load_masks(image_id, session.labels), self.load_history(image_id))

    def iter_session(self, session_id: int) -> Iterator[tuple[ImageRecord, Any, dict[str, np.ndarray]]]:
        """``(record, image, masks)`` for each image of a session (for exports)."""
        session = self.get_session(session_id)
        for record in self.list_images(session_id):
            yield record, self.load_image(record.id), self.load_masks(record.id, session.labels)


# ------------------------------------------------------------------ process-wide stores

_stores: dict[str, LabelingStore] = {}
_stores_lock = threading.Lock()


def get_store(path: str | Path | None = None) -> LabelingStore:
    """The store for ``path`` (default under ``MEDLENS_DATA_DIR``), one per process."""
    key = str(Path(path) if path else default_path())
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = LabelingStore(key)
        return store
