"""Binary STAPLE (Warfield, Zou & Wells, IEEE TMI 2004): a consensus of several annotators' masks
that weighs each annotator by how reliable they prove to be, instead of one vote each.

The hidden truth T (per pixel) and each rater j's sensitivity ``p_j = P(D_j=1 | T=1)`` and
specificity ``q_j = P(D_j=0 | T=0)`` are estimated by expectation-maximisation:

- E-step: ``W_i = f·a_i / (f·a_i + (1-f)·b_i)`` with ``a_i = Π_j p_j^D_ij (1-p_j)^(1-D_ij)`` and
  ``b_i = Π_j q_j^(1-D_ij) (1-q_j)^D_ij``: the probability that pixel i is truly in;
- M-step: ``p_j = Σ W_i D_ij / Σ W_i`` and ``q_j = Σ (1-W_i)(1-D_ij) / Σ (1-W_i)``.

As in ITK's ``STAPLEImageFilter`` (what SimpleITK's ``STAPLE`` calls), the prior ``f`` is the
raters' mean foreground fraction, ``p`` and ``q`` start at 0.99999, and the consensus mask is
``W >= 0.5``. Pixels with the same decisions of every rater share one ``W``, so the iterations
run over the distinct decision patterns (at most ``2^R``) weighted by their counts, not over
every pixel. SimpleITK itself (a 53 MB wheel, 264 MB installed) is not a dependency for this
one function; ``tests/unit/test_staple.py`` checks this code against values it gave.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

INITIAL = 0.99999  # ITK's starting sensitivity and specificity
_EPS = 1e-12  # keeps the logarithms finite when a rater is perfect (p or q = 1)


@dataclass
class StapleResult:
    """``probability`` (shape of the masks): P(pixel truly in); per rater ``sensitivity`` and
    ``specificity``; the ``prior`` used; EM ``iterations`` and whether they ``converged``."""

    probability: np.ndarray
    sensitivity: np.ndarray
    specificity: np.ndarray
    prior: float
    iterations: int
    converged: bool

    @property
    def mask(self) -> np.ndarray:
        """The consensus: pixels more likely in than out (``probability >= 0.5``)."""
        return self.probability >= 0.5


def e_step(decisions: np.ndarray, sensitivity: np.ndarray, specificity: np.ndarray, prior: float) -> np.ndarray:
    """``W`` for each row of ``decisions`` (``(N, R)`` bool: N pixels or patterns, R raters)."""
    d = np.asarray(decisions, bool)
    p = np.clip(np.asarray(sensitivity, np.float64), _EPS, 1 - _EPS)
    q = np.clip(np.asarray(specificity, np.float64), _EPS, 1 - _EPS)
    log_a = np.where(d, np.log(p), np.log1p(-p)).sum(axis=1) + np.log(max(prior, _EPS))
    log_b = np.where(d, np.log1p(-q), np.log(q)).sum(axis=1) + np.log(max(1.0 - prior, _EPS))
    return 1.0 / (1.0 + np.exp(log_b - log_a))


def m_step(decisions: np.ndarray, weights: np.ndarray, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sensitivity and specificity per rater given ``W`` (``counts``: how many pixels each row stands for)."""
    d = np.asarray(decisions, np.float64)
    w = np.asarray(weights, np.float64)
    n = np.ones(len(w)) if counts is None else np.asarray(counts, np.float64)
    inside, outside = (n * w).sum(), (n * (1 - w)).sum()
    p = (n * w) @ d / inside if inside > 0 else np.ones(d.shape[1])
    q = (n * (1 - w)) @ (1 - d) / outside if outside > 0 else np.ones(d.shape[1])
    return p, q


def staple(masks: Sequence[np.ndarray], prior: float | None = None, max_iterations: int = 100,
           tolerance: float = 1e-7) -> StapleResult:
    """STAPLE over the raters' binary ``masks`` (all of one shape, any dimension).

    Args:
        masks: one bool array per rater (at least one).
        prior: P(T=1); default the mean foreground fraction of the raters (ITK's default).
        max_iterations: EM steps at most.
        tolerance: stop when no sensitivity or specificity moves by more than this.
    """
    if not masks:
        raise ValueError("STAPLE needs at least one rater's mask")
    shape = np.asarray(masks[0]).shape
    if any(np.asarray(m).shape != shape for m in masks):
        raise ValueError("STAPLE needs the raters' masks in one shape")
    stack = np.stack([np.asarray(m, bool).reshape(-1) for m in masks], axis=1)  # (N, R)
    raters = stack.shape[1]
    f = float(stack.mean()) if prior is None else float(prior)
    p, q = np.full(raters, INITIAL), np.full(raters, INITIAL)
    if not 0.0 < f < 1.0:  # nobody marked anything (or everything): nothing to weigh
        return StapleResult(np.full(shape, 1.0 if f >= 1.0 else 0.0), p, q, f, 0, True)
    codes = stack.astype(np.int64) @ (np.int64(1) << np.arange(raters, dtype=np.int64)) if raters < 63 else None
    if codes is not None:
        unique, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
        patterns = ((unique[:, None] >> np.arange(raters)) & 1).astype(bool)
    else:  # more raters than fit a code: every pixel is its own pattern
        patterns, inverse, counts = stack, np.arange(len(stack)), np.ones(len(stack), np.int64)
    converged, iterations = False, 0
    for iterations in range(1, max_iterations + 1):
        w = e_step(patterns, p, q, f)
        new_p, new_q = m_step(patterns, w, counts)
        change = max(float(np.abs(new_p - p).max()), float(np.abs(new_q - q).max()))
        p, q = new_p, new_q
        if change <= tolerance:
            converged = True
            break
    w = e_step(patterns, p, q, f)
    return StapleResult(w[inverse].reshape(shape), p, q, f, iterations, converged)
