"""The live part of the Upload page: before/after viewer with frame and window controls.

Runs as an ``st.fragment`` so moving a slider reruns only the viewer; while "Play" is on,
the fragment reruns itself on a timer to step through the frames (cine).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.imaging import MedImage
from core.preprocess import Pipeline
from core.imaging.display import side_by_side
from core.ui.errors import user_errors
from core.ui.viewer import display_array, frame_controls, histogram_figure, window_controls

VIEW = "up.view"
CACHE = "up.cache"
CINE_SECONDS = 0.25


def processed_frame(image: MedImage, image_id: int, pipeline: Pipeline, frame: int) -> np.ndarray:
    """The pipeline's output for one frame, memoised per (image, pipeline, frame)."""
    key = (image_id, pipeline.to_json(indent=None), frame)
    cache: dict = st.session_state.setdefault(CACHE, {})
    if key not in cache:
        if len(cache) >= 16:
            cache.pop(next(iter(cache)))
        cache[key] = pipeline.apply_frame(image.frame(frame), pipeline.context(image))
    return cache[key]


def current_view() -> tuple[int, tuple[float, float]]:
    """(frame, window) as last set by the viewer's widgets."""
    s = st.session_state
    return int(s.get(f"{VIEW}.frame", 0)), (float(s.get(f"{VIEW}.center", 0.0)), float(s.get(f"{VIEW}.width", 1.0)))


TIMED = "up.view_timed"


def _viewer(image: MedImage, image_id: int, pipeline: Pipeline) -> None:
    controls, pictures = st.columns([1, 2], gap="medium")
    with controls:
        frame = frame_controls(image, VIEW)
        window = window_controls(image, VIEW)
        if st.button("Add this window as a pipeline step", key="up.window_step", icon=":material/contrast:"):
            pipeline.add("window", preset="custom", center=window[0], width=window[1])
            st.rerun(scope="app")
        st.plotly_chart(histogram_figure(image.frame(frame), window), width="stretch",
                        config={"displayModeBar": False}, key="up.histogram")
    playing = bool(st.session_state.get(f"{VIEW}.play")) and image.n_frames > 1
    with pictures:
        # Both panels are computed from the one frame index before anything is drawn: drawing
        # Before while After is still being computed showed two frames during playback.
        shown = display_array(image.frame(frame), window)
        processed, after_caption = None, ""
        with user_errors() as outcome:
            out = processed_frame(image, image_id, pipeline, frame)
            after_window = window if pipeline.keeps_units() else pipeline.output_window(window, out)
            processed = display_array(out, after_window)
            after_caption = f"After · {len(pipeline)} step(s) · {'x'.join(str(s) for s in out.shape[:2])}"
        where = f"{frame + 1} of {image.n_frames}"
        if playing and not outcome.failed:  # one picture: the two panels can never show different frames
            st.image(side_by_side(shown, processed), caption=f"Before · {where} | {after_caption} · {where}",
                     width="stretch")
        else:
            before, after = st.columns(2)
            before.image(shown, caption=f"Before · {where}", width="stretch")
            if processed is not None:
                after.image(processed, caption=f"{after_caption} · {where}", width="stretch")
    if playing != st.session_state.get(TIMED):
        st.rerun(scope="app")  # play toggled: rebuild the fragment with (or without) its timer


def viewer(image: MedImage, image_id: int, pipeline: Pipeline) -> None:
    """Render the viewer fragment (timed while playing a cine)."""
    playing = bool(st.session_state.get(f"{VIEW}.play")) and image.n_frames > 1
    st.session_state[TIMED] = playing
    fragment = st.fragment(_viewer, run_every=CINE_SECONDS if playing else None)
    fragment(image, image_id, pipeline)
