"""Crop by box: drag a rectangle on the image (drawable canvas), or type the box."""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image

from core.imaging import MedImage
from core.ui.viewer import display_array

CANVAS_MAX_SIDE = 420


def _canvas_box(image: MedImage, frame: int, window: tuple[float, float], key: str) -> dict | None:
    """The last rectangle drawn, in image pixels; None when nothing is drawn or the canvas fails."""
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception as exc:  # components-v2 import problems: fall back to the numbers
        st.caption(f"Drawing canvas unavailable ({type(exc).__name__}); type the box below.")
        return None
    shown = display_array(image.frame(frame), window, CANVAS_MAX_SIDE)
    h, w = shown.shape[:2]
    if max(h, w) < CANVAS_MAX_SIDE // 2:  # small images: enlarge so a box can be drawn precisely
        factor = CANVAS_MAX_SIDE // max(h, w)
        shown = np.asarray(Image.fromarray(shown).resize((w * factor, h * factor), Image.NEAREST))
        h, w = shown.shape[:2]
    scale_y, scale_x = image.shape[1] / h, image.shape[2] / w
    try:
        result = st_canvas(fill_color="rgba(255, 165, 0, 0.15)", stroke_width=2, stroke_color="#ff8c00",
                           background_image=Image.fromarray(shown), height=h, width=w, drawing_mode="labeled_rect",
                           update_streamlit=True, key=key)
    except Exception as exc:
        st.caption(f"Drawing canvas failed ({type(exc).__name__}); type the box below.")
        return None
    boxes = (result.boxes_in_image_space or result.boxes) if result is not None else []
    if not boxes:
        return None
    box = boxes[-1]
    top, left = max(0, int(round(box["top"] * scale_y))), max(0, int(round(box["left"] * scale_x)))
    height, width = int(round(box["height"] * scale_y)), int(round(box["width"] * scale_x))
    height, width = min(height, image.shape[1] - top), min(width, image.shape[2] - left)
    if height < 1 or width < 1:
        return None
    return {"top": top, "left": left, "height": height, "width": width}


def crop_box_selector(image: MedImage, frame: int, window: tuple[float, float], key: str) -> dict | None:
    """Canvas (drag a box) plus numeric inputs prefilled from it; returns the box on 'Add crop step'."""
    st.caption("Drag a rectangle on the original image, check the numbers, then add the crop step "
               "(it goes before any resize/rotate step, where these coordinates hold).")
    drawn = _canvas_box(image, frame, window, f"{key}.canvas")
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
