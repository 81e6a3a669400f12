"""Model/image compatibility from the card's modality and body part (issue #17 item 3)."""

from __future__ import annotations

import numpy as np

from core import models_fit
from core.classification import service as cls_service
from core.examples import get_example, load_example
from core.imaging import MedImage
from core.segmentation import service as seg_service
from core.registry import get_spec


def _image(modality: str, **metadata: str) -> MedImage:
    return MedImage(pixels=np.zeros((8, 8), np.float32), modality=modality, metadata=dict(metadata))


def test_cxr_model_refuses_ct_and_accepts_cr_dx() -> None:
    card = get_spec("lungs-cxr").card
    ok, reason = models_fit.compatibility(card, _image("CT"))
    assert not ok and "CT" in reason and "X-ray" in reason
    assert models_fit.compatibility(card, _image("CR")) == (True, "")
    assert models_fit.compatibility(card, _image("DX", BodyPartExamined="CHEST")) == (True, "")
    ok, reason = models_fit.compatibility(card, _image("DX", BodyPartExamined="HAND"))
    assert not ok and "hand" in reason


def test_pixels_without_modality_are_allowed_with_a_caveat() -> None:
    ok, reason = models_fit.compatibility(get_spec("lungs-cxr").card, _image("OT"))
    assert ok and "does not say" in reason


def test_breast_us_is_not_the_default_for_a_chest_xray_example() -> None:
    image = load_example(get_example("cxr_pediatric_pneumonia.jpeg"))
    assert image.metadata["DescribedModality"] == "DX"
    assert not cls_service.compatibility("breast-us", image)[0]
    assert cls_service.default_model(image) == "pneumonia-cxr"


def test_segmentation_default_skips_a_mismatched_preference() -> None:
    endoscopy = _image("ES")
    assert seg_service.default_model(endoscopy, preferred="lungs-cxr") == "polyp-endoscopy-lite0"  # the superseding model first
    assert seg_service.default_model(_image("CR"), preferred="opacity-cxr") == "opacity-cxr"
    ok, reason = seg_service.compatibility("polyp-endoscopy", _image("CR"))
    assert not ok and "endoscopy" in reason
