"""Binary classification metrics with bootstrap intervals and threshold rules."""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score, roc_curve


def auc(labels: np.ndarray, probs: np.ndarray) -> float:
    """ROC AUC; NaN when only one class is present."""
    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(roc_auc_score(labels, probs))


def accuracy(labels: np.ndarray, probs: np.ndarray, threshold: float) -> float:
    labels = np.asarray(labels)
    return float(np.mean((np.asarray(probs) >= threshold).astype(int) == labels)) if len(labels) else float("nan")


def balanced_threshold(labels: np.ndarray, probs: np.ndarray) -> float:
    """The threshold maximising Youden's J (sensitivity + specificity - 1).

    Unlike the accuracy-maximising threshold it does not depend on the class balance of the
    validation set, which matters when the deployment balance differs (pneumonia test set).
    The threshold is placed midway between the two scores around the best ROC point.
    """
    labels, probs = np.asarray(labels), np.asarray(probs, float)
    fpr, tpr, thresholds = roc_curve(labels, probs)
    best = int(np.argmax(tpr - fpr))
    upper = float(min(thresholds[best], 1.0))
    below = probs[probs < upper]
    lower = float(below.max()) if below.size else upper
    return (upper + lower) / 2.0


def confusion(labels: np.ndarray, probs: np.ndarray, threshold: float) -> dict[str, int]:
    """tp, fp, tn, fn at ``threshold`` (positive = 1)."""
    labels = np.asarray(labels).astype(int)
    pred = (np.asarray(probs) >= threshold).astype(int)
    return {
        "tp": int(np.sum((pred == 1) & (labels == 1))),
        "fp": int(np.sum((pred == 1) & (labels == 0))),
        "tn": int(np.sum((pred == 0) & (labels == 0))),
        "fn": int(np.sum((pred == 0) & (labels == 1))),
    }


def bootstrap_ci(
    labels: np.ndarray, probs: np.ndarray, threshold: float, n_boot: int = 2000, seed: int = 0
) -> dict[str, list[float]]:
    """95% percentile bootstrap intervals (``scipy.stats.bootstrap``, paired resampling of
    images) for AUC and accuracy; resamples with one class only are left out of the AUC's."""
    labels, probs = np.asarray(labels), np.asarray(probs)

    def both(y: np.ndarray, p: np.ndarray) -> np.ndarray:
        auc_value = roc_auc_score(y, p) if y.min() != y.max() else np.nan
        return np.array([auc_value, np.mean((p >= threshold) == y)])

    draws = stats.bootstrap((labels, probs), both, paired=True, vectorized=False, n_resamples=n_boot,
                            method="percentile", random_state=np.random.default_rng(seed)).bootstrap_distribution
    aucs, accs = draws[0][np.isfinite(draws[0])], draws[1]
    return {
        "auc_95ci": [round(float(np.percentile(aucs, 2.5)), 4), round(float(np.percentile(aucs, 97.5)), 4)],
        "acc_95ci": [round(float(np.percentile(accs, 2.5)), 4), round(float(np.percentile(accs, 97.5)), 4)],
    }


def summary(labels: np.ndarray, probs: np.ndarray, threshold: float, n_boot: int = 2000) -> dict[str, object]:
    """AUC, accuracy, sensitivity, specificity at ``threshold`` with bootstrap intervals."""
    c = confusion(labels, probs, threshold)
    out: dict[str, object] = {
        "n": int(len(labels)),
        "auc": round(auc(labels, probs), 4),
        "acc": round(accuracy(labels, probs, threshold), 4),
        "sensitivity": round(c["tp"] / max(1, c["tp"] + c["fn"]), 4),
        "specificity": round(c["tn"] / max(1, c["tn"] + c["fp"]), 4),
        "balanced_acc": round((c["tp"] / max(1, c["tp"] + c["fn"]) + c["tn"] / max(1, c["tn"] + c["fp"])) / 2, 4),
    }
    out.update(bootstrap_ci(labels, probs, threshold, n_boot))
    return out
