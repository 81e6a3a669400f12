"""Segmentation: inference with a card's preprocessing, prompts (box, clicks), severity.

``segment(image, model_name)`` is the entry point for pages and the command line.
"""

from core.segmentation.inference import SegmentationResult, predict_proba, segment, threshold_and_clean
from core.segmentation.prompts import Click, box_mask, box_proba, click_curve, refine_with_clicks, simulate_click
from core.segmentation.severity import Severity, lung_summary, opacity_severity, severity_from_masks

__all__ = [
    "Click",
    "SegmentationResult",
    "Severity",
    "box_mask",
    "box_proba",
    "click_curve",
    "lung_summary",
    "opacity_severity",
    "predict_proba",
    "refine_with_clicks",
    "segment",
    "severity_from_masks",
    "simulate_click",
    "threshold_and_clean",
]
