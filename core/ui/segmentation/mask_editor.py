"""The mask editor: the viewer component (``core.ui.components.viewer``: slices, window/level,
zoom/pan, brush/eraser/polygon, box and click prompts, per-stroke undo, all in the browser),
whole-mask operations and the measurements beside it. Runs as an ``st.fragment`` so an edit
reruns only this part.

Strokes arrive as edits with ids (``core.masks.edits``) and are written through the
``core.labeling.Workspace`` (saved at once) before the browser is told they are stored; box and
click prompts run the model here (``core.segmentation.service``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st
from streamlit.errors import StreamlitAPIException

from core.errors import MedLensError
from core.labeling import Workspace
from core.masks import measure as measure_mod
from core.masks import ops
from core.masks.edits import EditLedger
from core.masks.sync import ViewerSync
from core.segmentation import service
from core.segmentation.noc import card_rows
from core.segmentation.prompts import Click
from core.segmentation.severity import lung_summary
from core.ui import freshness
from core.ui.components.viewer import medlens_viewer
from core.ui.errors import user_errors

K = "seg."  # session_state prefix of this page


def _rerun() -> None:
    """Rerun the editor fragment only; the whole page when this run is not a fragment rerun."""
    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        st.rerun()


def _segment_into(ws: Workspace, model: str, frames: list[int], fallback_label: str) -> str:
    """``service.segment_into`` with a progress bar for several frames; a label the model added
    to the session is shown at once. Returns the label written."""
    bar = st.progress(0.0, text="Segmenting slices…") if len(frames) > 1 else None

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.progress(done / total, text=f"Segmenting slices… {done}/{total}")

    label, added = service.segment_into(ws, model, frames, fallback_label, progress)
    made_by = st.session_state.setdefault(PROB_FROM, {})
    for frame in frames:  # segment_into keeps the model's maps: the click prompts may reuse them
        made_by[(label, frame)] = freshness.fingerprint([model, (label, frame)])
    if added:
        st.session_state.pop(K + "visible", None)  # show the new label too
    if bar is not None:
        bar.empty()
    return label


PROB_FROM = K + "prob_from"  # (label, frame) -> the fingerprint of the model its probability map came from


def _probability(ws: Workspace, label: str, frame: int, model: str) -> np.ndarray:
    """The model's probability map for this frame (computed once per label, frame and model: a map
    that another model made is recomputed rather than reused for the prompts)."""
    key = (label, frame)
    made_by = st.session_state.setdefault(PROB_FROM, {})
    inputs = freshness.fingerprint([model, key])
    if key not in ws.probs or made_by.get(key, inputs) != inputs:
        ws.probs[key] = service.probability(model, ws.image.frame(frame))
        made_by[key] = inputs
    return ws.probs[key]


def _apply_prompt(ws: Workspace, prompt: dict[str, Any], model: str | None) -> str | None:
    """Run the model on a box or click prompt from the viewer; returns a message, if any."""
    try:  # the browser's value is untrusted input
        label, frame = str(prompt.get("label", "")), int(prompt.get("frame", 0))
        box = [float(v) for v in prompt["box"]] if prompt.get("kind") == "box" else None
        point = [float(v) for v in prompt["point"]] if prompt.get("kind") == "click" else None
    except (KeyError, TypeError, ValueError):
        return "That prompt could not be read."
    if label not in ws.labels or not 0 <= frame < ws.masks.shape[0]:
        return "That prompt points outside this image."
    model = service.model_for_label(label) or model  # a prompt on "opacity" uses the opacity model when there is one
    if model is None:
        return "Prompts need a segmentation model: pick one above."
    hw = ws.masks.shape[1:]
    current = ws.masks.get(label, frame)
    image = ws.image.frame(frame)
    # interactive prompts: the user's box or clicks say where, so the enclosing structure is not run
    if box is not None and len(box) == 4 and all(np.isfinite(box)):
        found = service.segment(model, image, box=tuple(box), outside=current, within=False)
        ws.edit(label, frame, found.mask, "box prompt")
        return None
    if point is None or len(point) != 2 or not all(np.isfinite(point)):
        return "That prompt could not be read."
    col, row = int(np.floor(point[0])), int(np.floor(point[1]))
    if not (0 <= row < hw[0] and 0 <= col < hw[1]):
        return "That click is outside the image."
    clicks = ws.clicks.setdefault((label, frame), [])
    clicks.append(Click(row, col, bool(prompt.get("positive", True))))
    found = service.segment(model, image, clicks=clicks, prob=_probability(ws, label, frame, model), within=False)
    ws.edit(label, frame, found.mask, f"{len(clicks)} click(s)")
    return None


def _toolbar(ws: Workspace, label: str, frame: int) -> None:
    """Undo/redo and whole-mask operations (on the label being edited, this slice)."""
    row1 = st.columns(3)
    if row1[0].button("Undo edit", key=K + "undo", disabled=not ws.masks.history.can_undo, icon=":material/undo:",
                      help="Undo your last edit (any label, any slice)", width="stretch"):
        with user_errors() as outcome:  # refused with "changed by NAME; reload" when someone built on it
            ws.undo()
        if not outcome.failed:
            _rerun()
    if row1[1].button("Redo edit", key=K + "redo", disabled=not ws.masks.history.can_redo, icon=":material/redo:",
                      width="stretch"):
        with user_errors() as outcome:
            ws.redo()
        if not outcome.failed:
            _rerun()
    row2 = st.columns(4)
    for col, name in zip([row1[2], *row2], ["clear", "fill holes", "keep largest", "grow 1 px", "shrink 1 px"]):
        if col.button(name.capitalize(), key=K + "op." + name, width="stretch"):
            ws.edit(label, frame, ops.OPERATIONS[name](ws.masks.get(label, frame)), name)
            _rerun()


def _measurements(ws: Workspace, frame: int) -> None:
    masks = ws.masks.frame_masks(frame)
    spacing = ws.image.spacing
    rows = measure_mod.measure(masks, ws.image.frame(frame), spacing)
    st.markdown("**Measurements**" + ("" if spacing else " (pixel spacing unknown: areas in pixels)"))
    if not rows:
        st.caption("No mask on this slice yet.")
    else:
        unit = rows[0]["area_unit"]
        table = [{"label": r["label"], "part": r["component"], f"area ({unit})": r["area"],
                  f"eq. diameter ({r['length_unit']})": r["equivalent_diameter"],
                  "bbox r0,c0,r1,c1": ",".join(map(str, r["bbox"] or [])), "mean intensity": r["mean_intensity"]}
                 for r in rows]
        st.dataframe(table, hide_index=True, key=K + "measure_table", width="stretch")
    st.caption(" · ".join(f"{label}: {int(mask.sum())} px" for label, mask in masks.items()),
               help="Pixel count per label on this slice")
    if ws.masks.shape[0] > 1:
        parts = []
        for row in measure_mod.volume_summary(ws.masks.data, spacing, getattr(ws.image, "slice_spacing", None)):
            if row["voxels"]:
                size = f"{row['volume_ml']:g} ml" if "volume_ml" in row else f"{row['voxels']:,} voxels"
                parts.append(f"{row['label']}: {size} over {len(row['slices'])} slice(s)")
        st.caption("Whole volume · " + (" · ".join(parts) if parts else "no mask yet"))
    summary = lung_summary(masks, spacing)
    if summary:
        unit = summary["area_unit"]
        fmt = "{:,.0f}" if unit == "px" else "{:,.1f}"
        parts = [f"Lungs {fmt.format(summary['lung_area'])} {unit}"]
        if "right_lung_area" in summary:
            parts.append(f"right {fmt.format(summary['right_lung_area'])} / left {fmt.format(summary['left_lung_area'])} "
                         f"{unit} (patient's sides on a frontal view)")
        opacity_known = np.any(masks.get("opacity", False)) or ("opacity", frame) in ws.probs
        if "percent_lung_affected" in summary and opacity_known:
            parts.append(f"**{summary['percent_lung_affected']:.1f} % of lung affected**")
        st.markdown(" · ".join(parts))


def _volume_buttons(ws: Workspace, label: str, frame: int, model: str | None) -> None:
    """Copy-to-next and run-on-all for volumes and cine (the viewer itself scrolls slices)."""
    frames = ws.masks.shape[0]
    if frames == 1:
        return
    c1, c2 = st.columns(2)
    if c1.button("Copy mask to next slice", key=K + "copy_next", disabled=frame >= frames - 1):
        ws.edit(label, frame + 1, ws.masks.get(label, frame).copy(), f"copy from slice {frame + 1}")
        st.session_state[K + "goto_frame"] = st.session_state[K + "frame"] = frame + 1  # the viewer is sent there
        _rerun()
    if c2.button("Run model on all slices", key=K + "run_all", disabled=model is None,
                 help=None if model else "Pick a segmentation model first"):
        st.session_state[K + "goto_label"] = st.session_state[K + "label"] = _segment_into(
            ws, model, list(range(frames)), label)
        _rerun()


def model_picker(ws: Workspace) -> str | None:
    """Segmentation model picker with its card and the Segment button; None when no model is
    registered (the page says so plainly)."""
    models = service.model_names()
    c_model, c_segment = st.columns([3, 2], vertical_alignment="bottom")
    if not models:
        c_model.warning("**No segmentation model is registered.** Drawing, measurements, sessions and exports "
                        "work; Segment, box and click prompts need a model (`python -m core models` lists them).")
        return None
    label_now = st.session_state.get(K + "label", ws.labels[0])
    fits = {name: service.compatibility(name, ws.image) for name in models}
    here = (ws.session.id, ws.image_id)
    if st.session_state.get(K + "model_for") != here or st.session_state.get(K + "model") not in models:
        st.session_state[K + "model_for"] = here  # a new image: a default that fits it
        st.session_state[K + "model"] = service.default_model(ws.image, service.model_for_label(label_now))
    model = c_model.selectbox("Segmentation model", models, key=K + "model",
                              format_func=lambda n: n if fits[n][0] else f"{n} (not for this image: {fits[n][1]})")
    ok, reason = fits[model]
    if not ok:
        c_model.warning(f"**{model} is not for this image:** {reason}.")
    card = service.model_card(model)
    with c_model.expander(f"Model card: {model}"):
        st.write(card.pop("description"))
        rows = card_rows(card["metrics"])
        if rows:
            head = " | ".join(rows[0])
            st.markdown("\n".join([f"| {head} |", "|" + "---|" * len(rows[0])]
                                  + [f"| {' | '.join(str(v) for v in r.values())} |" for r in rows]))
            st.caption("Clicks to reach Dice .85 / .90 on the validation split (simulated clicks at the largest "
                       f"error region, at most {card['metrics']['noc'][rows[0]['data set']]['max_clicks']}).")
        st.json(card, expanded=False)
    target = service.model_label(model) or label_now
    if c_segment.button(f"Segment → {target}", type="primary", key=K + "segment", icon=":material/auto_fix_high:"):
        frame = int(st.session_state.get(K + "frame", 0))
        with user_errors():
            with st.status(f"Running {model} on slice {frame + 1}…", expanded=False) as status:
                written = _segment_into(ws, model, [frame], label_now)
                share = ws.masks.get(written, frame).mean() * 100
                status.update(label=f"{model}: {written} covers {share:.1f} % of the image", state="complete")
            st.session_state[K + "label"] = st.session_state[K + "goto_label"] = written  # the viewer shows it
    return model


def viewer_sync(ws: Workspace) -> ViewerSync:
    """The viewer protocol state of this workspace (one per image in this browser session); its
    ledger starts from the edit and undo/redo ids already stored, so edits re-sent after a reload
    are taken once (the store checks the ids too)."""
    syncs = st.session_state.setdefault(K + "viewer_sync", {})
    key = (ws.session.id, ws.image_id)
    sync = syncs.get(key)
    if sync is None or sync.target is not ws:
        syncs.clear()
        sync = syncs[key] = ViewerSync(ws, ws.labels, ws.masks.shape, EditLedger.from_ids(ws.op_ids()),
                                       history=ws.masks.history)
    sync.labels = list(ws.labels)
    if ws.refresh():  # other users saved strokes on this image since: send the masks again
        sync.touch()
    return sync


@st.fragment
def mask_editor(ws: Workspace, model: str | None) -> None:
    """The editor fragment: the viewer component (slices, W/L, zoom, drawing; edits stored as
    they arrive), whole-mask operations, measurements. A stroke reruns only this fragment."""
    if K + "pending_label" in st.session_state:  # a model run wrote this label: show it
        st.session_state[K + "goto_label"] = st.session_state[K + "label"] = st.session_state.pop(K + "pending_label")
    labels = ws.labels
    if st.session_state.get(K + "goto_label") not in labels:
        current = st.session_state.get(K + "label")
        st.session_state[K + "goto_label"] = current if current in labels else labels[0]
    sync = viewer_sync(ws)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        value = medlens_viewer(
            ws.image, sync, key=f"{K}viewer.{ws.session.id}.{ws.image_id}", doc_key=f"s{ws.session.id}-i{ws.image_id}",
            labels=labels, colours=[ws.session.colour(lbl) for lbl in labels], label=st.session_state[K + "goto_label"],
            frame=int(st.session_state.get(K + "goto_frame", st.session_state.get(K + "frame", 0))), height=560)
        # What the viewer shows, as it last reported it; a page action since (a model run, copy to the
        # next slice) has already set K + "frame" / K + "label" and asked the viewer to follow.
        fresh = value.get("n") != st.session_state.get(K + "value_n")
        st.session_state[K + "value_n"] = value.get("n")
        reported = value.get("frame") if fresh and isinstance(value.get("frame"), int) else st.session_state.get(K + "frame", 0)
        frame = int(np.clip(int(reported), 0, ws.masks.shape[0] - 1))
        label = value.get("label") if fresh and value.get("label") in labels else st.session_state.get(K + "label")
        label = label if label in labels else st.session_state[K + "goto_label"]
        st.session_state[K + "frame"], st.session_state[K + "label"] = frame, label
        view = st.session_state.setdefault(K + "view", {})
        view.update(frame=frame, label=label)  # read by the export buttons at the moment of the click
        if (ws.session.current_frame, ws.session.current_label) != (frame, label):  # the session's resume point
            ws.session = ws.store.update_session(ws.session.id, current_frame=frame, current_label=label)
        if st.session_state.get(K + "remembered") != (ws.image_id, frame, label):  # this user's own one
            ws.remember(frame, label)
            st.session_state[K + "remembered"] = (ws.image_id, frame, label)
        for prompt in sync.new_prompts(value):
            try:
                message = _apply_prompt(ws, prompt, model)
            except MedLensError as exc:
                message = str(exc)
            sync.prompt_done(prompt["id"])
            if message:
                st.session_state[K + "canvas_message"] = message
            _rerun()
        if st.session_state.get(K + "canvas_message"):
            st.warning(st.session_state.pop(K + "canvas_message"))
        hw = ws.masks.shape[1:]
        st.caption(f"{ws.record.name} · {hw[1]}×{hw[0]} px · "
                   f"{len(ws.masks.history.edits[: ws.masks.history.position])} edit(s) applied",
                   help="Wheel or arrow keys: slices · right-drag: window/level · Ctrl+wheel or + / −: zoom · 0: fit · "
                        "middle-drag: pan · B brush, E eraser, P polygon, X box prompt, K click prompt (Shift: "
                        "negative), L length, A area · [ ] brush size · Ctrl+Z / Ctrl+Shift+Z undo / redo. "
                        "Each stroke is stored as it arrives; the status line says when all are saved.")
        _volume_buttons(ws, label, frame, model)
        _toolbar(ws, label, frame)
    with right:
        _measurements(ws, frame)
