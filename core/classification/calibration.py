"""Temperature scaling and calibration error (Guo et al. 2017).

A classifier's softmax is often over-confident; dividing its logits by one temperature
``T`` fitted on validation (minimising the negative log-likelihood) fixes the confidence
without changing the ranking (AUC) or the argmax. ECE is measured with equal-width bins on
the positive-class probability (binary models).
"""

from __future__ import annotations

import numpy as np
import torch

from core.registry import ModelSpec


def fit_temperature(logits: np.ndarray, labels: np.ndarray, max_iter: int = 200) -> float:
    """The temperature minimising NLL of ``softmax(logits / T)`` on (validation) labels.

    Args:
        logits: ``(N, K)`` raw logits.
        labels: ``(N,)`` integer class indices.
    """
    logit_t = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    label_t = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)  # T = exp(log_t) stays > 0
    optimiser = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(logit_t / log_t.exp(), label_t)
        loss.backward()
        return loss

    optimiser.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0))


def softmax_positive(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """P(positive class = column 1) after dividing the logits by ``temperature``."""
    logit_t = torch.as_tensor(np.asarray(logits), dtype=torch.float64) / temperature
    return torch.softmax(logit_t, dim=1)[:, 1].numpy()


def reliability_bins(probs: np.ndarray, labels: np.ndarray, n_bins: int = 10) -> dict[str, np.ndarray]:
    """Per equal-width bin: mean predicted probability, observed positive rate, count."""
    probs, labels = np.asarray(probs, float), np.asarray(labels, float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.digitize(probs, edges[1:-1]), 0, n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_prob = np.bincount(index, weights=probs, minlength=n_bins) / counts
        observed = np.bincount(index, weights=labels, minlength=n_bins) / counts
    return {"edges": edges, "mean_prob": mean_prob, "observed": observed, "count": counts}


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = 10) -> float:
    """ECE: count-weighted mean |observed rate - mean probability| over equal-width bins."""
    bins = reliability_bins(probs, labels, n_bins)
    used = bins["count"] > 0
    gaps = np.abs(bins["observed"][used] - bins["mean_prob"][used])
    return float(np.sum(gaps * bins["count"][used]) / max(1, int(bins["count"].sum())))


def nll(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of binary labels under P(positive) = ``probs``."""
    p = np.clip(np.asarray(probs, float), 1e-7, 1 - 1e-7)
    y = np.asarray(labels, float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def cross_fitted_ece(logits: np.ndarray, labels: np.ndarray, folds: int = 2, seed: int = 0) -> float:
    """ECE after temperature scaling where each fold's T is fitted on the other folds.

    The plain "after" ECE is measured on the data T was fitted on; this one is not.
    """
    logits, labels = np.asarray(logits), np.asarray(labels)
    order = np.random.default_rng(seed).permutation(len(labels))
    probs = np.empty(len(labels))
    for part in np.array_split(order, folds):
        rest = np.setdiff1d(order, part)
        probs[part] = softmax_positive(logits[part], fit_temperature(logits[rest], labels[rest]))
    return expected_calibration_error(probs, labels)


def calibrated_probs(logits: torch.Tensor, spec: ModelSpec) -> np.ndarray:
    """P(positive class) after the card's temperature."""
    temperature = spec.card.temperature
    return torch.softmax(logits.detach().double().cpu() / temperature, dim=1)[:, 1].numpy()
