"""Where each user is in a labeling session (image, frame, label) is kept per user, on SQLite and
PostgreSQL: one user moving to the next image never moves another user's view; migration 3
gives a session's owner the position the session held before."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sqlalchemy import MetaData, Table, insert, select

from core.db import make_engine
from core.db.connect import begin_write
from core.db.migrations import MIGRATIONS
from core.errors import InputError
from core.imaging import MedImage
from core.labeling import LabelingStore, Workspace


def _image(seed: int) -> MedImage:
    return MedImage(pixels=np.full((3, 16, 16), seed, np.float32), name=f"img{seed}")


@pytest.fixture
def store(db_engine) -> LabelingStore:  # type: ignore[no-untyped-def]
    return LabelingStore(db_engine)


def test_each_user_moves_only_their_own_view(store: LabelingStore) -> None:
    session = store.create_session("team", ["lung", "opacity"], owner="lead")
    first = store.add_image(session.id, _image(1), "first", user="lead")
    second = store.add_image(session.id, _image(2), "second", user="lead")
    assert store.position(session.id, "ann") is None
    Workspace(store, session, first, user="ann").remember(2, "opacity")
    Workspace(store, session, first, user="ben").remember(1, "lung")
    ann = store.set_position(session.id, "ann", image_id=second)  # ann: "next image"
    assert (ann.image_id, ann.frame, ann.label) == (second, 0, "opacity")  # a new image starts at frame 0
    ben = store.position(session.id, "ben")
    assert ben is not None and (ben.image_id, ben.frame, ben.label) == (first, 1, "lung")  # ben did not move
    store.set_position(session.id, "ann", frame=2)  # only the frame changes
    ann_now = store.position(session.id, "ann")
    assert ann_now is not None and (ann_now.image_id, ann_now.frame) == (second, 2)
    assert store.get_session(session.id).current_image is None  # nothing session-wide was written


def test_last_position_is_where_a_reload_resumes(store: LabelingStore) -> None:
    a = store.create_session("a", ["lung"], owner="lead")
    b = store.create_session("b", ["lung"], owner="lead")
    ia = store.add_image(a.id, _image(1), "a1", user="lead")
    ib = store.add_image(b.id, _image(2), "b1", user="lead")
    assert store.last_position("ann") is None
    store.set_position(a.id, "ann", image_id=ia)
    time.sleep(0.01)
    store.set_position(b.id, "ann", image_id=ib)
    store.set_position(a.id, "ben", image_id=ia)
    last = store.last_position("ann")
    assert last is not None and (last.session_id, last.image_id) == (b.id, ib)
    with pytest.raises(InputError, match="no labeling session"):
        store.set_position(9999, "ann", image_id=ia)
    with pytest.raises(InputError, match="not in labeling session"):
        store.set_position(a.id, "ann", image_id=ib)  # b's image: a position never points outside its session
    store.delete_session(b.id, user="lead")
    last = store.last_position("ann")
    assert last is not None and last.session_id == a.id  # a deleted session's positions go with it


def test_migration_3_gives_the_owner_the_sessions_old_position(db_url) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    with begin_write(engine) as connection:
        MIGRATIONS[1](connection)
        MIGRATIONS[2](connection)
        sessions = Table("labeling_sessions", MetaData(), autoload_with=connection)
        connection.execute(insert(sessions).values(id=1, name="old", labels='["lung"]', colours='["#ff0000"]',
                                                   annotator="", owner="ana", created=1.0, updated=5.0,
                                                   current_image=7, current_frame=3, current_label="lung"))
        connection.execute(insert(sessions).values(id=2, name="never opened", labels='["lung"]',
                                                   colours='["#ff0000"]', annotator="", owner="ben", created=1.0,
                                                   updated=1.0, current_image=None, current_frame=0))
        MIGRATIONS[3](connection)
        positions = Table("labeling_positions", MetaData(), autoload_with=connection)
        rows = [tuple(r) for r in connection.execute(
            select(positions.c.session_id, positions.c.username, positions.c.image_id, positions.c.frame,
                   positions.c.label, positions.c.updated))]
    engine.dispose()
    assert rows == [(1, "ana", 7, 3, "lung", 5.0)]
