"""Mask edits as they travel from the viewer component: parsed, rasterised, applied once by id.

An edit is a JSON object ``{"id", "op", "label", "frame", "points", "radius"}``:

- ``op`` is ``"brush"`` / ``"erase"`` (a polyline with a radius), ``"polygon"`` /
  ``"erase_polygon"`` (a closed polygon), or ``"undo"`` / ``"redo"`` (no geometry);
- ``points`` is a flat list ``[x0, y0, x1, y1, ...]`` in image coordinates: x along columns,
  y along rows, pixel ``(row, col)`` covers ``[col, col + 1) x [row, row + 1)``;
- ``frame`` is 0-based; ``radius`` is in image pixels.

**Rasterisation rule** (the browser uses the same one, in the same float64 arithmetic, so the
screen and the stored mask agree pixel for pixel): a pixel belongs to a stroke when its centre
``(col + 0.5, row + 0.5)`` lies within ``radius`` of one of the polyline's segments
(``dist2 <= radius**2 + 1e-9``, segment parameter clamped to [0, 1]; a single point is a disc);
to a polygon when its centre is inside by the even-odd rule with half-open edges
(``core.masks.raster``).

**Dedupe by id only.** Streamlit keeps only a component's latest value, so every value carries all
edits not yet acknowledged; ``EditLedger`` applies each id once and acknowledges it on every later
sight. Content is never compared: the same stroke drawn twice, with two ids, is two edits.
Undo and redo are edits with ids too, taken once each like strokes.

**Strokes are operations.** A stroke reaches the target as its exact footprint (``paint``), set or
erased on the mask as it is when it arrives, so two users' strokes on one image merge in arrival
order (``core.labeling.Workspace`` writes each to the store in one transaction).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol

import numpy as np

from core.errors import InputError
from core.masks.history import Edit
from core.masks.raster import fill_polygon, stroke

OPS = ("brush", "erase", "polygon", "erase_polygon", "undo", "redo")
MAX_POINTS = 20_000
MAX_RADIUS = 1024.0
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class EditOp:
    """One parsed edit; ``points`` is ``(n, 2)`` float64 ``(x, y)`` (empty for undo/redo)."""

    id: str
    op: str
    label: str = ""
    frame: int = 0
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    radius: float = 0.0

    @property
    def erases(self) -> bool:
        return self.op in ("erase", "erase_polygon")


def parse_edit(obj: Any) -> EditOp:
    """Validate one edit object from the browser; ``InputError`` (one line) when malformed."""
    if not isinstance(obj, dict):
        raise InputError("an edit must be an object")
    edit_id, op = obj.get("id"), obj.get("op")
    if not isinstance(edit_id, str) or not _ID.match(edit_id):
        raise InputError("an edit needs an id of 1-64 letters, digits, '-' or '_'")
    if op not in OPS:
        raise InputError(f"unknown edit op {op!r}; expected one of {', '.join(OPS)}")
    if op in ("undo", "redo"):
        return EditOp(edit_id, op)
    label, frame = obj.get("label"), obj.get("frame")
    if not isinstance(label, str) or not label:
        raise InputError(f"edit {edit_id}: a label is needed")
    if not isinstance(frame, int) or isinstance(frame, bool) or frame < 0:
        raise InputError(f"edit {edit_id}: frame must be a non-negative integer")
    raw = obj.get("points")
    if not isinstance(raw, list) or len(raw) < 2 or len(raw) % 2 or len(raw) > 2 * MAX_POINTS:
        raise InputError(f"edit {edit_id}: points must be a flat list of 1..{MAX_POINTS} x, y pairs")
    try:
        points = np.asarray(raw, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise InputError(f"edit {edit_id}: points must be numbers") from None
    if not np.isfinite(points).all() or np.abs(points).max() > 1e7:
        raise InputError(f"edit {edit_id}: points must be finite image coordinates")
    radius = 0.0
    if op in ("brush", "erase"):
        radius = obj.get("radius")
        if not isinstance(radius, (int, float)) or isinstance(radius, bool) or not 0 < radius <= MAX_RADIUS \
                or not math.isfinite(radius):
            raise InputError(f"edit {edit_id}: radius must be in (0, {MAX_RADIUS:g}] image pixels")
        radius = float(radius)
    elif len(points) < 3:
        raise InputError(f"edit {edit_id}: a polygon needs at least 3 points")
    return EditOp(edit_id, op, label, frame, points, radius)


def rasterize_edit(edit: EditOp, hw: tuple[int, int]) -> np.ndarray:
    """The ``(H, W)`` bool footprint of a brush/erase stroke or polygon (rule in the module doc)."""
    if edit.op in ("brush", "erase"):
        return stroke(edit.points, edit.radius, hw)
    if edit.op in ("polygon", "erase_polygon"):
        return fill_polygon(edit.points, hw)
    raise ValueError(f"{edit.op} has no footprint")


class EditTarget(Protocol):
    """Where edits land: a ``MaskSet``, or a labeling workspace that also stores each change.

    A stroke or polygon reaches it as an operation (``paint``: its exact footprint, set or
    erased on the mask as it is *now*, other users' strokes included), never as a whole mask;
    undo/redo carry their own id (``op_id``) so a store can take each once across reloads."""

    def get(self, label: str, frame: int = 0) -> np.ndarray: ...

    def paint(self, label: str, frame: int, footprint: np.ndarray, erase: bool = False, description: str = "",
              op_id: str | None = None) -> Edit | None: ...

    def undo(self, op_id: str | None = None) -> Edit | None: ...

    def redo(self, op_id: str | None = None) -> Edit | None: ...


@dataclass
class Outcome:
    """What one ``EditLedger.apply`` call did: ids stored (new or seen before), ids refused with
    a one-line reason, and the ``(label, frame)`` masks that changed."""

    acked: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    changed: set[tuple[str, int]] = field(default_factory=set)


class EditLedger:
    """Applies edits to a ``MaskSet`` exactly once per id.

    ``seen`` maps every id ever applied (or refused) to ``""`` (stored) or the refusal reason;
    keep it beside the masks (e.g. in the labeling store) so that edits re-sent after a reload are
    not applied twice.
    """

    def __init__(self, seen: dict[str, str] | None = None) -> None:
        self.seen: dict[str, str] = dict(seen or {})

    @classmethod
    def from_history(cls, edits: Iterable[Edit]) -> "EditLedger":
        """A ledger that knows the stroke ids recorded in stored edits (their description is
        ``"<op> <id>"``), so that strokes re-sent after a reload are not applied twice."""
        seen = {}
        for edit in edits:
            parts = edit.description.split(" ")
            if len(parts) == 2 and parts[0] in OPS and _ID.match(parts[1]):
                seen[parts[1]] = ""
        return cls(seen)

    @classmethod
    def from_ids(cls, ids: Iterable[str]) -> "EditLedger":
        """A ledger that knows these ids as stored (e.g. ``Workspace.op_ids()``: strokes and
        undo/redo steps of a reopened image)."""
        return cls({i: "" for i in ids})

    def apply(self, masks: EditTarget, raw_edits: Iterable[Any]) -> Outcome:
        """Apply the edits not seen before, in order; acknowledge the ones seen before."""
        out = Outcome()
        for raw in raw_edits:
            edit_id = raw.get("id") if isinstance(raw, dict) else None
            if isinstance(edit_id, str) and edit_id in self.seen:
                reason = self.seen[edit_id]
                (out.failed.__setitem__(edit_id, reason) if reason else out.acked.append(edit_id))
                continue
            try:
                edit = parse_edit(raw)
                changed = self._apply_one(masks, edit)
            except InputError as exc:
                if not isinstance(edit_id, str) or not _ID.match(edit_id):
                    continue  # nothing to answer to
                self.seen[edit_id] = str(exc)
                out.failed[edit_id] = str(exc)
                continue
            self.seen[edit.id] = ""
            out.acked.append(edit.id)
            if changed is not None:
                out.changed.add(changed)
        return out

    @staticmethod
    def _apply_one(masks: EditTarget, edit: EditOp) -> tuple[str, int] | None:
        if edit.op in ("undo", "redo"):
            done = masks.undo(op_id=edit.id) if edit.op == "undo" else masks.redo(op_id=edit.id)
            return None if done is None else (done.label, done.frame)
        footprint = rasterize_edit(edit, masks.get(edit.label, edit.frame).shape)  # get() checks label and frame
        # An edit that changes nothing is still recorded, so that undo counts match the browser's.
        masks.paint(edit.label, edit.frame, footprint, erase=edit.erases, description=f"{edit.op} {edit.id}",
                    op_id=edit.id)
        return edit.label, edit.frame
