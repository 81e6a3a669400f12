"""Labeling sessions on the Segmentation page: pick or create a session, open images into it,
resume where the user was, per-image status, "next unfinished image" (optionally hardest
first), import masks, and the exports. The logic is in ``core.labeling`` / ``core.export``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import streamlit as st

from core.errors import MedLensError
from core.examples import list_examples, load_example
from core.export.bundle import ExportItem, build_bundle, label_map_nifti_bytes, safe_name, session_items
from core.export.coco import coco_bytes
from core.export.dicom_seg import seg_bytes
from core.masks.provenance import seg_options
from core.export.png import mask_png_bytes
from core.auth import mode
from core.labeling import STATUSES, LabelingStore, Session, Workspace, add_uploads, get_store, import_masks
from core.segmentation import service
from core.ui.auth import current_user
from core.ui.deid_option import deidentify_option
from core.ui.errors import user_errors
from core.ui.pacs_send import send_to_pacs
from core.ui.state import get_working_image

K = "seg."
WS = K + "workspace"
DEFAULT_LABELS_GRAY = ["lung", "opacity"]
DEFAULT_LABELS_RGB = ["polyp"]


def store() -> LabelingStore:
    return get_store()


def me() -> tuple[str, bool]:
    """``(user name, sees everything)``: the signed-in user, and whether they are an admin
    (single-user mode: the local user, who sees everything as before)."""
    user = current_user()
    if user is None:  # pages are not shown before sign-in; nothing to see here either
        return "", False
    return user.name, user.role == "admin"


def _resume_session(s: LabelingStore) -> Session | None:
    """The session to reopen after a reload: single-user mode, the latest one (as before); with
    accounts, the one this user was last working in (if they may still open it), else the latest
    one they own (never someone else's latest session, never auto-joined)."""
    name, admin = me()
    if not mode.is_multi_user():
        return s.latest_session()
    if name:
        last = s.last_position(name)
        if last is not None and s.can_open(last.session_id, name, admin):
            return s.get_session(last.session_id)
    return next((x for x in s.list_sessions(name) if x.owner == name), None)


def _allowed(s: LabelingStore, session_id: int) -> bool:
    name, admin = me()
    return bool(name) and s.can_open(session_id, name, admin)


def _start_point(s: LabelingStore, session: Session) -> tuple[int, int] | None:
    """``(image id, frame)`` where this user resumes in ``session``: their own position; else
    the session-wide one (sessions from before per-user positions); else the first image they
    see. Only images they may see; None when there is none. In single-user mode the one user's
    position is the session-wide one (the editor keeps its slice there as the user scrolls)."""
    name, admin = me()
    visible = [r.id for r in s.list_images(session.id, name, admin)]
    mine = s.position(session.id, name) if name else None
    if mode.is_multi_user() and mine is not None and mine.image_id in visible:
        return int(mine.image_id), mine.frame
    if session.current_image in visible:
        return int(session.current_image), session.current_frame
    if mine is not None and mine.image_id in visible:
        return int(mine.image_id), mine.frame
    return (visible[0], 0) if visible else None


def workspace() -> Workspace | None:
    """The open workspace; after a reload or restart, where this user was in their last session."""
    ws = st.session_state.get(WS)
    if ws is not None:
        return ws
    s = store()
    try:
        session = s.get_session(st.session_state[K + "session_id"]) if K + "session_id" in st.session_state \
            else _resume_session(s)
        if session is None or not _allowed(s, session.id):
            return None
        start = _start_point(s, session)
        if start is None:
            return None
        return activate(Workspace(s, session, start[0], user=me()[0]), frame=start[1])
    except MedLensError:
        st.session_state.pop(K + "session_id", None)
        return None


def activate(ws: Workspace, frame: int = 0) -> Workspace:
    """Make ``ws`` the open workspace and remember it in the store (resume point)."""
    st.session_state[WS] = ws
    st.session_state[K + "session_id"] = ws.session.id
    frame = int(np.clip(frame, 0, ws.masks.shape[0] - 1))
    st.session_state[K + "frame"] = st.session_state[K + "goto_frame"] = frame  # the viewer opens there
    if st.session_state.get(K + "label") not in ws.labels:
        mine = ws.store.position(ws.session.id, ws.user)
        remembered = mine.label if mine is not None and mine.label else ws.session.current_label
        st.session_state[K + "label"] = remembered if remembered in ws.labels else ws.labels[0]
    st.session_state[K + "goto_label"] = st.session_state[K + "label"]
    st.session_state.pop(K + "visible", None)
    ws.remember(frame, st.session_state[K + "label"])  # this user's position only: nobody else's view moves
    if not mode.is_multi_user():  # one user: the session-wide position is theirs (see _start_point)
        ws.session = ws.store.update_session(ws.session.id, current_image=ws.image_id, current_frame=frame)
    return ws


def ensure_session(image: Any | None = None) -> int:
    """The active session id; creates "Session 1" (labels suited to the image) when none exists."""
    s = store()
    if K + "session_id" in st.session_state:
        return st.session_state[K + "session_id"]
    latest = _resume_session(s)
    if latest is not None:
        st.session_state[K + "session_id"] = latest.id
        return latest.id
    rgb = image is not None and getattr(image, "is_rgb", False)
    session = s.create_session("Session 1", DEFAULT_LABELS_RGB if rgb else DEFAULT_LABELS_GRAY, owner=me()[0])
    st.session_state[K + "session_id"] = session.id
    return session.id


def open_image(image: Any, name: str) -> Workspace:
    """Add ``image`` to the active session (once) and open it."""
    s = store()
    session_id = ensure_session(image)
    image_id = s.add_image(session_id, image, name, user=me()[0])
    return open_image_id(image_id, session_id)


def open_image_id(image_id: int, session_id: int | None = None) -> Workspace:
    s = store()
    session = s.get_session(session_id or st.session_state[K + "session_id"])
    if not _allowed(s, session.id):
        raise MedLensError("this labeling session is not yours")
    st.session_state.pop(WS, None)
    return activate(Workspace(s, session, image_id, user=me()[0]))


def _switch_session() -> None:
    """``on_change`` of the session picker: open the chosen session where it was left."""
    chosen = st.session_state[K + "session_select"]
    if chosen is None or not _allowed(store(), chosen):
        return
    st.session_state[K + "session_id"] = chosen
    st.session_state.pop(WS, None)
    session = store().get_session(chosen)
    start = _start_point(store(), session)
    if start is not None:
        activate(Workspace(store(), session, start[0], user=me()[0]), start[1])


def session_picker() -> None:
    """Choose, create or rename a labeling session; set the annotator."""
    s = store()
    sessions = s.list_sessions(*me())  # only yours (owned or assigned); an admin's: all
    chosen = None
    if sessions:
        ids = [x.id for x in sessions]
        current = st.session_state.get(K + "session_id")
        if current not in ids:  # none open yet: the one a reload resumes, else nothing chosen
            resumed = _resume_session(s)
            current = resumed.id if resumed is not None and resumed.id in ids else None
        st.session_state[K + "session_select"] = current
        names = {x.id: f"{x.name} ({len(s.list_images(x.id, *me()))} images)" for x in sessions}
        chosen = st.selectbox("Labeling session", ids, format_func=names.get, key=K + "session_select",
                              on_change=_switch_session, placeholder="Choose a session")
    if chosen is not None:
        session = s.get_session(chosen)
        annotator = st.text_input("Annotator", value=session.annotator, key=K + f"annotator.{chosen}")
        if annotator != session.annotator:
            s.update_session(chosen, annotator=annotator)
            if WS in st.session_state:
                st.session_state[WS].session = s.get_session(chosen)
    with st.expander("New labeling session", expanded=not sessions):
        with st.form(K + "new_session", clear_on_submit=True):
            name = st.text_input("Name", value=f"Session {len(sessions) + 1}")
            labels = st.text_input("Labels (comma-separated)", value=", ".join(DEFAULT_LABELS_GRAY))
            annotator = st.text_input("Annotator name", value="")
            if st.form_submit_button("Create session"):
                with user_errors() as outcome:
                    new = s.create_session(name, [x.strip() for x in labels.split(",")], annotator, owner=me()[0])
                if not outcome.failed:
                    st.session_state[K + "session_id"] = new.id
                    st.session_state.pop(WS, None)
                    st.rerun()


def labels_panel(ws: Workspace) -> None:
    """Colour per label, and adding a label."""
    cols = st.columns(max(1, len(ws.labels)))
    colours = list(ws.session.colours)
    for i, (col, label) in enumerate(zip(cols, ws.labels)):
        colours[i] = col.color_picker(label, colours[i], key=K + f"colour.{ws.session.id}.{label}")
    if colours != ws.session.colours:
        ws.session = ws.store.update_session(ws.session.id, colours=colours)
    with st.form(K + "add_label", clear_on_submit=True, border=False):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        new = c1.text_input("Add a label", placeholder="e.g. nodule")
        if c2.form_submit_button("Add") and new.strip():
            ws.add_labels([new.strip()])
            st.rerun()


def status_panel(ws: Workspace) -> None:
    """This image's status, the session's images, and "next unfinished image"."""
    s = ws.store
    record = s.get_image_record(ws.image_id)
    c1, c2, c3 = st.columns([2, 2, 2], vertical_alignment="bottom")
    status = c1.radio("Status of this image", STATUSES, index=STATUSES.index(record.status), horizontal=True,
                      key=K + f"status.{ws.image_id}.{record.status}")
    if status != record.status:
        s.set_status(ws.image_id, status, ws.session.annotator or None, user=me()[0])
        st.rerun()
    hardest = c2.checkbox("Hardest first (model uncertainty)", key=K + "by_uncertainty",
                          help="Mean entropy of the model's probability map; score the images first")
    if c3.button("Next unfinished image", key=K + "next", icon=":material/skip_next:"):
        nxt = s.next_image(ws.session.id, ws.image_id, by_uncertainty=hardest, user=me()[0], admin=me()[1])
        if nxt is None:
            st.toast("Every other image is done.")
        else:
            open_image_id(nxt, ws.session.id)
            st.rerun()
    images = s.list_images(ws.session.id, *me())
    s.touch_lock(ws.image_id, me()[0])  # advisory: "NAME is editing", nobody is kept out
    editing = s.editors([r.id for r in images])
    table = [{"#": r.position + 1, "image": r.name, "status": r.status, "annotator": r.annotator,
              "assigned": ", ".join(s.assignees(r.id)),
              "editing": ", ".join(f"{n} is editing" for n in editing.get(r.id, []) if n != me()[0]),
              "review": f"{r.review}: {r.review_comment}" if r.review else "",
              "uncertainty": None if r.uncertainty is None else round(r.uncertainty, 4),
              "open": "◀ current" if r.id == ws.image_id else ""} for r in images]
    st.dataframe(table, hide_index=True, width="stretch", key=K + "images_table")
    others = [r for r in images if r.id != ws.image_id]
    if others:
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        pick = c1.selectbox("Open another image of this session", [r.id for r in others],
                            format_func=lambda i: next(r.name for r in others if r.id == i), key=K + "open_other")
        if c2.button("Open", key=K + "open_other_btn"):
            open_image_id(pick, ws.session.id)
            st.rerun()


def score_uncertainty(ws: Workspace, model: str) -> None:
    """``service.score_uncertainty`` (mean entropy of ``model`` on every image of the session) with a progress bar."""
    bar = st.progress(0.0, text="Scoring model uncertainty…")
    service.score_uncertainty(ws, model, lambda done, total: bar.progress(
        done / total, text=f"Scoring model uncertainty… {done}/{total}"))
    bar.empty()


def import_panel(ws: Workspace) -> None:
    """Import existing masks (PNG, NIfTI, DICOM SEG) as edits (undoable)."""
    label = st.session_state.get(K + "label", ws.labels[0])
    upload = st.file_uploader("Import masks (PNG, NIfTI, DICOM SEG)", type=["png", "nii", "gz", "dcm"],
                              key=K + f"import.{ws.image_id}",
                              help=f"A binary mask goes to the label being edited ({label}); a label map "
                                   "(1, 2, …) to the labels in order; DICOM SEG segments by name.")
    if upload is not None and st.button("Import", key=K + "import_btn"):
        with user_errors():
            masks = import_masks(upload.getvalue(), upload.name, ws.labels, ws.image, default_label=label)
            n = ws.replace_all(masks, f"import {upload.name}")
            st.session_state[K + "import_message"] = f"Imported {', '.join(masks)} ({n} slice edit(s))."
            st.rerun()  # redraw the editor with the imported masks
    if K + "import_message" in st.session_state:
        st.success(st.session_state.pop(K + "import_message"))


def export_panel(ws: Workspace) -> None:
    """Downloads: the zip of everything (this image or the whole session), and single files.

    Every file is built when its button is clicked, from the masks as stored at that moment
    (``data=callable``), so a download always equals the screen, however recent the last edit;
    the label and slice are the ones the viewer shows at the click (``K + "view"``, kept current
    by the editor fragment).
    """
    view = st.session_state.setdefault(K + "view", {})
    view.setdefault("label", st.session_state.get(K + "label", ws.labels[0]))
    view.setdefault("frame", int(st.session_state.get(K + "frame", 0)))

    def label() -> str:
        return view["label"] if view.get("label") in ws.labels else ws.labels[0]

    name = safe_name(ws.record.name)
    session_info = {"id": ws.session.id, "name": ws.session.name, "annotator": ws.session.annotator}
    c1, c2 = st.columns(2)
    scope = c1.radio("Export", ["This image", "Whole session"], horizontal=True, key=K + "export_scope")
    bundle_deid = deidentify_option(ws.image.datasets, K + "zip_deid", c1) if ws.image.datasets else False

    def zip_bytes() -> bytes:
        if scope == "This image":
            items = [ExportItem(ws.record.name, ws.image, ws.masks.data, ws.store.get_image_record(ws.image_id).status)]
        else:
            items = list(session_items(ws.store, ws.session.id, *me()))
        return build_bundle(items, ws.labels, ws.session.colours, session_info, deidentify=bundle_deid)

    filename = f"{name if scope == 'This image' else safe_name(ws.session.name)}_masks.zip"
    c2.download_button("Download zip", zip_bytes, filename, "application/zip", key=K + "download_zip",
                       icon=":material/folder_zip:", on_click="ignore",
                       help="PNG per label, NIfTI label map, DICOM SEG (DICOM sources), COCO JSON, manifest.json")
    with st.expander("Single files"):
        cols = st.columns(4)
        cols[0].download_button("PNG (label shown)", lambda: mask_png_bytes(ws.masks.get(label(), int(view["frame"]))),
                                f"{name}_mask.png", "image/png", key=K + "dl_png", on_click="ignore")
        cols[1].download_button("NIfTI label map", lambda: label_map_nifti_bytes(ws.masks.data, ws.labels, ws.image),
                                f"{name}_labels.nii.gz", "application/gzip", key=K + "dl_nifti", on_click="ignore")
        encoding = cols[2].radio("COCO as", ["rle", "polygon"], horizontal=True, key=K + "coco_enc")
        cols[2].download_button("COCO JSON", lambda: coco_bytes([(ws.record.name, ws.masks.data)], ws.labels, encoding),
                                f"{name}_coco.json", "application/json", key=K + "dl_coco", on_click="ignore")
        if ws.image.datasets:
            deidentify = deidentify_option(ws.image.datasets, K + "seg_deid", cols[3])
            cols[3].download_button(
                "DICOM SEG (label shown)",
                lambda: seg_bytes(ws.masks.data[label()], list(ws.image.datasets), label=label(), deidentify=deidentify,
                                 **seg_options(ws.masks.history, label())),
                f"{'deidentified' if deidentify else name}_seg.dcm", "application/dicom", key=K + "dl_seg",
                on_click="ignore")
            send_to_pacs(lambda: [(f"{name}_{safe_name(label())}_seg.dcm",
                                   seg_bytes(ws.masks.data[label()], list(ws.image.datasets), label=label()))],
                         K + "send_seg", cols[3])
        else:
            cols[3].caption("DICOM SEG needs a DICOM source image.")


def _open_and_rerun(image: Any, name: str) -> None:
    with user_errors() as outcome:
        open_image(image, name)
    if outcome.failed:
        return
    st.session_state.pop(K + "zip", None)
    st.session_state.pop(K + "seg", None)
    st.rerun()


def offer_working_image() -> None:
    """A working image from the Upload page is offered, never added by itself: a click on "Add the
    working image to this session" adds and opens it (once per image and browser session)."""
    working = get_working_image()
    if working is None:
        return
    image, name = working
    digest = hashlib.sha1(np.ascontiguousarray(image.pixels).tobytes()).hexdigest()
    if st.session_state.get(K + "working_sha") == digest:
        return
    if st.button(f"Add the working image to this session ({name})", key=K + "add_working",
                 icon=":material/add_photo_alternate:"):
        st.session_state[K + "working_sha"] = digest
        _open_and_rerun(image, name)


def image_source(expanded: bool) -> None:
    """Upload (one or several files, zips), a bundled example, or the working image."""
    for problem in st.session_state.pop(K + "upload_problems", []):
        st.error(problem)
    with st.expander("Open an image", expanded=expanded):
        tab_up, tab_ex, tab_work = st.tabs(["Upload", "Example", "Working image"])
        with tab_up:
            uploads = st.file_uploader("DICOM, NIfTI, PNG/JPEG, or a zip (several files = several images of the "
                                       "session)", accept_multiple_files=True, key=K + "upload")
            if uploads and st.button("Add to the session and open", key=K + "open_upload"):
                try:
                    ids, problems = add_uploads(store(), ensure_session(), [(u.name, u.getvalue()) for u in uploads],
                                                user=me()[0])
                    if ids:
                        open_image_id(ids[0])
                except MedLensError as exc:
                    problems = [str(exc)]
                st.session_state[K + "upload_problems"] = problems
                st.rerun()
        with tab_ex:
            examples = list_examples("segmentation")
            if not examples:
                st.info("No example images are installed.")
            else:
                pick = st.selectbox("Example image", [e.name for e in examples], key=K + "example")
                if st.button("Open example", key=K + "open_example"):
                    example = next(e for e in examples if e.name == pick)
                    with user_errors() as outcome:
                        image = load_example(example)
                    if not outcome.failed:
                        _open_and_rerun(image, example.file)
        with tab_work:
            working = get_working_image()
            if working is None:
                st.info("No working image yet: load one on the Upload & preprocessing page.")
            elif st.button(f"Open the working image ({working[1]})", key=K + "open_working"):
                st.session_state[K + "working_sha"] = hashlib.sha1(
                    np.ascontiguousarray(working[0].pixels).tobytes()).hexdigest()
                _open_and_rerun(*working)
