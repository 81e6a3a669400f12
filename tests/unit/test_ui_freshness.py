"""core.ui.freshness: the fingerprint that tells a page its stored result is out of date."""

from __future__ import annotations

import numpy as np

from core.ui.freshness import fingerprint


def test_fingerprint_follows_content_not_identity() -> None:
    a = {"age": 50.0, "image": np.zeros((2, 2), np.float32), "files": [("a.png", 10)]}
    b = {"files": [("a.png", 10)], "image": np.zeros((2, 2), np.float32), "age": 50.0}
    assert fingerprint(a) == fingerprint(b)  # key order does not matter
    assert fingerprint(a) != fingerprint({**a, "age": 51.0})
    changed = np.zeros((2, 2), np.float32)
    changed[0, 0] = 1
    assert fingerprint(a) != fingerprint({**a, "image": changed})
    assert fingerprint(a) != fingerprint({**a, "image": np.zeros((2, 2), np.float64)})
    assert fingerprint(b"x") != fingerprint("x") and fingerprint(None) != fingerprint("None")
