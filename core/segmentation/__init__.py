"""Segmentation: inference with a card's preprocessing, prompts (box, clicks), severity.

``core.segmentation.service.segment(name, image, box=, clicks=, within=)`` is the entry point for
pages and the command line; the names below are the building blocks it is made of.
"""

from core.segmentation.inference import predict_proba, threshold_and_clean
from core.segmentation.prompts import Click, box_mask, box_proba, click_curve, refine_with_clicks, simulate_click
from core.segmentation.severity import Severity, lung_summary, severity_from_masks

__all__ = [
    "Click",
    "Severity",
    "box_mask",
    "box_proba",
    "click_curve",
    "lung_summary",
    "predict_proba",
    "refine_with_clicks",
    "severity_from_masks",
    "simulate_click",
    "threshold_and_clean",
]
