"""Bring the labeling store of earlier versions (``<data dir>/labeling/labeling.sqlite``, plain
sqlite3) into the ``core.db`` store: sessions, images and their saved masks (the undo history
is not carried over; each imported mask is one "legacy import" edit by the session's owner)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from core.errors import InputError
from core.labeling.codec import decode_image
from core.labeling.store import LOCAL, LabelingStore
from core.masks.history import unpack
from core.paths import data_dir


def legacy_path() -> Path:
    return data_dir() / "labeling" / "labeling.sqlite"


def import_legacy(store: LabelingStore, path: Path | None = None, owner: str = LOCAL) -> dict[str, int]:
    """Copy every session of the old file into ``store`` (owned by ``owner``); returns counts."""
    path = Path(path or legacy_path())
    if not path.is_file():
        raise InputError(f"no labeling store of an earlier version at {path}")
    try:
        old = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        old.row_factory = sqlite3.Row
        sessions = old.execute("SELECT * FROM sessions ORDER BY id").fetchall()
    except sqlite3.Error as exc:
        raise InputError(f"{path.name} is not a labeling store of an earlier version: {exc}") from None
    counts = {"sessions": 0, "images": 0, "masks": 0}
    try:
        for row in sessions:
            labels = json.loads(row["labels"])
            new = store.create_session(row["name"], labels, row["annotator"], json.loads(row["colours"]), owner=owner)
            counts["sessions"] += 1
            for image in old.execute("SELECT * FROM images WHERE session_id = ? ORDER BY position", (row["id"],)):
                data = old.execute("SELECT data FROM image_data WHERE image_id = ?", (image["id"],)).fetchone()
                image_id = store.add_image(new.id, decode_image(bytes(data[0])), image["name"], user=owner)
                store.set_status(image_id, image["status"], image["annotator"], user=owner)
                counts["images"] += 1
                shape = (int(image["height"]), int(image["width"]))
                for mask in old.execute("SELECT label, frame, data FROM masks WHERE image_id = ?", (image["id"],)):
                    if mask["label"] in labels and 0 <= mask["frame"] < int(image["frames"]):
                        store.save_mask(image_id, mask["label"], int(mask["frame"]), unpack(bytes(mask["data"]), shape),
                                        user=owner)
                        counts["masks"] += 1
    finally:
        old.close()
    return counts
