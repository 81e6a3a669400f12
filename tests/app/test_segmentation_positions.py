"""Segmentation page (AppTest) in multi-user mode: two annotators assigned to one session each
keep their own current image; one moving to the next image does not move the other, and a
reload resumes each where they were."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.auth import accounts
from core.imaging import MedImage
from core.labeling import LabelingStore

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def team(monkeypatch, tmp_path) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """A session owned by "lead" with two images, both assigned to ann and ben."""
    monkeypatch.setenv("MEDLENS_AUTH", "accounts")
    monkeypatch.setenv("MEDLENS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MEDLENS_DB_URL", f"sqlite:///{tmp_path / 'team.sqlite'}")
    for name, role in (("lead", "admin"), ("ann", "annotator"), ("ben", "annotator")):
        accounts.add_user(name, role, f"{name}'s password")
    store = LabelingStore()
    session = store.create_session("Team", ["lung"], owner="lead")
    ids = [store.add_image(session.id, MedImage(pixels=np.full((1, 24, 24), i, np.float32), name=n), n, user="lead")
           for i, n in enumerate(("first.png", "second.png"))]
    for image_id in ids:
        store.assign(image_id, ["ann", "ben"], by="lead")
    return session.id, ids[0], ids[1]


def _signed_in(name: str) -> AppTest:
    """The Segmentation page in a new browser session of ``name`` (signed in)."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.session_state["medlens_user"] = accounts.get_user(name)
    at.run()
    at.switch_page("pages/segmentation.py").run()
    assert not at.exception, at.exception
    return at


def _open_image(at: AppTest) -> str | None:
    """The name of the image in the editor (its caption), None when none is open."""
    for caption in at.caption:
        for name in ("first.png", "second.png"):
            if caption.value.startswith(f"{name} · "):
                return name
    return None


def test_next_image_of_one_user_does_not_move_another(team) -> None:  # type: ignore[no-untyped-def]
    session_id, first, second = team
    ann, ben = _signed_in("ann"), _signed_in("ben")
    for at in (ann, ben):
        assert _open_image(at) is None  # nothing auto-joined: the session is chosen
        at.selectbox(key="seg.session_select").set_value(session_id).run()
        assert not at.exception, at.exception
        assert _open_image(at) == "first.png"
    ann.button(key="seg.next").click().run()
    assert _open_image(ann) == "second.png"
    ben.run()  # ben's page runs again (any action): still on his image
    assert _open_image(ben) == "first.png"
    store = LabelingStore()
    assert store.position(session_id, "ann").image_id == second  # type: ignore[union-attr]
    assert store.position(session_id, "ben").image_id == first  # type: ignore[union-attr]
    # a reload (a new browser session) resumes each where they were
    assert _open_image(_signed_in("ben")) == "first.png"
    assert _open_image(_signed_in("ann")) == "second.png"
