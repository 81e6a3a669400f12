"""The labeling store shared by a team, on SQLite and PostgreSQL: isolation, edits as
operations that merge, conflicts refused with a message, ids applied once, audit, review,
and 8 concurrent writers losing nothing."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from core.errors import InputError
from core.imaging import MedImage
from core.labeling import LabelingStore, Workspace
from core.labeling.concurrency import disc, run_writers


def _image(seed: int = 0, shape: tuple[int, int, int] = (1, 64, 64)) -> MedImage:
    return MedImage(pixels=np.full(shape, seed, np.float32), name=f"img{seed}")


@pytest.fixture
def store(db_engine) -> LabelingStore:  # type: ignore[no-untyped-def]
    return LabelingStore(db_engine)


def test_users_see_only_their_sessions_and_assigned_images(store: LabelingStore) -> None:
    mine = store.create_session("ana's", ["lung"], owner="ana")
    a = store.add_image(mine.id, _image(1), "a.png", user="ana")
    b = store.add_image(mine.id, _image(2), "b.png", user="ana")
    other = store.create_session("ben's", ["lung"], owner="ben")
    store.add_image(other.id, _image(3), "c.png", user="ben")
    assert [s.name for s in store.list_sessions("ana")] == ["ana's"]
    assert [s.name for s in store.list_sessions("ben")] == ["ben's"]
    assert store.list_sessions("cleo") == [] and store.latest_session("cleo") is None
    assert {s.name for s in store.list_sessions("root", admin=True)} == {"ana's", "ben's"}
    store.assign(b, ["cleo"], by="ana")
    assert [s.name for s in store.list_sessions("cleo")] == ["ana's"]
    assert [r.name for r in store.list_images(mine.id, "cleo")] == ["b.png"]  # not a.png
    assert [r.id for r in store.list_images(mine.id, "ana")] == [a, b]
    assert store.list_images(other.id, "cleo") == [] and not store.can_open(other.id, "cleo")
    assert store.assignees(b) == ["cleo"]
    assert [r.name for r in store.list_images(mine.id)] == ["a.png", "b.png"]  # no user: single-user mode


def test_strokes_of_two_users_merge_and_ids_apply_once(store: LabelingStore) -> None:
    session = store.create_session("s", ["lung"])
    image_id = store.add_image(session.id, _image(), "a")
    ana = Workspace(store, session, image_id, user="ana")
    ben = Workspace(store, session, image_id, user="ben")
    ana.paint("lung", 0, disc((64, 64), 10, 10, 4), op_id="a1")
    ben.paint("lung", 0, disc((64, 64), 50, 50, 4), op_id="b1")  # ben's copy did not have ana's stroke
    both = disc((64, 64), 10, 10, 4) | disc((64, 64), 50, 50, 4)
    assert np.array_equal(store.load_masks(image_id, ["lung"])["lung"][0], both)
    assert np.array_equal(ben.get("lung", 0), both)
    # ben's stale copy sent as a whole mask through set() only changes what ben changed
    stale = ben.get("lung", 0).copy()
    ana.paint("lung", 0, disc((64, 64), 30, 30, 3), op_id="a2")
    stale[0:3, 0:3] = True
    ben.set("lung", 0, stale, "brush b2")
    saved = store.load_masks(image_id, ["lung"])["lung"][0]
    assert saved[30, 30] and saved[0, 0]
    count = store.edit_count(image_id)
    again = store.apply_edit(image_id, "lung", 0, disc((64, 64), 10, 10, 4), True, "ana", "a1")
    assert not again.applied and store.edit_count(image_id) == count
    assert store.edit_ids(image_id)["b2"] == "ben"


def test_undo_over_another_users_work_is_refused_with_their_name(store: LabelingStore) -> None:
    session = store.create_session("s", ["lung"])
    image_id = store.add_image(session.id, _image(), "a")
    ana = Workspace(store, session, image_id, user="ana")
    ben = Workspace(store, session, image_id, user="ben")
    ana.paint("lung", 0, disc((64, 64), 20, 20, 5))
    ben.paint("lung", 0, disc((64, 64), 24, 24, 5))  # built on ana's stroke
    with pytest.raises(InputError) as info:
        ana.undo()
    assert "changed by ben; reload" in str(info.value) and "\n" not in str(info.value)
    assert store.load_masks(image_id, ["lung"])["lung"][0][20, 20]  # nothing overwritten
    ben.undo()  # ben's own latest edit: nobody built on it
    ana.undo()  # now allowed
    assert not store.load_masks(image_id, ["lung"])["lung"][0].any()
    ana.redo()
    assert store.load_masks(image_id, ["lung"])["lung"][0][20, 20]
    # far apart: an undo never touches the other user's stroke
    ben.paint("lung", 0, disc((64, 64), 55, 55, 3))
    ana.paint("lung", 0, disc((64, 64), 5, 50, 3))
    ana.undo()
    saved = store.load_masks(image_id, ["lung"])["lung"][0]
    assert saved[55, 55] and not saved[5, 50]


def test_audit_locks_review_and_export(store: LabelingStore) -> None:
    session = store.create_session("s", ["lung"], owner="ana")
    image_id = store.add_image(session.id, _image(), "a", user="ana")
    Workspace(store, session, image_id, user="ana").paint("lung", 0, disc((64, 64), 9, 9, 2), description="brush")
    store.touch_lock(image_id, "ana")
    store.touch_lock(image_id, "ben")
    assert store.editors([image_id]) == {image_id: ["ana", "ben"]}
    store.release_lock(image_id, "ben")
    assert store.editors([image_id]) == {image_id: ["ana"]}
    with pytest.raises(InputError):
        store.review(image_id, "returned", "  ", "rita")
    store.review(image_id, "returned", "left lobe missing", "rita")
    record = store.get_image_record(image_id)
    assert (record.review, record.review_comment, record.reviewer, record.status) == \
        ("returned", "left lobe missing", "rita", "in progress")
    store.review(image_id, "accepted", "", "rita")
    assert store.get_image_record(image_id).status == "done"
    rows = list(csv.reader(io.StringIO(store.audit_csv(image_id=image_id).decode())))
    assert rows[0] == ["time_utc", "user", "action", "session_id", "image_id", "detail"]
    assert [(r[1], r[2]) for r in rows[1:]] == [("ana", "add image"), ("ana", "edit"), ("rita", "returned"),
                                                ("rita", "accepted")]


@pytest.mark.slow
def test_eight_writers_lose_no_acknowledged_edit(store: LabelingStore) -> None:
    session = store.create_session("s", ["lung"])
    image_id = store.add_image(session.id, _image(0, (1, 256, 256)), "shared")
    report = run_writers(store, image_id, "lung", writers=8, seconds=10.0, seed=1)
    print(f"\n{store.engine.dialect.name}: {report}")
    assert report.errors == []
    assert report.acknowledged > 80, report
    assert report.lost == 0 and report.present_or_refused_pct == 100.0, report
    assert report.resent_applied_twice == 0
    assert report.refused_pct < 1.0, report
    assert all(m.startswith("changed by writer") and m.count("\n") == 0 for m in report.refusals), report.refusals


def test_the_check_catches_whole_mask_writes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The same check on the old way of saving (whole masks, last writer wins) must find losses."""
    store = LabelingStore(tmp_path / "old.sqlite")
    session = store.create_session("s", ["lung"])
    image_id = store.add_image(session.id, _image(0, (1, 256, 256)), "shared")
    report = run_writers(store, image_id, "lung", writers=8, seconds=4.0, seed=2, undo_rate=0.0, whole_mask=True)
    assert report.lost > 0, report


def test_agreement_dice_per_label_and_majority_consensus(store: LabelingStore) -> None:
    from core.labeling.agreement import consensus, dice, image_agreement, session_agreement

    session = store.create_session("s", ["lung", "opacity"])
    image_id = store.add_image(session.id, _image(), "a")
    single = store.add_image(session.id, _image(5), "b")
    a = np.zeros((64, 64), bool)
    a[10:20, 10:20] = True  # 100 px
    b = np.zeros((64, 64), bool)
    b[10:20, 15:25] = True  # 100 px, 50 shared
    c = np.zeros((64, 64), bool)
    c[10:20, 12:22] = True
    for name, mask in (("ana", a), ("ben", b), ("cleo", c)):
        Workspace(store, session, image_id, user=name).paint("lung", 0, mask)
    Workspace(store, session, single, user="ana").paint("lung", 0, a)
    found = image_agreement(store, image_id, session.labels)
    assert found is not None and found.annotators == ["ana", "ben", "cleo"]
    expected = np.mean([dice(a, b), dice(a, c), dice(b, c)])
    assert abs(found.per_label["lung"] - expected) < 1e-12 and abs(dice(a, b) - 0.5) < 1e-12
    assert found.per_label["opacity"] == 1.0  # nobody drew it
    assert image_agreement(store, single, session.labels) is None
    images, mean = session_agreement(store, session.id)
    assert [x.image_id for x in images] == [image_id] and abs(mean - found.mean) < 1e-12
    vote = consensus(store, image_id, session.labels)["lung"][0]
    assert np.array_equal(vote, (a.astype(int) + b + c) >= 2)


def test_staple_consensus_of_stored_annotations(store: LabelingStore) -> None:
    """Two careful annotators outline a lesion, two hasty ones miss its rim: STAPLE keeps the
    rim (2-2 ties, out for the majority vote); an unknown method is refused in one line."""
    from core.labeling.agreement import MAJORITY, STAPLE, consensus

    session = store.create_session("s", ["lung"])
    image_id = store.add_image(session.id, _image(), "a")
    lesion = np.zeros((64, 64), bool)
    lesion[20:40, 20:40] = True
    core = np.zeros((64, 64), bool)
    core[24:36, 24:36] = True
    for name, mask in (("ana", lesion), ("ben", lesion), ("cleo", core), ("dan", core)):
        Workspace(store, session, image_id, user=name).paint("lung", 0, mask)
    assert np.array_equal(consensus(store, image_id, ["lung"], STAPLE)["lung"][0], lesion)
    assert np.array_equal(consensus(store, image_id, ["lung"], MAJORITY)["lung"][0], core)
    with pytest.raises(InputError, match="consensus method"):
        consensus(store, image_id, ["lung"], "mean")
