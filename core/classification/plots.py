"""Plotly figures for a scored batch with true labels: ROC, confusion matrix, calibration."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from sklearn.metrics import roc_curve

from core.classification import calibration, metrics


def roc_figure(truth: np.ndarray, probs: np.ndarray, threshold: float) -> go.Figure:
    """ROC curve with the operating point of ``threshold`` marked."""
    fig = go.Figure()
    if len(np.unique(truth)) == 2:
        fpr, tpr, _ = roc_curve(truth, probs)
        fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=f"ROC (AUC {metrics.auc(truth, probs):.3f})"))
        c = metrics.confusion(truth, probs, threshold)
        fig.add_trace(go.Scatter(
            x=[c["fp"] / max(1, c["fp"] + c["tn"])], y=[c["tp"] / max(1, c["tp"] + c["fn"])], mode="markers",
            marker={"size": 11, "color": "crimson"}, name=f"threshold {threshold:.2f}",
        ))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "gray"}, name="chance"))
    fig.update_layout(xaxis_title="1 - specificity", yaxis_title="sensitivity", height=380,
                      margin={"l": 10, "r": 10, "t": 30, "b": 10}, title="ROC curve")
    return fig


def confusion_figure(truth: np.ndarray, probs: np.ndarray, threshold: float, labels: list[str]) -> go.Figure:
    """2x2 confusion matrix (rows: truth, columns: prediction) at ``threshold``."""
    c = metrics.confusion(truth, probs, threshold)
    z = [[c["tn"], c["fp"]], [c["fn"], c["tp"]]]
    fig = go.Figure(go.Heatmap(
        z=z, x=[f"pred {labels[0]}", f"pred {labels[1]}"], y=[f"true {labels[0]}", f"true {labels[1]}"],
        text=[[str(v) for v in row] for row in z], texttemplate="%{text}", colorscale="Blues", showscale=False,
    ))
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10}, title=f"Confusion matrix at {threshold:.2f}",
                      yaxis={"autorange": "reversed"})
    return fig


def calibration_figure(truth: np.ndarray, probs: np.ndarray, n_bins: int = 10) -> go.Figure:
    """Reliability diagram: observed positive rate vs mean predicted probability per bin."""
    bins = calibration.reliability_bins(probs, truth, n_bins)
    used = bins["count"] > 0
    ece = calibration.expected_calibration_error(probs, truth, n_bins)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "gray"}, name="perfect"))
    fig.add_trace(go.Scatter(
        x=bins["mean_prob"][used], y=bins["observed"][used], mode="lines+markers", name=f"model (ECE {ece:.3f})",
        text=[f"n={int(n)}" for n in bins["count"][used]],
    ))
    fig.update_layout(xaxis_title="mean predicted probability", yaxis_title="observed fraction positive",
                      height=380, margin={"l": 10, "r": 10, "t": 30, "b": 10}, title="Calibration")
    return fig
