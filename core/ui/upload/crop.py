"""Crop by box: drag a rectangle on the image (the viewer component in crop mode), or type the box."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.imaging import MedImage
from core.ui.components.viewer import medlens_box


def crop_box_selector(image: MedImage, frame: int, window: tuple[float, float], key: str) -> dict | None:
    """Canvas (drag a box) plus numeric inputs prefilled from it; returns the box on 'Add crop step'."""
    st.caption("Drag a rectangle on the original image (wheel zooms, middle-drag pans, right-drag sets the "
               "window), check the numbers, then add the crop step (it goes before any resize/rotate step, "
               "where these coordinates hold).")
    drawn = medlens_box(image, key=f"{key}.canvas", frame=frame, window=window, height=420)
    rows, cols = image.shape[1], image.shape[2]
    default = drawn or {"top": 0, "left": 0, "height": rows, "width": cols}
    signature = tuple(default.values())
    if st.session_state.get(f"{key}.last") != signature:  # a new drawing refreshes the numbers
        st.session_state[f"{key}.last"] = signature
        for name, value in default.items():
            st.session_state[f"{key}.{name}"] = int(value)
    c = st.columns(4)
    top = c[0].number_input("top", 0, rows - 1, key=f"{key}.top", step=1)
    left = c[1].number_input("left", 0, cols - 1, key=f"{key}.left", step=1)
    height = c[2].number_input("height", 1, rows, key=f"{key}.height", step=1)
    width = c[3].number_input("width", 1, cols, key=f"{key}.width", step=1)
    if st.button("Add crop step", key=f"{key}.add", icon=":material/crop:"):
        return {"top": int(top), "left": int(left), "height": int(min(height, rows - top)), "width": int(min(width, cols - left))}
    return None


def box_overlay(frame_uint8: np.ndarray, box: dict) -> np.ndarray:
    """The frame with the box outlined in orange (for previews and tests)."""
    rgb = np.repeat(frame_uint8[..., None], 3, axis=-1) if frame_uint8.ndim == 2 else frame_uint8.copy()
    t, l, h, w = box["top"], box["left"], box["height"], box["width"]
    colour = np.array([255, 140, 0], dtype=np.uint8)
    rgb[t, l:l + w] = rgb[min(t + h - 1, rgb.shape[0] - 1), l:l + w] = colour
    rgb[t:t + h, l] = rgb[t:t + h, min(l + w - 1, rgb.shape[1] - 1)] = colour
    return rgb
