"""The viewer/editor component: slices, window/level, zoom/pan, rulers and mask editing in the
browser; Python is asked only for pixel chunks and to store edits.

Source: ``frontend/src/*.ts`` (plain TypeScript, Canvas2D); ``build.sh`` rebuilds the committed
bundle ``frontend/dist/`` and records its hashes (``source_hash.py``). The protocol is in
``core.masks.sync`` and ``core.masks.edits``; the test contract (``data-testid="medlens-viewer"``,
``data-slice``, ``data-mask-sha`` ...) in ``docs/viewer.md``.

Call it inside an ``st.fragment`` so that an edit reruns only the fragment. ``medlens_box`` is the
same component in crop mode: one frame, a box to drag, no masks (the Upload page's crop step).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st
import streamlit.components.v1 as components

from core.imaging.chunks import describe, encode_frames, frame_bytes, nearest_first, pick_frames
from core.masks.sync import ViewerSync
from core.preprocess.geometry import box_from_corners

DIST = Path(__file__).resolve().parent / "frontend" / "dist"
_component = components.declare_component("medlens_viewer", path=str(DIST))


def medlens_viewer(image: Any, sync: ViewerSync, *, key: str, doc_key: str, labels: list[str],
                   colours: list[str], label: str | None = None, tool: str = "brush", brush: int = 12,
                   height: int = 620, frame: int = 0) -> dict[str, Any]:
    """Show ``image`` (a ``MedImage``) with the masks behind ``sync``; store the edits the browser
    sent since the last rerun. ``doc_key`` names the document (unsaved edits wait in the browser
    under it across reloads). Returns the browser's latest value (``frame``, ``label``,
    ``prompts`` ...), ``{}`` before the first one."""
    value = st.session_state.get(key)
    value = value if isinstance(value, dict) else {}
    reply = sync.handle(value)
    n_frames = int(image.pixels.shape[0])
    need = value.get("need") if isinstance(value.get("need"), list) else nearest_first(frame, n_frames)
    chosen = pick_frames(need, n_frames, frame_bytes(image.pixels))
    info, data = encode_frames(image.pixels, chosen) if chosen else (None, None)
    meta = {**describe(image), "key": doc_key, "labels": [{"name": n, "colour": c} for n, c in zip(labels, colours)],
            "label": label or labels[0], "emptySha": sync.empty_sha, "frame": int(frame), "tool": tool,
            "brush": int(brush), "height": int(height)}
    _component(meta=meta, sync=reply, chunk_info=info, chunk=data, key=key, default=None)
    return value


def medlens_box(image: Any, *, key: str, frame: int = 0, window: tuple[float, float] | None = None,
                height: int = 420) -> dict[str, int] | None:
    """The viewer in crop mode on ``frame`` of ``image`` with the page's ``window``: drag a box
    (zoom, pan and window/level as in the editor). Returns the last box dragged as
    ``{"top", "left", "height", "width"}`` in image pixels, None before one is dragged."""
    value = st.session_state.get(key)
    value = value if isinstance(value, dict) else {}
    n_frames = int(image.pixels.shape[0])
    frame = max(0, min(int(frame), n_frames - 1))
    need = value.get("need") if isinstance(value.get("need"), list) else [frame]
    chosen = [frame] if frame in need else []  # one frame only: the one the page shows
    info, data = encode_frames(image.pixels, chosen) if chosen else (None, None)
    meta = {**describe(image), "key": key, "labels": [], "label": "", "emptySha": "", "frame": frame, "tool": "box",
            "brush": 1, "height": int(height), "mode": "crop"}
    if window is not None:
        meta["window"] = [float(window[0]), float(window[1])]
    _component(meta=meta, sync=None, chunk_info=info, chunk=data, key=key, default=None)
    return box_from_corners(value.get("box"), tuple(int(s) for s in image.pixels.shape[1:3]))
