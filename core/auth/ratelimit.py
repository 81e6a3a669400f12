"""Throttle failed sign-ins, per user name and per client, in the database.

Failures are rows in ``sign_in_failures`` (subject ``user:NAME`` or ``client:ADDRESS``, time),
so every server process sharing the database sees the same counts. Within a window of
``WINDOW_S`` (15 minutes) the first ``FREE_FAILURES`` (5) failures of a user name cost nothing;
after that the subject is refused for a delay that doubles with each further failure (30 s,
60 s, ... at most ``MAX_DELAY_S``), counted from its latest failure. A client address gets
``CLIENT_FREE_FAILURES`` (20): behind a hospital proxy or load balancer many people share one
address, and five typos among them must not lock everyone out. Refused attempts are not counted (so a
locked-out user is not locked out for longer by someone hammering the form) and do not even
check the password.
"""

from __future__ import annotations

import time

from sqlalchemy import Engine, func, select

from core.auth.tables import sign_in_failures
from core.db import read, write

WINDOW_S = 15 * 60
FREE_FAILURES = 5
CLIENT_FREE_FAILURES = 20
BASE_DELAY_S = 30.0
MAX_DELAY_S = 15 * 60.0


def subjects(name: str, client: str | None) -> list[str]:
    """The counters one attempt touches: the user name, and the client address when known."""
    keys = [f"user:{name[:200]}"]
    if client:
        keys.append(f"client:{client[:200]}")
    return keys


def delay_for(failures: int, free: int = FREE_FAILURES) -> float:
    """Seconds to refuse after ``failures`` failures within the window (0 while under ``free``)."""
    if failures < free:
        return 0.0
    return min(BASE_DELAY_S * 2 ** (failures - free), MAX_DELAY_S)


def retry_after(keys: list[str], now: float | None = None, engine: Engine | None = None) -> float:
    """Seconds until an attempt for these subjects is allowed again (0: allowed now)."""
    now = time.time() if now is None else now
    wait = 0.0
    with read(engine) as connection:
        for key in keys:
            count, latest = connection.execute(
                select(func.count(), func.max(sign_in_failures.c.at))
                .where(sign_in_failures.c.subject == key, sign_in_failures.c.at > now - WINDOW_S)).one()
            if count:
                free = CLIENT_FREE_FAILURES if key.startswith("client:") else FREE_FAILURES
                wait = max(wait, float(latest) + delay_for(int(count), free) - now)
    return max(wait, 0.0)


def record_failure(keys: list[str], now: float | None = None, engine: Engine | None = None) -> None:
    """Count one failed attempt against each subject; forget failures older than the window."""
    now = time.time() if now is None else now
    with write(engine) as connection:
        connection.execute(sign_in_failures.delete().where(sign_in_failures.c.at <= now - WINDOW_S))
        connection.execute(sign_in_failures.insert(), [{"subject": key, "at": now} for key in keys])


def clear(keys: list[str], engine: Engine | None = None) -> None:
    """Forget the failures of these subjects (after a successful sign-in)."""
    with write(engine) as connection:
        connection.execute(sign_in_failures.delete().where(sign_in_failures.c.subject.in_(keys)))
