"""Results that remember the inputs they came from, so a page never shows an out-of-date result.

A page stores a result with ``keep(key, inputs, result)`` and reads it back with
``fresh(key, inputs)``: when the inputs on screen are no longer the ones the result was computed
from, ``fresh`` returns None and says "Inputs changed — run again" in place of the result, so a
curve, table or gallery is never shown beside inputs it does not belong to. Inputs are anything
``fingerprint`` can hash: dicts, lists, numbers, strings, bytes, numpy arrays.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import streamlit as st

STALE_MESSAGE = "Inputs changed — run again. The earlier result is hidden: it belongs to the previous inputs."


def _feed(digest: Any, value: Any) -> None:
    if isinstance(value, np.ndarray):
        digest.update(f"nd{value.shape}{value.dtype}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (bytes, bytearray, memoryview)):
        digest.update(b"b")
        digest.update(bytes(value))
    elif isinstance(value, dict):
        digest.update(b"{")
        for k in sorted(value, key=str):
            _feed(digest, str(k))
            _feed(digest, value[k])
        digest.update(b"}")
    elif isinstance(value, (list, tuple)):
        digest.update(b"[")
        for item in value:
            _feed(digest, item)
        digest.update(b"]")
    else:
        digest.update(json.dumps(value, default=repr).encode())


def fingerprint(inputs: Any) -> str:
    """A stable hash of ``inputs`` (equal inputs, equal fingerprint; arrays and bytes by content)."""
    digest = hashlib.sha1()
    _feed(digest, inputs)
    return digest.hexdigest()


def keep(key: str, inputs: Any, result: Any) -> None:
    """Store ``result`` under ``key`` together with the fingerprint of the inputs it came from."""
    st.session_state[key] = {"fingerprint": fingerprint(inputs), "result": result}


def forget(key: str) -> None:
    """Drop the stored result (e.g. a run that failed on invalid input)."""
    st.session_state.pop(key, None)


def fresh(key: str, inputs: Any, notice: bool = True, into: Any = None) -> Any | None:
    """The result stored under ``key`` if it was computed from ``inputs``; otherwise None.

    When a result exists but its inputs differ, it is hidden and (with ``notice``) the page says
    ``STALE_MESSAGE`` in ``into`` (default: the current container).
    """
    stored = st.session_state.get(key)
    if not isinstance(stored, dict) or "fingerprint" not in stored:
        return None
    if stored["fingerprint"] == fingerprint(inputs):
        return stored["result"]
    if notice:
        (into if into is not None else st).warning(STALE_MESSAGE, icon=":material/update:")
    return None
