"""Whether a model suits an image: its card's modality and body part against the image's.

Model pickers use ``compatibility`` to choose a default that fits the loaded image and to mark
(and warn about) the ones that do not, so a chest X-ray model is never run on a CT slice, or a
breast ultrasound classifier on a chest X-ray, without a word.

The image's modality is its DICOM ``Modality``; files without one (PNG, JPEG, NIfTI) fall back to
``DescribedModality`` / ``DescribedBodyPart`` in its metadata (set from what a bundled example is
known to show), else they are "unknown": allowed, with a reason asking the user to check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Modalities that are the same kind of image for a model (projection radiography: DX, CR, RG).
FAMILIES: tuple[frozenset[str], ...] = (
    frozenset({"DX", "CR", "RG", "PX"}),
    frozenset({"ES", "XC", "GM"}),
    frozenset({"MR", "MRI"}),
)
UNKNOWN_MODALITIES = frozenset({"", "OT", "NIFTI", "SC"})
NAMES = {"DX": "X-ray", "CR": "X-ray", "CT": "CT", "MR": "MR", "US": "ultrasound", "ES": "endoscopy"}


def _family(modality: str) -> frozenset[str]:
    modality = modality.upper()
    return next((f for f in FAMILIES if modality in f), frozenset({modality}))


def _describe(modality: str, body_part: str) -> str:
    return " ".join(p for p in (NAMES.get(modality.upper(), modality), body_part.lower()) if p) or "unknown"


def image_kind(image: Any) -> tuple[str, str, bool]:
    """``(modality, body_part, known)`` of an image; ``known`` is False when the file says nothing."""
    metadata = getattr(image, "metadata", {}) or {}
    modality = str(getattr(image, "modality", "") or "").upper()
    body = str(metadata.get("BodyPartExamined", "") or "").upper()
    if modality in UNKNOWN_MODALITIES:
        modality = str(metadata.get("DescribedModality", "") or "").upper()
        body = body or str(metadata.get("DescribedBodyPart", "") or "").upper()
    return modality, body, bool(modality)


def compatibility(card: Any, image: Any) -> tuple[bool, str]:
    """``(ok, reason)``: False with the mismatch when the card's modality or body part differs
    from the image's; True with a caveat ("check …") when the image does not say; True and ""
    when they match or the card names no modality."""
    want_mod, want_body = str(card.modality or "").upper(), str(card.body_part or "").upper()
    if not want_mod:
        return True, ""
    modality, body, known = image_kind(image)
    wanted = _describe(want_mod, want_body)
    if not known:
        return True, f"the image does not say its modality; this model is for {wanted} images"
    if modality not in _family(want_mod):
        return False, f"model is for {wanted}, this image is {_describe(modality, body)}"
    if want_body and body and body != want_body:
        return False, f"model is for {wanted}, this image is {_describe(modality, body)}"
    return True, ""


def first_compatible(cards: Sequence[Any], image: Any) -> int:
    """Index of the default model for ``image``: the first that matches outright, else the first
    allowed, else 0."""
    results = [compatibility(card, image) for card in cards]
    for want_clean in (True, False):
        for i, (ok, reason) in enumerate(results):
            if ok and (not want_clean or not reason):
                return i
    return 0
