"""Binary STAPLE (core.labeling.staple) on cases checked by hand, and against the values
SimpleITK 2.5.7's ``STAPLEImageFilter`` gave for the same masks (run once, offline; SimpleITK is
not a dependency)."""

from __future__ import annotations

import numpy as np
import pytest

from core.labeling.staple import e_step, m_step, staple


def _careful_and_hasty() -> list[np.ndarray]:
    """A and B outline a 4x6 lesion; C misses its top and bottom rows, D those and 2 more pixels."""
    a = np.zeros((6, 8), bool)
    a[1:5, 1:7] = True
    c = a.copy()
    c[[1, 4], 1:7] = False
    d = c.copy()
    d[2:4, 6] = False
    return [a, a.copy(), c, d]


def test_e_step_by_hand() -> None:
    # p = (0.9, 0.8), q = (0.95, 0.7), f = 0.3, decisions (1, 0):
    # a = 0.9 * 0.2 = 0.18, b = 0.05 * 0.7 = 0.035, W = 0.3a / (0.3a + 0.7b) = 0.054 / 0.0785
    w = e_step(np.array([[True, False], [True, True], [False, False]]), np.array([0.9, 0.8]),
               np.array([0.95, 0.7]), 0.3)
    assert w[0] == pytest.approx(0.054 / 0.0785)
    assert w[1] == pytest.approx(0.3 * 0.72 / (0.3 * 0.72 + 0.7 * 0.05 * 0.3))
    assert w[2] == pytest.approx(0.3 * 0.1 * 0.2 / (0.3 * 0.02 + 0.7 * 0.95 * 0.7))


def test_m_step_by_hand() -> None:
    d = np.array([[1, 1], [1, 0], [0, 0]], bool)
    p, q = m_step(d, np.array([1.0, 0.5, 0.0]))
    # p_j = sum(W D_j) / sum(W) = (1 + 0.5, 1) / 1.5 ; q_j = sum((1-W)(1-D_j)) / sum(1-W) = (1, 1.5) / 1.5
    assert p == pytest.approx([1.0, 1 / 1.5]) and q == pytest.approx([1 / 1.5, 1.0])
    p2, q2 = m_step(d[[0, 1, 2, 2]], np.array([1.0, 0.5, 0.0, 0.0]))  # a repeated row ...
    p3, q3 = m_step(d, np.array([1.0, 0.5, 0.0]), counts=np.array([1, 1, 2]))  # ... or a count of 2
    assert p2 == pytest.approx(p3) and q2 == pytest.approx(q3)


def test_two_careful_raters_outweigh_two_hasty_ones() -> None:
    masks = _careful_and_hasty()
    result = staple(masks)
    assert result.converged
    assert np.array_equal(result.mask, masks[0])  # the whole lesion: A and B proved reliable
    vote = sum(m.astype(int) for m in masks) * 2 > len(masks)
    assert not vote[1, 3] and result.mask[1, 3]  # a 2-2 tie is out for the vote, in for STAPLE
    # by hand: C found 12 of the 24 lesion pixels, D 10 of 24; nobody marked a pixel outside it
    assert result.sensitivity == pytest.approx([1.0, 1.0, 12 / 24, 10 / 24], abs=1e-6)
    assert result.specificity == pytest.approx([1.0, 1.0, 1.0, 1.0], abs=1e-6)
    assert result.prior == pytest.approx((24 + 24 + 12 + 10) / (4 * 48))


def test_agrees_with_simpleitk_on_a_noisy_case() -> None:
    """A square drawn by 3 raters: A exact, B one row too high, C also paints a stray corner."""
    a = np.zeros((6, 8), bool)
    a[1:5, 1:7] = True
    b = np.zeros_like(a)
    b[0:4, 1:7] = True
    c = a.copy()
    c[0, 6:8] = True
    c[5, 0] = True
    result = staple([a, b, c])
    # SimpleITK 2.5.7: sitk.STAPLEImageFilter() (foreground 1) on the same three masks
    assert result.sensitivity == pytest.approx([0.974493104, 0.749698189, 1.0], abs=1e-6)
    assert result.specificity == pytest.approx([1.0, 0.763120988, 0.898518291], abs=1e-6)
    assert result.probability[0, 6] == pytest.approx(0.463707208, abs=1e-6)  # B and C against A
    assert result.probability[0, 7] == pytest.approx(0.082239761, abs=1e-6)  # C alone
    assert np.array_equal(result.mask, a)


def test_edge_cases() -> None:
    empty = np.zeros((3, 4), bool)
    assert not staple([empty, empty]).mask.any()
    one = np.eye(4, dtype=bool)
    assert np.array_equal(staple([one]).mask, one)  # a single rater is their own consensus
    volume = np.zeros((2, 5, 5), bool)
    volume[1, 1:4, 1:4] = True
    assert staple([volume, volume, volume]).mask.shape == (2, 5, 5)
    with pytest.raises(ValueError):
        staple([])
    with pytest.raises(ValueError):
        staple([empty, np.zeros((4, 4), bool)])
