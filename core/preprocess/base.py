"""Operation registry: every preprocessing op is a pure ``array -> array`` function with
typed, JSON-serialisable parameters (MONAI/TorchIO style: one job per op, stated defaults).

An op receives one frame, ``(H, W)`` or ``(H, W, 3)`` float32 in whatever units the previous
step produced, and returns a new float32 array. Ops that need image context (pixel spacing,
the file's default window, a window over the whole volume) declare it in ``context`` and get
it as keyword arguments from the ``Pipeline``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import InputError


@dataclass(frozen=True)
class Param:
    """One parameter: type ``float``/``int``/``bool``/``choice``, default and bounds."""

    name: str
    type: str
    default: Any
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""
    step: float | None = None

    def coerce(self, value: Any, op: str) -> Any:
        """The value converted to this type and checked against the bounds (InputError if not)."""
        try:
            if self.type == "float":
                out: Any = float(value)
                if not np.isfinite(out):
                    raise ValueError
            elif self.type == "int":
                out = int(round(float(value)))
            elif self.type == "bool":
                out = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
            else:
                out = str(value)
        except (TypeError, ValueError):
            raise InputError(f"{op}: {self.name} must be a {self.type}, got {value!r}") from None
        if self.type == "choice" and out not in self.choices:
            raise InputError(f"{op}: {self.name} must be one of {', '.join(self.choices)}, got {out!r}")
        if self.min is not None and out < self.min:
            raise InputError(f"{op}: {self.name} must be >= {self.min:g}, got {out}")
        if self.max is not None and out > self.max:
            raise InputError(f"{op}: {self.name} must be <= {self.max:g}, got {out}")
        return out


@dataclass(frozen=True)
class OpSpec:
    """A registered operation.

    ``rgb``: "any" (works on any trailing shape), "channel_axis" (pass ``channel_axis=-1``) or
    "per_channel" (applied to each colour channel). ``units``: "keep" (output in the input's
    units), "unit" (output in [0, 1]) or "new" (other units, e.g. z-scores). ``spacing``:
    maps (spacing, params, in_shape, out_shape) to the output spacing for geometric ops.
    """

    name: str
    label: str
    family: str
    fn: Callable[..., np.ndarray]
    params: tuple[Param, ...]
    doc: str
    rgb: str = "per_channel"
    units: str = "keep"
    context: tuple[str, ...] = ()
    spacing: Callable[..., tuple[float, float] | None] | None = None
    interactive: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def coerce(self, params: dict[str, Any]) -> dict[str, Any]:
        known = {p.name: p for p in self.params}
        unknown = set(params) - set(known)
        if unknown:
            raise InputError(f"{self.name}: unknown parameter(s) {', '.join(sorted(unknown))}; valid: {', '.join(known)}")
        merged = self.defaults() | params
        return {name: known[name].coerce(value, self.name) for name, value in merged.items()}

    def __call__(self, frame: np.ndarray, context: dict[str, Any] | None = None, **params: Any) -> np.ndarray:
        """Apply to one frame with coerced parameters and the declared context."""
        args = self.coerce(params)
        extra = {k: (context or {}).get(k) for k in self.context}
        frame = np.asarray(frame, dtype=np.float32)
        if frame.ndim == 3 and self.rgb == "per_channel":
            out = np.stack([self.fn(frame[..., c], **args, **extra) for c in range(frame.shape[-1])], axis=-1)
        elif frame.ndim == 3 and self.rgb == "channel_axis":
            out = self.fn(frame, **args, **extra, channel_axis=-1)
        else:
            out = self.fn(frame, **args, **extra)
        return np.asarray(out, dtype=np.float32)


OPS: dict[str, OpSpec] = {}


def register(spec: OpSpec) -> OpSpec:
    if spec.name in OPS:
        raise ValueError(f"op {spec.name!r} registered twice")
    OPS[spec.name] = spec
    return spec


def get_op(name: str) -> OpSpec:
    try:
        return OPS[name]
    except KeyError:
        raise InputError(f"unknown operation {name!r}; valid: {', '.join(sorted(OPS))}") from None


def to_unit(frame: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Frame scaled to [0, 1] by its own range, plus the range to scale back."""
    lo, hi = float(np.min(frame)), float(np.max(frame))
    if hi <= lo:
        return np.zeros_like(frame, dtype=np.float32), lo, lo + 1.0
    return ((frame - lo) / (hi - lo)).astype(np.float32), lo, hi


def from_unit(unit: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (np.asarray(unit, dtype=np.float32) * (hi - lo) + lo).astype(np.float32)
