"""The boundary of ``core.imaging``: every failure leaves it as a clean one-line ``InputError``.

Readers raise their own ``InputError`` where they know the cause. Anything else a library
raises on a hostile file (zlib.error, struct.error, pydicom's BytesLengthException, "Unknown
VR", IndexError, MemoryError...) is mapped here to a generic reason: the library's text is
never echoed, because it can carry raw header bytes or tag values (a patient's name).
Messages are one line of at most ``MAX_MESSAGE`` characters.
"""

from __future__ import annotations

import functools
import re
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

from core.errors import InputError

MAX_MESSAGE = 300
F = TypeVar("F", bound=Callable[..., Any])
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` on one printable line of at most ``limit`` characters."""
    flat = _CONTROL.sub(" ", text).strip()
    flat = re.sub(r"\s{2,}", " ", flat)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def clean(exc: InputError) -> InputError:
    """The same refusal, made one line and short (a long file name is shortened first)."""
    text = str(exc)
    if len(text) <= MAX_MESSAGE and "\n" not in text and not _CONTROL.search(text):
        return exc
    new = InputError(one_line(text))
    new.__cause__ = None
    return new


def reason(exc: BaseException) -> str:
    """A generic, value-free reason for an unexpected exception."""
    if isinstance(exc, MemoryError):
        return "the image is too large to hold in memory"
    if isinstance(exc, RecursionError):
        return "the file nests too deeply to be read"
    name = type(exc).__name__
    module = type(exc).__module__.split(".")[0]
    where = {"pydicom": "DICOM", "nibabel": "NIfTI", "PIL": "image", "tifffile": "TIFF", "zlib": "compressed"}.get(module)
    if where:
        return f"the {where} data is malformed ({name})"
    return f"the file is malformed or truncated ({name})"


def short_label(label: str, limit: int = 80) -> str:
    """A label (file name) short enough to leave room for the reason."""
    label = one_line(str(label), 10**6)
    return label if len(label) <= limit else "…" + label[-(limit - 1):]


@contextmanager
def refusing(label: str) -> Iterator[None]:
    """Map every exception inside to a one-line ``InputError`` about ``label``."""
    try:
        yield
    except InputError as exc:
        raise clean(exc) from None
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - the boundary: nothing unexpected leaves
        raise InputError(one_line(f"{short_label(label)}: {reason(exc)}")) from None


def guarded(label_of: Callable[..., str]) -> Callable[[F], F]:
    """Decorator form of ``refusing``; ``label_of(*args, **kwargs)`` names the input."""

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                label = label_of(*args, **kwargs)
            except Exception:  # noqa: BLE001
                label = "input"
            with refusing(label):
                return func(*args, **kwargs)

        return inner  # type: ignore[return-value]

    return wrap
