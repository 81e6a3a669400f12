"""Mask editing: canvas strokes to exact pixels, edit operations, undo/redo, measurements.

The canvas (``streamlit-drawable-canvas``) is only the input surface: its fabric.js objects are
converted to pixels here (``strokes``), every change to a label's mask goes through a
``MaskSet`` so that it can be undone (``history``), and ``measure`` turns masks into numbers.
Nothing in this package imports streamlit.
"""

from core.masks.history import Edit, History
from core.masks.maskset import MaskSet
from core.masks.ops import clear, fill_holes, grow, keep_largest, shrink
from core.masks.strokes import CanvasScale, Shape, apply_objects, objects_to_shapes, rasterize

__all__ = [
    "CanvasScale",
    "Edit",
    "History",
    "MaskSet",
    "Shape",
    "apply_objects",
    "clear",
    "fill_holes",
    "grow",
    "keep_largest",
    "objects_to_shapes",
    "rasterize",
    "shrink",
]
