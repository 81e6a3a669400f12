"""How a label's mask was made, from its edit history, for a DICOM SEG's SegmentAlgorithmType.

A model run is recorded as an edit described ``"model <name>"`` (``core.segmentation.service``),
a box or click prompt as ``"box prompt"`` / ``"<n> click(s)"``; every other edit (brush, erase,
polygon, grow/shrink, copy to the next slice, import) is manual. Only applied edits count (an
undone model run does not).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.masks.history import Edit

MODEL_PREFIX = "model "
DEFAULT_ALGORITHM = "MedLens"


@dataclass(frozen=True)
class Provenance:
    """``algorithm_type`` is AUTOMATIC, SEMIAUTOMATIC or MANUAL; ``algorithm`` names the model(s)
    (empty for MANUAL)."""

    algorithm_type: str
    algorithm: str


def _is_prompt(description: str) -> bool:
    return description == "box prompt" or description.endswith("click(s)")


def label_provenance(edits: Sequence[Edit], label: str) -> Provenance:
    """The provenance of ``label`` given the applied ``edits`` (oldest first)."""
    models: list[str] = []
    manual = prompted = False
    for edit in edits:
        if edit.label != label or edit.bbox[0] == edit.bbox[1]:  # another label, or no pixel changed
            continue
        text = edit.description or ""
        if text.startswith(MODEL_PREFIX):
            name = text[len(MODEL_PREFIX):].strip()
            if name and name not in models:
                models.append(name)
        elif _is_prompt(text):
            prompted = True
        else:
            manual = True
    if not models and not prompted:
        return Provenance("MANUAL", "")
    name = ", ".join(models) or DEFAULT_ALGORITHM
    return Provenance("SEMIAUTOMATIC" if manual or prompted else "AUTOMATIC", name)


def seg_options(history: object, label: str) -> dict[str, str]:
    """``build_seg`` keyword arguments (``algorithm``, ``algorithm_type``) for ``label`` from a
    ``History`` (its applied edits)."""
    edits = list(getattr(history, "edits", []))[: int(getattr(history, "position", 0))]
    found = label_provenance(edits, label)
    return {"algorithm": found.algorithm or DEFAULT_ALGORITHM, "algorithm_type": found.algorithm_type}
