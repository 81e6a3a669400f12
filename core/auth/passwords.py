"""Password hashing with Argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile).

Only hashes are stored; a password is never logged, printed or kept after the call.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core.errors import InputError

MIN_LENGTH = 8
MAX_LENGTH = 1024

_hasher = PasswordHasher()
# _dummy_hash() is verified against when the user does not exist, so that an unknown name costs as much time
# as a wrong password and the response time does not tell which names exist
@cache
def _dummy_hash() -> str:
    return _hasher.hash("medlens-no-such-user")


def check_new_password(password: str) -> None:
    """Refuse a password that is empty, too short or too long (the message never contains it)."""
    if not password:
        raise InputError("the password is empty")
    if len(password) < MIN_LENGTH:
        raise InputError(f"the password is too short (at least {MIN_LENGTH} characters)")
    if len(password) > MAX_LENGTH:
        raise InputError(f"the password is too long (at most {MAX_LENGTH} characters)")


def hash_password(password: str) -> str:
    """An Argon2id hash of a password that passed :func:`check_new_password`."""
    check_new_password(password)
    return _hasher.hash(password)


def rehash(password: str) -> str:
    """A fresh hash of a password that has just been verified (no length policy: it is in use)."""
    return _hasher.hash(password)


def verify(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; a missing hash still costs one verification."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's (rehash on sign-in)."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
