"""The mask editor: the image (with the masks as overlay) as the canvas background at a known
scale, drawing tools that become exact mask edits, undo/redo, whole-mask operations, slices,
and the measurements beside it. Runs as an ``st.fragment`` so a stroke reruns only this part.

The canvas (``streamlit-drawable-canvas``) is an input surface only: after each stroke its
objects are converted by ``core.masks.strokes`` and applied to the ``core.labeling.Workspace``
(saved at once), then the canvas is cleared and redrawn with the new overlay.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import streamlit as st
from streamlit.errors import StreamlitAPIException

from core.errors import MedLensError
from core.imaging import frame_to_uint8
from core.labeling import Workspace
from core.masks import measure as measure_mod
from core.masks import ops
from core.masks.overlay import compose, display_base, hex_to_rgb, to_jpeg
from core.masks.strokes import CanvasScale, apply_shapes, boxes, click_points, objects_to_shapes
from core.segmentation import service
from core.segmentation.noc import card_rows
from core.segmentation.prompts import Click
from core.segmentation.severity import lung_summary
from core.ui import freshness
from core.ui.errors import user_errors
from core.ui.viewer import slice_slider

TOOLS = {
    "Brush": ("freedraw", "add"),
    "Eraser": ("freedraw", "subtract"),
    "Polygon add": ("polygon", "add"),
    "Polygon subtract": ("polygon", "subtract"),
    "Rectangle add": ("rect", "add"),
    "Box prompt": ("rect", "box"),
    "Click +": ("point", "click+"),
    "Click −": ("point", "click-"),
}
CANVAS_MAX = 540
K = "seg."  # session_state prefix of this page


def _rerun() -> None:
    """Rerun the editor fragment only; the whole page when this run is not a fragment rerun."""
    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        st.rerun()


def _rgba(colour: str, alpha: float) -> str:
    r, g, b = hex_to_rgb(colour)
    return f"rgba({r}, {g}, {b}, {alpha})"


def _cached(key: tuple, make: Any) -> Any:
    """A small per-browser-session cache for display arrays (frames, resized bases)."""
    cache = st.session_state.setdefault(K + "display_cache", {})
    if key not in cache:
        if len(cache) > 16:
            cache.clear()
        cache[key] = make()
    return cache[key]


def _frame_uint8(ws: Workspace, frame: int) -> np.ndarray:
    """Windowed uint8 frame, cached per image and frame."""
    return _cached(("frame", ws.image_id, frame), lambda: frame_to_uint8(ws.image, frame))


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


def _apply_canvas(ws: Workspace, json_data: dict[str, Any], tool: str, label: str, frame: int,
                  scale: CanvasScale, model: str | None) -> str | None:
    """Turn the canvas objects into an edit; returns a message for the user, if any."""
    action = TOOLS[tool][1]
    hw = ws.masks.shape[1:]
    current = ws.masks.get(label, frame)
    if action in ("add", "subtract"):
        shapes = objects_to_shapes(json_data, scale)
        ws.edit(label, frame, apply_shapes(current, shapes, action), f"{tool.lower()}")
        return None
    model = service.model_for_label(label) or model  # a prompt on "opacity" uses the opacity model when there is one
    if model is None:
        return "Prompts need a segmentation model: pick one above."
    image = ws.image.frame(frame)
    # interactive prompts: the user's box or clicks say where, so the enclosing structure is not run
    if action == "box":
        for box in boxes(json_data, scale):
            found = service.segment(model, image, box=box, outside=current, within=False)
            ws.edit(label, frame, found.mask, "box prompt")
            current = ws.masks.get(label, frame)
        return None
    clicks = ws.clicks.setdefault((label, frame), [])
    for row, col in click_points(json_data, scale, hw):
        clicks.append(Click(row, col, action == "click+"))
    found = service.segment(model, image, clicks=clicks, prob=_probability(ws, label, frame, model), within=False)
    ws.edit(label, frame, found.mask, f"{len(clicks)} click(s)")
    return None


def _toolbar(ws: Workspace, label: str, frame: int) -> None:
    """Undo/redo and whole-mask operations (on the label being edited, this slice)."""
    row1 = st.columns(3)
    if row1[0].button("Undo edit", key=K + "undo", disabled=not ws.masks.history.can_undo, icon=":material/undo:",
                      help="Undo the last edit (any label, any slice)", width="stretch"):
        ws.undo()
        _rerun()
    if row1[1].button("Redo edit", key=K + "redo", disabled=not ws.masks.history.can_redo, icon=":material/redo:",
                      width="stretch"):
        ws.redo()
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


def _slices(ws: Workspace, label: str, model: str | None) -> int:
    """Slice slider (volumes and cine) with copy-to-next and run-on-all; returns the frame."""
    frames = ws.masks.shape[0]
    if frames == 1:
        return 0
    frame = slice_slider("Slice", frames, K + "frame", K + "slice")
    c1, c2 = st.columns(2)
    if c1.button("Copy mask to next slice", key=K + "copy_next", disabled=frame >= frames - 1):
        ws.edit(label, frame + 1, ws.masks.get(label, frame).copy(), f"copy from slice {frame + 1}")
        st.session_state[K + "next_frame"] = frame + 1
        _rerun()
    if c2.button("Run model on all slices", key=K + "run_all", disabled=model is None,
                 help=None if model else "Pick a segmentation model first"):
        st.session_state[K + "pending_label"] = _segment_into(ws, model, list(range(frames)), label)
        _rerun()
    return frame


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
    default = service.model_for_label(label_now)
    model = c_model.selectbox("Segmentation model", models, key=K + "model",
                              index=models.index(default) if default in models else 0)
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
            st.session_state[K + "label"] = written
    return model


@st.fragment
def mask_editor(ws: Workspace, model: str | None) -> None:
    """The editor fragment: tools, canvas, measurements."""
    from streamlit_drawable_canvas import st_canvas  # components-v2: only inside a running page

    if K + "next_frame" in st.session_state:
        st.session_state[K + "frame"] = st.session_state.pop(K + "next_frame")
    if K + "pending_label" in st.session_state:  # show the label a model just wrote
        st.session_state[K + "label"] = st.session_state.pop(K + "pending_label")
    labels = ws.labels
    left, right = st.columns([3, 2], gap="medium")
    with right:
        label = st.radio("Label being edited", labels, key=K + "label", horizontal=True)
        tool = st.radio("Tool", list(TOOLS), key=K + "tool", horizontal=True)
        brush = st.slider("Brush size (image pixels)", 1, 100, 12, key=K + "brush",
                          disabled=TOOLS[tool][0] != "freedraw")
        opacity = st.slider("Overlay opacity", 0.0, 1.0, 0.4, 0.05, key=K + "opacity")
        outline_only = st.checkbox("Outline only", key=K + "outline")
        visible = st.multiselect("Labels shown", labels, default=labels, key=K + "visible")
    with left:
        frame = _slices(ws, label, model)
        if (ws.session.current_frame, ws.session.current_label) != (frame, label):  # resume point
            ws.session = ws.store.update_session(ws.session.id, current_frame=frame, current_label=label)
        hw = ws.masks.shape[1:]
        scale = CanvasScale.fit(hw, CANVAS_MAX, CANVAS_MAX)
        width, height = scale.canvas_size(hw)
        shown = [lbl for lbl in labels if lbl in visible]
        gray = _frame_uint8(ws, frame)
        base = _cached(("base", ws.image_id, frame, width, height), lambda: display_base(gray, (width, height)))
        background = to_jpeg(compose(gray, [ws.masks.get(lbl, frame) for lbl in shown],
                                     [ws.session.colour(lbl) for lbl in shown], opacity, outline_only,
                                     (width, height), base=base))
        mode, action = TOOLS[tool]
        colour = ws.session.colour(label)
        stroke = {"add": _rgba(colour, 0.7), "subtract": "rgba(255, 255, 255, 0.7)", "box": _rgba(colour, 1.0),
                  "click+": "#00e676", "click-": "#ff1744"}[action]
        rev_key = (ws.image_id, frame)
        revs = st.session_state.setdefault(K + "canvas_rev", {})
        rev = revs.get(rev_key, 0)
        result = st_canvas(
            fill_color=_rgba(colour, 0.35) if action in ("add", "subtract") else "rgba(0, 0, 0, 0)",
            stroke_width=max(1, round(brush * scale.mean)) if mode == "freedraw" else (2 if mode == "point" else 1),
            stroke_color=stroke,
            background_image=background,
            background_image_fit="stretch",
            update_streamlit=True,
            width=width,
            height=height,
            drawing_mode=mode,
            point_display_radius=4,
            initial_drawing={"objects": [], "medlens_rev": rev},
            key=f"{K}canvas.{ws.image_id}.{frame}",
        )
        st.caption(f"{ws.record.name} · {hw[1]}×{hw[0]} px shown at {scale.sx:.3f}× · "
                   f"{len(ws.masks.history.edits[: ws.masks.history.position])} edit(s) applied · saved",
                   help="Each stroke or shape becomes one edit of the label being edited, saved at once. The "
                        "canvas's own small toolbar only affects a shape while it is drawn: use Undo edit / "
                        "Redo edit below. Polygons: click the vertices, then the first one again to close.")
        objects = (result.json_data or {}).get("objects") or []
        if objects:
            signature = hashlib.md5(json.dumps(objects, sort_keys=True, default=str).encode()).hexdigest()
            seen = st.session_state.setdefault(K + "seen_strokes", set())
            if signature not in seen:
                seen.add(signature)
                try:
                    message = _apply_canvas(ws, result.json_data, tool, label, frame, scale, model)
                except MedLensError as exc:
                    message = str(exc)
                revs[rev_key] = rev + 1
                if message:
                    st.session_state[K + "canvas_message"] = message
                _rerun()
        if st.session_state.get(K + "canvas_message"):
            st.warning(st.session_state.pop(K + "canvas_message"))
        _toolbar(ws, label, frame)
    with right:
        _measurements(ws, frame)
