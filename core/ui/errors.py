"""``user_errors()``: show an error the user can fix as one ``st.error`` line instead of a traceback.

One definition for every page and panel (was a try/except ``MedLensError`` -> ``st.error`` copy at
each call site). Errors that are not ``MedLensError`` (bugs) still propagate, so they are not hidden.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import streamlit as st

from core.errors import MedLensError


@dataclass
class Outcome:
    """What happened inside the block: ``failed`` is True when an error was shown."""

    failed: bool = False
    message: str = ""


def message_of(exc: BaseException) -> str:
    """The first line of an error's message: no traceback and no multi-line detail reaches the page."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def user_errors(*also: type[Exception], into: Any = None) -> Iterator[Outcome]:
    """Run the block; a ``MedLensError`` (or one of ``also``) becomes ``st.error`` and is swallowed.

    ``into`` is the container to write the error in (default: the current one, ``st``). The yielded
    ``Outcome`` tells the caller whether to stop (``if outcome.failed: return``).
    """
    outcome = Outcome()
    try:
        yield outcome
    except (MedLensError, *also) as exc:
        outcome.failed, outcome.message = True, message_of(exc)
        (into if into is not None else st).error(outcome.message)
