"""Check a user name and password: the one place where a sign-in is decided.

The answer is the :class:`~core.auth.accounts.User` or a :class:`SignInError` whose message
is safe to show (it never says whether the name exists, and never echoes the password).
"""

from __future__ import annotations

import math
import time

from sqlalchemy import Engine

from core.auth import accounts, passwords, ratelimit
from core.errors import MedLensError

WRONG = "Wrong user name or password."


class SignInError(MedLensError):
    """A refused sign-in; ``retry_after`` is set when the refusal is the rate limit."""

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def authenticate(name: str, password: str, client: str | None = None, engine: Engine | None = None,
                 now: float | None = None) -> accounts.User:
    """The signed-in user, or ``SignInError`` (wrong name/password, disabled, or too many failures)."""
    name = (name or "").strip()
    keys = ratelimit.subjects(name, client)
    wait = ratelimit.retry_after(keys, now=now, engine=engine)
    if wait > 0:
        raise SignInError(f"Too many failed sign-ins; try again in {math.ceil(wait)} s.", retry_after=wait)
    user, stored_hash = accounts._password_hash(name, engine) if name else (None, None)
    ok = passwords.verify(stored_hash, password or "")  # costs the same for unknown names
    if not ok or user is None:
        ratelimit.record_failure(keys, now=now if now is not None else time.time(), engine=engine)
        raise SignInError(WRONG)
    if user.disabled:
        raise SignInError("This account is disabled; ask an administrator.")
    ratelimit.clear(keys[:1], engine=engine)
    if stored_hash and passwords.needs_rehash(stored_hash):
        accounts._store_rehash(name, passwords.rehash(password), engine)
    return user
