"""MedLens accounts: add, list, remove, change password, map an external (OIDC) identity.

A user has a name, one role (``annotator``, ``reviewer`` or ``admin``), an Argon2id password
hash and/or an external identity (the OIDC ``sub`` or e-mail an identity provider vouches for),
a creation time and a ``disabled`` flag. Bad input raises ``InputError`` with one line that
never contains a password.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from core.auth import passwords
from core.auth.tables import sign_in_failures, users
from core.db import read, write
from core.errors import InputError

ROLES = ("annotator", "reviewer", "admin")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class User:
    """A MedLens account as the app and the command line see it (never the password hash)."""

    name: str
    role: str
    created: float
    disabled: bool = False
    external_id: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


def check_name(name: str) -> str:
    """A valid user name: 1-64 of letters, digits and ``. _ @ -``, starting with a letter or digit."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InputError("bad user name (1-64 characters: letters, digits, '.', '_', '@', '-'; "
                         "starting with a letter or digit)")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"bad role {role!r} (one of: {', '.join(ROLES)})")
    return role


def _user(row) -> User:  # type: ignore[no-untyped-def]
    return User(name=row.name, role=row.role, created=float(row.created), disabled=bool(row.disabled),
                external_id=row.external_id)


def add_user(name: str, role: str, password: str | None = None, external_id: str | None = None,
             engine: Engine | None = None) -> User:
    """Create an account with a password, an external identity, or both (one is required)."""
    check_name(name)
    check_role(role)
    if password is None and not external_id:
        raise InputError("a new user needs a password (--password-stdin) or an external identity (--oidc)")
    password_hash = passwords.hash_password(password) if password is not None else None
    if external_id is not None:
        external_id = external_id.strip()
        if not external_id or len(external_id) > 320:
            raise InputError("bad external identity (1-320 characters)")
    created = time.time()
    try:
        with write(engine) as connection:
            if connection.execute(select(users.c.id).where(users.c.name == name)).first():
                raise InputError(f"user {name!r} already exists")
            if external_id and connection.execute(select(users.c.name).where(users.c.external_id == external_id)).first():
                raise InputError("that external identity already belongs to another user")
            connection.execute(users.insert().values(name=name, role=role, password_hash=password_hash,
                                                     external_id=external_id, created=created, disabled=False))
    except IntegrityError:  # a concurrent add of the same name
        raise InputError(f"user {name!r} already exists") from None
    return User(name=name, role=role, created=created, disabled=False, external_id=external_id)


def list_users(engine: Engine | None = None) -> list[User]:
    """Every account, by name."""
    with read(engine) as connection:
        return [_user(row) for row in connection.execute(select(users).order_by(users.c.name))]


def count_users(engine: Engine | None = None) -> int:
    """How many accounts exist (0: the app explains how to create the first admin)."""
    with read(engine) as connection:
        return int(connection.execute(select(func.count()).select_from(users)).scalar_one())


def get_user(name: str, engine: Engine | None = None) -> User | None:
    """The account called ``name``, or None."""
    with read(engine) as connection:
        row = connection.execute(select(users).where(users.c.name == name)).first()
    return _user(row) if row else None


def find_external(identities: list[str], engine: Engine | None = None) -> User | None:
    """The account mapped to the first of ``identities`` that has one (e.g. OIDC ``sub``, then e-mail)."""
    with read(engine) as connection:
        for identity in identities:
            if identity:
                row = connection.execute(select(users).where(users.c.external_id == identity)).first()
                if row:
                    return _user(row)
    return None


def remove_user(name: str, engine: Engine | None = None) -> None:
    """Delete an account (its sign-in failures too)."""
    check_name(name)
    with write(engine) as connection:
        if connection.execute(users.delete().where(users.c.name == name)).rowcount == 0:
            raise InputError(f"no user {name!r}")
        connection.execute(sign_in_failures.delete().where(sign_in_failures.c.subject == f"user:{name}"))


def set_password(name: str, password: str, engine: Engine | None = None) -> None:
    """Replace a user's password."""
    check_name(name)
    new_hash = passwords.hash_password(password)
    with write(engine) as connection:
        if connection.execute(users.update().where(users.c.name == name).values(password_hash=new_hash)).rowcount == 0:
            raise InputError(f"no user {name!r}")


def update_user(name: str, role: str | None = None, disabled: bool | None = None,
                external_id: str | None = None, engine: Engine | None = None) -> User:
    """Change a user's role, disabled flag or external identity (None leaves it)."""
    check_name(name)
    values: dict = {}
    if role is not None:
        values["role"] = check_role(role)
    if disabled is not None:
        values["disabled"] = bool(disabled)
    if external_id is not None:
        values["external_id"] = external_id.strip() or None
    try:
        with write(engine) as connection:
            if values and connection.execute(users.update().where(users.c.name == name).values(**values)).rowcount == 0:
                raise InputError(f"no user {name!r}")
            row = connection.execute(select(users).where(users.c.name == name)).first()
    except IntegrityError:
        raise InputError("that external identity already belongs to another user") from None
    if row is None:
        raise InputError(f"no user {name!r}")
    return _user(row)


def _password_hash(name: str, engine: Engine | None) -> tuple[User | None, str | None]:
    with read(engine) as connection:
        row = connection.execute(select(users).where(users.c.name == name)).first()
    return (_user(row), row.password_hash) if row else (None, None)


def _store_rehash(name: str, new_hash: str, engine: Engine | None) -> None:
    with write(engine) as connection:
        connection.execute(users.update().where(users.c.name == name).values(password_hash=new_hash))


__all__ = ["ROLES", "User", "add_user", "check_name", "check_role", "count_users", "find_external", "get_user",
           "list_users", "remove_user", "set_password", "update_user"]
