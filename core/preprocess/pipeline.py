"""``Pipeline``: an ordered list of operations with JSON parameters, replayed on every frame.

JSON form (what ``save``/``load`` and ``python -m core preprocess --pipeline`` use)::

    {"steps": [{"op": "window", "params": {"preset": "CT lung"}},
               {"op": "gaussian", "params": {"sigma": 1.0}}]}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InputError
from core.imaging.display import auto_window
from core.imaging.medimage import MedImage
from core.preprocess.base import OPS, get_op


@dataclass
class Step:
    op: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "params": dict(self.params)}

    def params_text(self) -> str:
        """``k=v, ...`` of the parameters that matter (a window preset hides center/width)."""
        params = get_op(self.op).coerce(self.params)
        if self.op == "window" and params.get("preset") != "custom":
            params = {"preset": params["preset"]}
        return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())

    def describe(self) -> str:
        args = self.params_text()
        label = get_op(self.op).label
        return f"{label} ({args})" if args else label


@dataclass
class Pipeline:
    steps: list[Step] = field(default_factory=list)

    # ---- construction and JSON ------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any) -> "Pipeline":
        if isinstance(data, list):
            data = {"steps": data}
        if not isinstance(data, dict) or not isinstance(data.get("steps", None), list):
            raise InputError('a pipeline is {"steps": [{"op": NAME, "params": {...}}, ...]}')
        steps = []
        for i, raw in enumerate(data["steps"]):
            if not isinstance(raw, dict) or "op" not in raw:
                raise InputError(f"pipeline step {i + 1}: expected {{'op': NAME, 'params': {{...}}}}")
            params = raw.get("params") or {}
            if not isinstance(params, dict):
                raise InputError(f"pipeline step {i + 1}: params must be an object")
            steps.append(Step(str(raw["op"]), dict(params)))
        pipeline = cls(steps)
        pipeline.validate()
        return pipeline

    @classmethod
    def from_json(cls, text: str) -> "Pipeline":
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise InputError(f"the pipeline is not valid JSON ({exc})") from None

    @classmethod
    def load(cls, path: str | Path) -> "Pipeline":
        try:
            return cls.from_json(Path(path).read_text())
        except OSError as exc:
            raise InputError(f"{path}: cannot read the pipeline ({exc.strerror})") from None

    def to_dict(self) -> dict[str, Any]:
        return {"steps": [s.to_dict() for s in self.steps]}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())

    def validate(self) -> None:
        """Unknown ops or bad parameters raise ``InputError``; parameters are normalised."""
        for step in self.steps:
            step.params = get_op(step.op).coerce(step.params)

    # ---- editing (the page's ordered list) --------------------------------------------------
    def add(self, op: str, **params: Any) -> "Pipeline":
        self.steps.append(Step(op, get_op(op).coerce(params)))
        return self

    def insert_crop(self, **box: Any) -> int:
        """Add a crop drawn on the original image before the first geometric step (where its
        coordinates are still valid); returns its position."""
        index = next((i for i, s in enumerate(self.steps) if get_op(s.op).family == "geometry"), len(self.steps))
        self.steps.insert(index, Step("crop", get_op("crop").coerce(box)))
        return index

    def remove(self, index: int) -> None:
        del self.steps[index]

    def move(self, index: int, offset: int) -> None:
        target = index + offset
        if 0 <= index < len(self.steps) and 0 <= target < len(self.steps):
            self.steps[index], self.steps[target] = self.steps[target], self.steps[index]

    def __len__(self) -> int:
        return len(self.steps)

    # ---- application -----------------------------------------------------------------------
    def context(self, image: MedImage) -> dict[str, Any]:
        ctx: dict[str, Any] = {"spacing": image.spacing, "default_window": image.window}
        if any("auto_window" in get_op(s.op).context for s in self.steps):
            ctx["auto_window"] = auto_window(image.pixels)
        return ctx

    def apply_frame(self, frame: np.ndarray, context: dict[str, Any] | None = None) -> np.ndarray:
        """Run every step on one frame (``context`` as from ``context(image)``; not modified)."""
        return self._run_tracking(frame, dict(context or {}))

    def apply(self, image: MedImage, frames: list[int] | None = None,
              progress: Callable[[int, int], None] | None = None) -> MedImage:
        """A new ``MedImage`` with every frame (or the listed ones) processed.

        Spacing follows geometric steps; the window is kept when the units are kept, set to
        [0, 1] after a window step, and recomputed from the data after other unit changes.
        """
        if not self.steps:
            return image.with_pixels(image.pixels.copy())
        ctx = self.context(image)
        indices = list(range(image.n_frames)) if frames is None else [int(i) for i in frames]
        first_ctx = dict(ctx)
        first = self._run_tracking(image.frame(indices[0]), first_ctx)
        out = np.empty((len(indices),) + first.shape, dtype=np.float32)
        out[0] = first
        if progress:
            progress(1, len(indices))
        for n, i in enumerate(indices[1:], start=1):
            result = self._run_tracking(image.frame(i), dict(ctx))
            if result.shape != first.shape:
                raise InputError(f"pipeline: frame {i} came out {result.shape}, frame {indices[0]} {first.shape}")
            out[n] = result
            if progress:
                progress(n + 1, len(indices))
        window = self.output_window(image.window, out)
        metadata = dict(image.metadata)
        metadata["Pipeline"] = self.to_json(indent=None)
        metadata["DerivationDescription"] = "MedLens: " + "; ".join(s.describe() for s in self.steps)
        geometric = any(get_op(s.op).family == "geometry" for s in self.steps)
        return image.with_pixels(
            out,
            spacing=first_ctx.get("spacing"),
            window=window,
            metadata=metadata,
            affine=None if geometric else image.affine,
        )

    def keeps_units(self) -> bool:
        """True when every step keeps modality units (the input's window still applies)."""
        return all(get_op(s.op).units == "keep" for s in self.steps)

    def output_window(self, input_window: tuple[float, float] | None, out: np.ndarray) -> tuple[float, float] | None:
        """Window for the result: the input's when units are kept, [0, 1] after a window step
        (and only unit-keeping steps after it), else the data's own percentile window."""
        units = [get_op(s.op).units for s in self.steps]
        last_change = max((k for k, u in enumerate(units) if u != "keep"), default=None)
        if last_change is None:
            return input_window
        if units[last_change] == "unit":
            return (0.5, 1.0)
        return auto_window(out)

    def _run_tracking(self, frame: np.ndarray, ctx: dict[str, Any]) -> np.ndarray:
        """Like ``apply_frame`` but leaves the final spacing in ``ctx``."""
        out = np.asarray(frame, dtype=np.float32)
        for step in self.steps:
            spec = get_op(step.op)
            before = out.shape
            out = spec(out, ctx, **step.params)
            if spec.spacing is not None:
                ctx["spacing"] = spec.spacing(ctx.get("spacing"), spec.coerce(step.params), before, out.shape)
        return out


def available_ops() -> dict[str, list[str]]:
    """Op names by family, for menus."""
    families: dict[str, list[str]] = {}
    for name, spec in OPS.items():
        families.setdefault(spec.family, []).append(name)
    return families
