"""Image viewer widgets: frame slider with cine play, window presets and sliders in
modality units, a plotly histogram marking the window, and display helpers."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from core.imaging import auto_window, MedImage, window_to_uint8
from core.preprocess import CT_PRESETS, resolve_window

DISPLAY_MAX_SIDE = 720


def display_array(frame: np.ndarray, window: tuple[float, float] | None, max_side: int = DISPLAY_MAX_SIDE) -> np.ndarray:
    """Windowed uint8 frame, downscaled (area average) so its longer side is at most ``max_side``."""
    pixels = window_to_uint8(frame, window)
    h, w = pixels.shape[:2]
    scale = max(h, w) / max_side
    if scale > 1:
        pixels = np.asarray(Image.fromarray(pixels).resize((max(1, round(w / scale)), max(1, round(h / scale))), Image.BOX))
    return pixels


def value_range(image: MedImage) -> tuple[float, float]:
    """Finite min/max of the whole image (cached on the object: volumes are scanned once)."""
    cached = image.metadata.get("_range")
    if cached is None:
        sample = image.pixels.reshape(-1)[:: max(1, image.pixels.size // 4_000_000)]
        cached = (float(np.nanmin(sample)), float(np.nanmax(sample)))
        image.metadata["_range"] = cached
    return cached


def slider_step(lo: float, hi: float) -> float:
    span = max(hi - lo, 1e-6)
    if span >= 200:
        return 1.0
    exponent = np.floor(np.log10(span / 500))
    return float(10**exponent)


def histogram_figure(frame: np.ndarray, window: tuple[float, float] | None, bins: int = 128, height: int = 220) -> go.Figure:
    """Histogram of the frame's values with the window shaded and its edges marked."""
    values = np.asarray(frame, dtype=np.float32).reshape(-1)
    values = values[:: max(1, values.size // 500_000)]
    values = values[np.isfinite(values)]
    counts, edges = np.histogram(values, bins=bins) if values.size else (np.zeros(1), np.array([0.0, 1.0]))
    centers = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure(go.Bar(x=centers, y=counts, marker_color="#6c8ebf", name="pixels", width=float(edges[1] - edges[0])))
    if window is not None:
        lo, hi = window[0] - window[1] / 2, window[0] + window[1] / 2
        fig.add_vrect(x0=lo, x1=hi, fillcolor="orange", opacity=0.18, line_width=0)
        for x, label, side in ((lo, "low", "top left"), (hi, "high", "top right")):
            fig.add_vline(x=x, line_color="orange", line_width=2, annotation_text=f"{x:.5g}", annotation_position=side,
                          annotation_font_color="orange")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=24, b=10), showlegend=False, bargap=0,
                      xaxis_title="value (modality units)", yaxis_title="count (log)")
    fig.update_yaxes(type="log", dtick=1, exponentformat="power")
    return fig


def presets_for(image: MedImage) -> list[str]:
    """Presets that make sense for this image (CT presets only for calibrated CT)."""
    names = ["custom", "auto (percentiles)"]
    if image.window is not None:
        names.insert(0, "dicom default" if image.kind == "dicom" else "file default")
    if image.modality == "CT" and value_range(image)[0] < -500:
        names += list(CT_PRESETS)
    return names


def reset_view(image: MedImage, prefix: str) -> None:
    """Frame to the middle and window to the image's default (call when a new image loads)."""
    st.session_state[f"{prefix}.frame"] = image.n_frames // 2
    st.session_state[f"{prefix}.play"] = False
    center, width = image.window or _auto(image)
    lo, hi = value_range(image)
    st.session_state[f"{prefix}.center"] = float(np.clip(center, lo, hi))
    st.session_state[f"{prefix}.width"] = float(np.clip(width, slider_step(lo, hi), max(hi - lo, slider_step(lo, hi)) * 2))
    st.session_state[f"{prefix}.preset"] = presets_for(image)[0]


def _auto(image: MedImage) -> tuple[float, float]:
    return auto_window(image.pixels)


def _apply_preset(image: MedImage, prefix: str) -> None:
    preset = st.session_state[f"{prefix}.preset"]
    if preset == "custom":
        return
    name = "dicom default" if preset == "file default" else preset
    center, width = resolve_window(name, 0, 1, image.window, _auto(image) if name.startswith("auto") else None)
    lo, hi = value_range(image)
    step = slider_step(lo, hi)
    st.session_state[f"{prefix}.center"] = float(np.clip(center, lo, hi))
    st.session_state[f"{prefix}.width"] = float(np.clip(width, step, max(hi - lo, step) * 2))


def _to_custom(prefix: str) -> None:
    st.session_state[f"{prefix}.preset"] = "custom"


def window_controls(image: MedImage, prefix: str) -> tuple[float, float]:
    """Preset select box plus center/width sliders in modality units; returns the window."""
    lo, hi = value_range(image)
    step = slider_step(lo, hi)
    if hi - lo < step:
        hi = lo + step
    presets = presets_for(image)
    if st.session_state.get(f"{prefix}.preset") not in presets:
        st.session_state[f"{prefix}.preset"] = presets[0]
    st.selectbox("Window preset", presets, key=f"{prefix}.preset", on_change=_apply_preset, args=(image, prefix))
    if image.is_rgb:
        st.caption("Colour image: the window applies to each channel (0..255 leaves it unchanged).")
    st.slider("Window center", float(lo), float(hi), key=f"{prefix}.center", step=step, on_change=_to_custom, args=(prefix,))
    st.slider("Window width", float(step), float(max(hi - lo, step) * 2), key=f"{prefix}.width", step=step,
              on_change=_to_custom, args=(prefix,))
    return float(st.session_state[f"{prefix}.center"]), float(st.session_state[f"{prefix}.width"])


def frame_controls(image: MedImage, prefix: str) -> int:
    """Frame slider (and a play toggle for cine); returns the frame index."""
    n = image.n_frames
    if n <= 1:
        return 0
    key = f"{prefix}.frame"
    st.session_state[key] = int(np.clip(st.session_state.get(key, n // 2), 0, n - 1))
    if st.session_state.get(f"{prefix}.play"):
        st.session_state[key] = (st.session_state[key] + 1) % n
    label = "Frame" if image.kind == "dicom" and len(image.datasets) <= 1 else "Slice"
    frame = slice_slider(label, n, key, f"{prefix}.slice")
    st.toggle("Play (cine)", key=f"{prefix}.play", help="step through the frames, about 4 per second")
    return frame


def _number_to_index(index_key: str, number_key: str) -> None:
    st.session_state[index_key] = int(st.session_state[number_key]) - 1


def slice_slider(label: str, n: int, index_key: str, number_key: str, container: Any = None) -> int:
    """A slider numbered 1..n as viewers number slices ("Slice 1 of 20"); returns the 0-based index.

    The 0-based index the code uses stays in ``st.session_state[index_key]``; the widget (key
    ``number_key``) shows it plus one and writes it back when the user moves it.
    """
    index = int(np.clip(st.session_state.get(index_key, 0), 0, n - 1))
    st.session_state[index_key] = index
    st.session_state[number_key] = index + 1
    (container or st).slider(f"{label} (of {n})", 1, n, key=number_key, on_change=_number_to_index,
                             args=(index_key, number_key), help=f"{label.lower()}s are numbered 1 to {n}")
    return index
