"""Mask editing: the viewer's edits to exact pixels, edit operations, undo/redo, measurements.

The viewer component is only the input surface: its edits (strokes, polygons with ids) become
pixels here (``edits``, by the rule in ``raster``), every change to a label's mask goes through a
``MaskSet`` (or a labeling ``Workspace``) so that it can be undone (``history``), and ``measure``
turns masks into numbers. Nothing in this package imports streamlit.
"""

from core.masks.history import Edit, History
from core.masks.maskset import MaskSet
from core.masks.ops import clear, fill_holes, grow, keep_largest, shrink
from core.masks.raster import fill_polygon, stroke

__all__ = [
    "Edit",
    "History",
    "MaskSet",
    "clear",
    "fill_holes",
    "fill_polygon",
    "grow",
    "keep_largest",
    "shrink",
    "stroke",
]
