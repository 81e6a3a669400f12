"""An earlier version's labeling.sqlite (plain sqlite3 schema) is brought into the core.db store."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from core.errors import InputError
from core.imaging import MedImage
from core.labeling import LabelingStore, encode_image
from core.labeling.legacy import import_legacy
from core.masks.history import pack

OLD_SCHEMA = """
CREATE TABLE sessions (id INTEGER PRIMARY KEY, name TEXT NOT NULL, labels TEXT NOT NULL, colours TEXT NOT NULL,
    annotator TEXT NOT NULL DEFAULT '', created REAL, updated REAL, current_image INTEGER,
    current_frame INTEGER NOT NULL DEFAULT 0, current_label TEXT);
CREATE TABLE images (id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL, position INTEGER NOT NULL, name TEXT NOT NULL,
    sha TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'to do', annotator TEXT NOT NULL DEFAULT '',
    uncertainty REAL, frames INTEGER, height INTEGER, width INTEGER, updated REAL, UNIQUE (session_id, sha));
CREATE TABLE image_data (image_id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE masks (image_id INTEGER NOT NULL, label TEXT NOT NULL, frame INTEGER NOT NULL, data BLOB NOT NULL,
    updated REAL, PRIMARY KEY (image_id, label, frame));
"""


def test_old_sessions_images_and_masks_come_over(tmp_path) -> None:  # type: ignore[no-untyped-def]
    old_path = tmp_path / "labeling.sqlite"
    old = sqlite3.connect(old_path)
    old.executescript(OLD_SCHEMA)
    old.execute("INSERT INTO sessions (id, name, labels, colours, annotator) VALUES (1, 'chest', ?, ?, 'ana')",
                (json.dumps(["lung", "opacity"]), json.dumps(["#ff0000", "#00ff00"])))
    image = MedImage(pixels=np.arange(2 * 12 * 16, dtype=np.float32).reshape(2, 12, 16), name="ct")
    old.execute("INSERT INTO images VALUES (7, 1, 0, 'ct.dcm', 'abc', 'done', 'ana', NULL, 2, 12, 16, 0)")
    old.execute("INSERT INTO image_data VALUES (7, ?)", (encode_image(image),))
    mask = np.zeros((12, 16), bool)
    mask[2:5, 3:9] = True
    old.execute("INSERT INTO masks VALUES (7, 'opacity', 1, ?, 0)", (pack(mask),))
    old.commit()
    old.close()

    store = LabelingStore(tmp_path / "medlens.sqlite")
    assert import_legacy(store, old_path, owner="ana") == {"sessions": 1, "images": 1, "masks": 1}
    (session,) = store.list_sessions("ana")
    assert session.labels == ["lung", "opacity"] and session.owner == "ana"
    (record,) = store.list_images(session.id)
    assert record.name == "ct.dcm" and record.status == "done" and record.shape == (2, 12, 16)
    assert np.array_equal(store.load_image(record.id).pixels, image.pixels)
    masks = store.load_masks(record.id, session.labels)
    assert np.array_equal(masks["opacity"][1], mask) and not masks["opacity"][0].any() and not masks["lung"].any()
    with pytest.raises(InputError):
        import_legacy(store, tmp_path / "missing.sqlite")
