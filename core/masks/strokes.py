"""fabric.js objects from ``streamlit-drawable-canvas`` -> exact mask pixels.

The canvas shows the image stretched to ``canvas = image * scale`` (``CanvasScale``); canvas
point ``(x, y)`` is image point ``(x / sx, y / sy)``, and image pixel ``(row, col)`` covers
``[col, col + 1) x [row, row + 1)``, so its centre is ``(col + 0.5, row + 0.5)``.

A pixel belongs to a drawn shape when its **centre** does:

- filled shapes (``rect``, ``polygon``, closed ``path``): inside by the even-odd rule, with
  half-open edges (a rectangle from x0 to x1 takes the centres with ``x0 <= x < x1``);
- ``circle`` / ``ellipse``: inside or on the ellipse (the fill, not the stroke);
- strokes (freedraw ``path``, ``line``): within half the stroke width of the centre line
  (round caps and joins, like the canvas brush); quadratic and cubic curves are flattened to
  16 segments each.

Objects moved, scaled, rotated or flipped with the canvas's edit toggle are placed with the
object's own transform (``left``/``top``/``origin``/``scale``/``angle``/``flip``), the way
fabric.js does; skew is not supported. The canvas also sends ``point`` clicks (small circles)
and ``rect`` boxes; ``click_points`` and ``boxes`` read those as prompts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Sequence

import numpy as np

from core.errors import InputError

CURVE_STEPS = 16
_ORIGIN = {"left": -0.5, "top": -0.5, "center": 0.0, "right": 0.5, "bottom": 0.5}


@dataclass(frozen=True)
class CanvasScale:
    """Canvas pixels per image pixel along x (columns) and y (rows)."""

    sx: float
    sy: float

    @classmethod
    def fit(cls, image_hw: tuple[int, int], max_width: int = 640, max_height: int = 640) -> "CanvasScale":
        """The largest scale that fits the image in ``max_width x max_height`` canvas pixels,
        rounded so that the canvas has whole pixels (``sx = canvas_w / W`` exactly)."""
        h, w = int(image_hw[0]), int(image_hw[1])
        if h < 1 or w < 1:
            raise InputError(f"cannot show an empty image ({h}x{w})")
        s = min(max_width / w, max_height / h)
        cw, ch = max(1, round(w * s)), max(1, round(h * s))
        return cls(cw / w, ch / h)

    def canvas_size(self, image_hw: tuple[int, int]) -> tuple[int, int]:
        """``(width, height)`` of the canvas for an image of ``(H, W)``."""
        return round(image_hw[1] * self.sx), round(image_hw[0] * self.sy)

    @property
    def mean(self) -> float:
        return (self.sx + self.sy) / 2


@dataclass
class Shape:
    """One drawn object in image coordinates (x = column axis, y = row axis, pixel edges at
    integers).

    ``kind``: ``"stroke"`` (``points`` centre line, ``radius``), ``"polygon"`` (``points``),
    ``"ellipse"`` (``centre``, ``radii``, ``matrix``: image->unit-circle affine), ``"point"``
    (``centre``) or ``"box"`` (``points`` = 4 corners).
    """

    kind: str
    points: np.ndarray | None = None
    radius: float = 0.0
    centre: tuple[float, float] | None = None
    matrix: np.ndarray | None = None
    source_type: str = ""

    def bbox(self) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)`` in image coordinates."""
        if self.kind == "ellipse":
            inv = np.linalg.inv(self.matrix)
            corners = np.array([[-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]], float) @ inv.T
            # an ellipse lies inside the image of the unit square
            return float(corners[:, 0].min()), float(corners[:, 1].min()), float(corners[:, 0].max()), float(corners[:, 1].max())
        pts = self.points if self.points is not None else np.array([self.centre])
        return (float(pts[:, 0].min() - self.radius), float(pts[:, 1].min() - self.radius),
                float(pts[:, 0].max() + self.radius), float(pts[:, 1].max() + self.radius))


# ----------------------------------------------------------------- fabric geometry


def _num(obj: dict[str, Any], key: str, default: float = 0.0) -> float:
    value = obj.get(key, default)
    try:
        return float(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def _origin(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value) - 0.5  # fabric also accepts 0..1
    return _ORIGIN.get(str(value), -0.5)


def _flatten_path(path: Sequence[Sequence[Any]]) -> tuple[list[np.ndarray], bool]:
    """fabric path commands (absolute M/L/Q/C/Z, as fabric stores them) -> polylines, closed?"""
    polylines: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    closed = False
    for command in path:
        if not command:
            continue
        op, *args = command
        op = str(op)
        vals = [float(v) for v in args]
        upper = op.upper()
        if upper != op and upper != "Z":
            raise InputError(f"relative path command {op!r} is not supported")
        if upper == "M":
            if len(current) > 0:
                polylines.append(current)
            current = [(vals[0], vals[1])]
        elif upper == "L":
            current.append((vals[0], vals[1]))
        elif upper == "Q" and current:
            (x0, y0), (cx, cy, x1, y1) = current[-1], vals[:4]
            for t in np.linspace(0, 1, CURVE_STEPS + 1)[1:]:
                u = 1 - t
                current.append((u * u * x0 + 2 * u * t * cx + t * t * x1, u * u * y0 + 2 * u * t * cy + t * t * y1))
        elif upper == "C" and current:
            (x0, y0), (ax, ay, bx, by, x1, y1) = current[-1], vals[:6]
            for t in np.linspace(0, 1, CURVE_STEPS + 1)[1:]:
                u = 1 - t
                current.append((u**3 * x0 + 3 * u * u * t * ax + 3 * u * t * t * bx + t**3 * x1,
                                u**3 * y0 + 3 * u * u * t * ay + 3 * u * t * t * by + t**3 * y1))
        elif upper == "Z":
            closed = True
        elif upper in ("H", "V", "S", "T", "A"):
            raise InputError(f"path command {op!r} is not supported")
    if current:
        polylines.append(current)
    return [np.asarray(p, float) for p in polylines], closed


def _dims(obj: dict[str, Any], width: float, height: float) -> tuple[float, float]:
    """fabric's ``_getTransformedDimensions`` without skew: size incl. stroke, scaled."""
    sw = _num(obj, "strokeWidth", 1.0)  # fabric counts it even without a stroke colour
    sx, sy = abs(_num(obj, "scaleX", 1.0)), abs(_num(obj, "scaleY", 1.0))
    if obj.get("strokeUniform"):
        return width * sx + sw, height * sy + sw
    return (width + sw) * sx, (height + sw) * sy


def _centre(obj: dict[str, Any], width: float, height: float) -> np.ndarray:
    """Object centre on the canvas from its ``left``/``top`` and origin (fabric's
    ``translateToCenterPoint``: rotation about the origin point)."""
    dx, dy = _dims(obj, width, height)
    ox, oy = -_origin(obj.get("originX", "left")), -_origin(obj.get("originY", "top"))
    left, top = _num(obj, "left"), _num(obj, "top")
    offset = np.array([ox * dx, oy * dy])
    angle = math.radians(_num(obj, "angle"))
    if angle:
        c, s = math.cos(angle), math.sin(angle)
        offset = np.array([c * offset[0] - s * offset[1], s * offset[0] + c * offset[1]])
    return np.array([left, top]) + offset


def _local_to_canvas(obj: dict[str, Any], centre: np.ndarray) -> np.ndarray:
    """3x3 affine from an object's local (centre-relative, unscaled) coordinates to canvas."""
    if _num(obj, "skewX") or _num(obj, "skewY"):
        raise InputError("skewed canvas objects are not supported; undo the skew and draw again")
    sx = _num(obj, "scaleX", 1.0) * (-1 if obj.get("flipX") else 1)
    sy = _num(obj, "scaleY", 1.0) * (-1 if obj.get("flipY") else 1)
    angle = math.radians(_num(obj, "angle"))
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c * sx, -s * sy, centre[0]], [s * sx, c * sy, centre[1]], [0, 0, 1]], float)


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    homog = np.c_[points, np.ones(len(points))]
    return (homog @ matrix.T)[:, :2]


def _canvas_to_image(scale: CanvasScale) -> np.ndarray:
    return np.diag([1 / scale.sx, 1 / scale.sy, 1.0])


def _stroke_radius(obj: dict[str, Any], scale: CanvasScale) -> float:
    """Half the stroke width, in image pixels."""
    sw = _num(obj, "strokeWidth", 1.0)
    if not obj.get("strokeUniform"):
        sw *= (abs(_num(obj, "scaleX", 1.0)) + abs(_num(obj, "scaleY", 1.0))) / 2
    return sw / 2 / scale.mean


def _points_matrix(obj: dict[str, Any], points: np.ndarray, scale: CanvasScale) -> np.ndarray:
    """Image-from-absolute-points affine for a Path/Polygon whose points were drawn in canvas
    coordinates: identity (up to scale) unless the object was moved/scaled/rotated since."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    width, height = hi - lo
    path_offset = (lo + hi) / 2
    centre = _centre(obj, float(width), float(height))
    local = _local_to_canvas(obj, centre)
    untouched = (abs(_num(obj, "scaleX", 1) - 1) < 1e-9 and abs(_num(obj, "scaleY", 1) - 1) < 1e-9
                 and not _num(obj, "angle") and not obj.get("flipX") and not obj.get("flipY")
                 and np.all(np.abs(centre - path_offset) < 0.01))
    shift = np.eye(3)
    if not untouched:
        shift = local @ np.array([[1, 0, -path_offset[0]], [0, 1, -path_offset[1]], [0, 0, 1]], float)
    return _canvas_to_image(scale) @ shift


def object_to_shape(obj: dict[str, Any], scale: CanvasScale) -> Shape | None:
    """One fabric.js object (as in ``json_data["objects"]``) -> a ``Shape`` in image pixels,
    or None for objects that carry no geometry (text, images)."""
    kind = str(obj.get("type", "")).lower()
    if kind in ("rect", "labeledrect"):
        w, h = _num(obj, "width"), _num(obj, "height")
        m = _canvas_to_image(scale) @ _local_to_canvas(obj, _centre(obj, w, h))
        corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
        return Shape("box", points=_apply(m, corners), source_type=kind)
    if kind in ("circle", "ellipse"):
        if kind == "circle":
            rx = ry = _num(obj, "radius")
        else:
            rx, ry = _num(obj, "rx"), _num(obj, "ry")
        centre = _centre(obj, 2 * rx, 2 * ry)
        m = _canvas_to_image(scale) @ _local_to_canvas(obj, centre) @ np.diag([max(rx, 1e-9), max(ry, 1e-9), 1.0])
        c = _apply(_canvas_to_image(scale), centre[None])[0]
        return Shape("ellipse", centre=(float(c[0]), float(c[1])), matrix=np.linalg.inv(m), source_type=kind)
    if kind == "line":
        x1, y1, x2, y2 = (_num(obj, k) for k in ("x1", "y1", "x2", "y2"))
        mid = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
        local = np.array([[x1, y1], [x2, y2]]) - mid
        m = _canvas_to_image(scale) @ _local_to_canvas(obj, _centre(obj, abs(x2 - x1), abs(y2 - y1)))
        return Shape("stroke", points=_apply(m, local), radius=_stroke_radius(obj, scale), source_type=kind)
    if kind in ("polygon", "polyline"):
        pts = np.array([[_num(p, "x"), _num(p, "y")] for p in obj.get("points", [])], float)
        if len(pts) < 3:
            return None
        pts = _apply(_points_matrix(obj, pts, scale), pts)
        if kind == "polyline":
            return Shape("stroke", points=pts, radius=_stroke_radius(obj, scale), source_type=kind)
        return Shape("polygon", points=pts, source_type=kind)
    if kind == "path":
        polylines, closed = _flatten_path(obj.get("path") or [])
        if not polylines:
            return None
        allpts = np.concatenate(polylines)
        m = _points_matrix(obj, allpts, scale)
        pts = _apply(m, polylines[0]) if len(polylines) == 1 else _apply(m, allpts)
        if closed and len(pts) >= 3:
            return Shape("polygon", points=pts, source_type=kind)
        return Shape("stroke", points=pts, radius=_stroke_radius(obj, scale), source_type=kind)
    return None


def objects_to_shapes(json_data: dict[str, Any] | None, scale: CanvasScale) -> list[Shape]:
    """All drawable objects of a canvas ``json_data`` as ``Shape``s, in drawing order."""
    objects = (json_data or {}).get("objects") or []
    shapes = [object_to_shape(obj, scale) for obj in objects if isinstance(obj, dict)]
    return [s for s in shapes if s is not None]


# ----------------------------------------------------------------- rasterisation


def _pixel_window(x0: float, y0: float, x1: float, y1: float, hw: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Rows/cols whose centres may fall in ``[x0, x1] x [y0, y1]``: ``(r0, r1, c0, c1)`` half-open."""
    h, w = hw
    c0, c1 = max(0, math.floor(x0 - 0.5)), min(w, math.ceil(x1 - 0.5) + 1)
    r0, r1 = max(0, math.floor(y0 - 0.5)), min(h, math.ceil(y1 - 0.5) + 1)
    if c0 >= c1 or r0 >= r1:
        return None
    return r0, r1, c0, c1


def _fill_polygon(points: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Even-odd fill of pixel centres, half-open edges (see module docstring)."""
    mask = np.zeros(hw, bool)
    window = _pixel_window(*points.min(axis=0), *points.max(axis=0), hw)
    if window is None:
        return mask
    r0, r1, c0, c1 = window
    px = (np.arange(c0, c1) + 0.5)[None, :]
    py = (np.arange(r0, r1) + 0.5)[:, None]
    inside = np.zeros((r1 - r0, c1 - c0), bool)
    xs, ys = points[:, 0], points[:, 1]
    for i in range(len(points)):
        xa, ya, xb, yb = xs[i], ys[i], xs[i - 1], ys[i - 1]
        if ya == yb:
            continue
        spans = (ya > py) != (yb > py)  # (rows, 1)
        x_cross = xa + (py - ya) * (xb - xa) / (yb - ya)  # (rows, 1)
        inside ^= spans & (px < x_cross)
    mask[r0:r1, c0:c1] = inside
    return mask


def _stroke(points: np.ndarray, radius: float, hw: tuple[int, int]) -> np.ndarray:
    """Pixel centres within ``radius`` of the polyline (capsule per segment)."""
    mask = np.zeros(hw, bool)
    if len(points) == 1:
        points = np.vstack([points, points])
    r2 = radius * radius
    for a, b in zip(points[:-1], points[1:]):
        window = _pixel_window(min(a[0], b[0]) - radius, min(a[1], b[1]) - radius,
                               max(a[0], b[0]) + radius, max(a[1], b[1]) + radius, hw)
        if window is None:
            continue
        r0, r1, c0, c1 = window
        px = (np.arange(c0, c1) + 0.5)[None, :] - a[0]
        py = (np.arange(r0, r1) + 0.5)[:, None] - a[1]
        d = b - a
        length2 = float(d @ d)
        if length2 > 0:
            t = np.clip((px * d[0] + py * d[1]) / length2, 0.0, 1.0)
            dist2 = (px - t * d[0]) ** 2 + (py - t * d[1]) ** 2
        else:
            dist2 = px**2 + py**2
        mask[r0:r1, c0:c1] |= dist2 <= r2 + 1e-9
    return mask


def _ellipse(shape: Shape, hw: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(hw, bool)
    window = _pixel_window(*shape.bbox(), hw)
    if window is None:
        return mask
    r0, r1, c0, c1 = window
    px, py = np.meshgrid(np.arange(c0, c1) + 0.5, np.arange(r0, r1) + 0.5)
    m = shape.matrix
    u = m[0, 0] * px + m[0, 1] * py + m[0, 2]
    v = m[1, 0] * px + m[1, 1] * py + m[1, 2]
    mask[r0:r1, c0:c1] = u * u + v * v <= 1.0 + 1e-9
    return mask


def rasterize(shape: Shape, hw: tuple[int, int]) -> np.ndarray:
    """The ``(H, W)`` boolean pixels covered by ``shape`` (rules in the module docstring)."""
    hw = (int(hw[0]), int(hw[1]))
    if shape.kind in ("polygon", "box"):
        return _fill_polygon(shape.points, hw)
    if shape.kind == "stroke":
        return _stroke(shape.points, shape.radius, hw)
    if shape.kind == "ellipse":
        return _ellipse(shape, hw)
    if shape.kind == "point":
        x, y = shape.centre
        mask = np.zeros(hw, bool)
        r, c = int(math.floor(y)), int(math.floor(x))
        if 0 <= r < hw[0] and 0 <= c < hw[1]:
            mask[r, c] = True
        return mask
    raise InputError(f"unknown shape kind {shape.kind!r}")


Mode = Literal["add", "subtract"]


def apply_shapes(mask: np.ndarray, shapes: Iterable[Shape], mode: Mode = "add") -> np.ndarray:
    """A new mask: ``mask`` with the shapes' pixels added (brush, polygon add) or removed
    (eraser, polygon subtract)."""
    out = np.array(mask, dtype=bool, copy=True)
    for shape in shapes:
        pixels = rasterize(shape, out.shape)
        if mode == "add":
            out |= pixels
        elif mode == "subtract":
            out &= ~pixels
        else:
            raise InputError(f"unknown edit mode {mode!r}")
    return out


def apply_objects(mask: np.ndarray, json_data: dict[str, Any] | None, scale: CanvasScale, mode: Mode = "add") -> np.ndarray:
    """``apply_shapes`` for the objects of a canvas ``json_data``."""
    return apply_shapes(mask, objects_to_shapes(json_data, scale), mode)


def click_points(json_data: dict[str, Any] | None, scale: CanvasScale, hw: tuple[int, int]) -> list[tuple[int, int]]:
    """Centres of the canvas's ``point`` clicks (circles) as image ``(row, col)``, clipped."""
    out = []
    for shape in objects_to_shapes(json_data, scale):
        if shape.kind == "ellipse" and shape.centre is not None:
            x, y = shape.centre
            out.append((int(np.clip(math.floor(y), 0, hw[0] - 1)), int(np.clip(math.floor(x), 0, hw[1] - 1))))
    return out


def boxes(json_data: dict[str, Any] | None, scale: CanvasScale) -> list[tuple[float, float, float, float]]:
    """Rectangles drawn on the canvas as image ``(x0, y0, x1, y1)``."""
    out = []
    for shape in objects_to_shapes(json_data, scale):
        if shape.kind == "box":
            x0, y0, x1, y1 = shape.bbox()
            out.append((x0, y0, x1, y1))
    return out
