"""The Segmentation page's team panel: assignments (admins and session owners), review (reviewers
and admins), agreement between annotators with a side-by-side view and the consensus export, and
the image's audit log with CSV downloads. Widgets only: the logic is ``core.labeling``."""

from __future__ import annotations

import time

import streamlit as st

from core.auth.accounts import list_users
from core.export.bundle import ExportItem, build_bundle, safe_name
from core.imaging import frame_to_uint8
from core.labeling import Workspace
from core.labeling.agreement import METHODS, consensus, image_agreement, session_agreement
from core.masks.overlay import compose
from core.ui.auth import current_user
from core.ui.errors import user_errors
from core.ui.segmentation.labeling import K, me


def _assign(ws: Workspace) -> None:
    name, admin = me()
    if not (admin or ws.session.owner == name):
        return
    people = [u.name for u in list_users() if not u.disabled]
    current = ws.store.assignees(ws.image_id)
    chosen = st.multiselect("Assigned annotators of this image", sorted(set(people) | set(current)), current,
                            key=K + f"assign.{ws.image_id}")
    if st.button("Save assignment", key=K + "assign_btn"):
        with user_errors():
            for gone in set(current) - set(chosen):
                ws.store.unassign(ws.image_id, gone, by=name)
            ws.store.assign(ws.image_id, [x for x in chosen if x not in current], by=name)
            st.rerun()


def _review(ws: Workspace) -> None:
    name, _ = me()
    user = current_user()
    record = ws.store.get_image_record(ws.image_id)
    if record.review:
        st.caption(f"Review: **{record.review}** by {record.reviewer}" +
                   (f" — {record.review_comment}" if record.review_comment else ""))
    if user is None or user.role not in ("reviewer", "admin"):
        return
    with st.form(K + f"review.{ws.image_id}", clear_on_submit=True):
        comment = st.text_input("Review comment", placeholder="needed when returning the image")
        c1, c2 = st.columns(2)
        accept = c1.form_submit_button("Accept image")
        back = c2.form_submit_button("Return image")
        if accept or back:
            with user_errors() as outcome:
                ws.store.review(ws.image_id, "accepted" if accept else "returned", comment, name)
            if not outcome.failed:
                st.rerun()


def _agreement(ws: Workspace) -> None:
    found = image_agreement(ws.store, ws.image_id, ws.labels)
    images, mean = session_agreement(ws.store, ws.session.id, *me())
    if mean is not None:
        st.caption(f"Session agreement: mean Dice {mean:.3f} over {len(images)} image(s) with two or more annotators")
    if found is None:
        st.caption("Agreement appears when two annotators have labeled this image.")
        return
    st.dataframe([{"label": label, "Dice": round(value, 4)} for label, value in found.per_label.items()],
                 hide_index=True, key=K + "agreement_table")
    frame = int(st.session_state.get(K + "frame", 0))
    per_user = ws.store.user_masks(ws.image_id, ws.labels)
    base = frame_to_uint8(ws.image, frame)
    cols = st.columns(min(3, len(found.annotators)))  # side by side: each annotator's masks on this slice
    for col, user in zip(cols, found.annotators[:3]):
        col.image(compose(base, [per_user[user][label][frame] for label in ws.labels], ws.session.colours),
                  caption=user, width="stretch")
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    method = c1.radio("Consensus method", METHODS, horizontal=True, key=K + "consensus_method",
                      help="Majority vote: a pixel is in when more than half of the annotators drew it. "
                           "STAPLE: each annotator weighed by their estimated sensitivity and specificity.")
    if c2.button("Prepare consensus zip", key=K + "consensus"):
        with user_errors():
            masks = consensus(ws.store, ws.image_id, ws.labels, method)
            item = ExportItem(ws.record.name, ws.image, masks, "consensus",
                              {"annotators": found.annotators, "consensus": method})
            st.session_state[K + "consensus_zip"] = build_bundle([item], ws.labels, ws.session.colours)
    if K + "consensus_zip" in st.session_state:
        st.download_button("Download consensus zip", st.session_state[K + "consensus_zip"],
                           f"{safe_name(ws.record.name)}_consensus.zip", "application/zip", key=K + "dl_consensus")


def _audit(ws: Workspace) -> None:
    entries = ws.store.audit(image_id=ws.image_id, limit=200)
    st.dataframe([{"when (UTC)": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e["at"])),
                   "who": e["user"], "what": e["action"], "detail": e["detail"]} for e in entries],
                 hide_index=True, key=K + "audit_table")
    c1, c2 = st.columns(2)
    c1.download_button("Audit of this image (CSV)", ws.store.audit_csv(image_id=ws.image_id),
                       f"{safe_name(ws.record.name)}_audit.csv", "text/csv", key=K + "dl_audit_image")
    c2.download_button("Audit of the session (CSV)", ws.store.audit_csv(session_id=ws.session.id),
                       f"{safe_name(ws.session.name)}_audit.csv", "text/csv", key=K + "dl_audit_session")


def team_panel(ws: Workspace) -> None:
    """Assignment, review, agreement and audit of the open image."""
    _assign(ws)
    _review(ws)
    st.markdown("**Agreement between annotators**")
    _agreement(ws)
    st.markdown("**Audit log of this image**")
    _audit(ws)
