"""Pure array operations and a JSON-serialisable ``Pipeline`` of them.

Families (one module each): ``window`` (window/level and presets), ``denoise`` (Gaussian,
median, non-local means, total variation), ``enhance`` (unsharp mask, CLAHE, gamma,
histogram equalisation, intensity rescale), ``geometry`` (crop, resize, resample, rotate,
flip), ``normalise`` (z-score, min-max). ``OPS`` maps each op name to its ``OpSpec``.
"""

from core.preprocess import denoise, enhance, geometry, normalise, window  # noqa: F401  (registration)
from core.preprocess.base import OPS, OpSpec, Param, get_op
from core.preprocess.pipeline import Pipeline, Step, available_ops
from core.preprocess.window import CT_PRESETS, PRESET_NAMES, resolve_window

__all__ = ["CT_PRESETS", "OPS", "OpSpec", "PRESET_NAMES", "Param", "Pipeline", "Step", "available_ops", "get_op", "resolve_window"]
