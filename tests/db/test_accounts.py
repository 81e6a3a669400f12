"""Accounts, password hashing and rate-limited sign-in, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.auth import accounts, oidc, ratelimit
from core.auth.signin import WRONG, SignInError, authenticate
from core.auth.tables import users
from core.db import make_engine, read
from core.errors import InputError

PASSWORD = "correct horse battery"


def test_add_list_get_remove(db_engine) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user("ann", "annotator", PASSWORD, engine=db_engine)
    accounts.add_user("rev.1", "reviewer", PASSWORD, engine=db_engine)
    assert [(u.name, u.role) for u in accounts.list_users(engine=db_engine)] == [("ann", "annotator"),
                                                                              ("rev.1", "reviewer")]
    assert accounts.count_users(engine=db_engine) == 2
    assert accounts.get_user("ann", engine=db_engine).role == "annotator"
    accounts.remove_user("ann", engine=db_engine)
    assert accounts.get_user("ann", engine=db_engine) is None
    with pytest.raises(InputError, match="no user"):
        accounts.remove_user("ann", engine=db_engine)


@pytest.mark.parametrize("name, role, password, reason", [
    ("bob", "boss", PASSWORD, "bad role"),
    ("bad name", "admin", PASSWORD, "bad user name"),
    ("", "admin", PASSWORD, "bad user name"),
    ("-x", "admin", PASSWORD, "bad user name"),
    ("x" * 65, "admin", PASSWORD, "bad user name"),
    ("bob", "admin", "", "empty"),
    ("bob", "admin", "pw1234", "too short"),
])
def test_bad_input_is_refused_in_one_line(db_engine, name, role, password, reason) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=reason) as info:
        accounts.add_user(name, role, password, engine=db_engine)
    assert "\n" not in str(info.value)
    assert password not in str(info.value) or not password
    assert accounts.count_users(engine=db_engine) == 0


def test_duplicate_names_are_refused(db_engine) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user("ann", "annotator", PASSWORD, engine=db_engine)
    with pytest.raises(InputError, match="already exists"):
        accounts.add_user("ann", "admin", "another password", engine=db_engine)
    assert accounts.get_user("ann", engine=db_engine).role == "annotator"


def test_only_an_argon2id_hash_is_stored(db_engine) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user("ann", "annotator", PASSWORD, engine=db_engine)
    with read(db_engine) as connection:
        stored = connection.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert "password_hash" not in accounts.get_user("ann", engine=db_engine).to_json()


def test_sign_in_right_and_wrong(db_engine) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user("ann", "annotator", PASSWORD, engine=db_engine)
    assert authenticate("ann", PASSWORD, engine=db_engine).name == "ann"
    for name, password in (("ann", PASSWORD + "x"), ("nobody", PASSWORD), ("ann", ""), ("", "")):
        with pytest.raises(SignInError) as info:
            authenticate(name, password, engine=db_engine)
        assert str(info.value) == WRONG  # the same answer for an unknown name


def test_changed_password_replaces_the_old_one(db_engine) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user("ann", "annotator", PASSWORD, engine=db_engine)
    accounts.set_password("ann", "a new passphrase", engine=db_engine)
    with pytest.raises(SignInError):
        authenticate("ann", PASSWORD, engine=db_engine)
    assert authenticate("ann", "a new passphrase", engine=db_engine).name == "ann"


def test_disabled_accounts_cannot_sign_in(db_engine) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user("ann", "annotator", PASSWORD, engine=db_engine)
    accounts.update_user("ann", disabled=True, engine=db_engine)
    with pytest.raises(SignInError, match="disabled"):
        authenticate("ann", PASSWORD, engine=db_engine)
    accounts.update_user("ann", disabled=False, role="reviewer", engine=db_engine)
    assert authenticate("ann", PASSWORD, engine=db_engine).role == "reviewer"


def test_failed_sign_ins_are_throttled_with_a_growing_delay(db_engine) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user("ann", "annotator", PASSWORD, engine=db_engine)
    now = 1_000_000.0
    for i in range(ratelimit.FREE_FAILURES):
        with pytest.raises(SignInError, match="Wrong"):
            authenticate("ann", "wrong password", client="10.0.0.1", engine=db_engine, now=now + i)
    # locked: even the right password is refused now, without checking it
    with pytest.raises(SignInError, match="Too many failed sign-ins") as info:
        authenticate("ann", PASSWORD, client="10.0.0.9", engine=db_engine, now=now + 5)
    assert 0 < info.value.retry_after <= ratelimit.BASE_DELAY_S
    # another user name from the same client is not refused yet (clients get more tries) ...
    with pytest.raises(SignInError, match="Wrong"):
        authenticate("other", "whatever", client="10.0.0.1", engine=db_engine, now=now + 5)
    # after the delay one more failure doubles it
    later = now + 4 + ratelimit.BASE_DELAY_S + 1
    with pytest.raises(SignInError, match="Wrong"):
        authenticate("ann", "wrong again", client="10.0.0.2", engine=db_engine, now=later)
    wait = ratelimit.retry_after(ratelimit.subjects("ann", None), now=later, engine=db_engine)
    assert wait == pytest.approx(2 * ratelimit.BASE_DELAY_S)
    # after that delay the right password works and clears the user's counter
    assert authenticate("ann", PASSWORD, client="10.0.0.3", engine=db_engine, now=later + wait + 1).name == "ann"
    assert ratelimit.retry_after(ratelimit.subjects("ann", None), now=later + wait + 2, engine=db_engine) == 0
    # failures older than the window are forgotten
    assert ratelimit.retry_after(["client:10.0.0.1"], now=now + ratelimit.WINDOW_S + 10, engine=db_engine) == 0


def test_a_client_guessing_many_names_is_throttled(db_engine) -> None:  # type: ignore[no-untyped-def]
    now = 3_000_000.0
    for i in range(ratelimit.CLIENT_FREE_FAILURES):
        with pytest.raises(SignInError, match="Wrong"):
            authenticate(f"guess{i}", "whatever", client="10.9.9.9", engine=db_engine, now=now + i)
    with pytest.raises(SignInError, match="Too many"):
        authenticate("fresh-name", "whatever", client="10.9.9.9", engine=db_engine, now=now + 21)
    with pytest.raises(SignInError, match="Wrong"):  # another client is not affected
        authenticate("fresh-name", "whatever", client="10.9.9.8", engine=db_engine, now=now + 21)


def test_the_counter_is_shared_by_processes_on_one_database(db_url) -> None:  # type: ignore[no-untyped-def]
    """Two engines (as two server processes would have) see the same failures."""
    from core.db import migrate

    first, second = make_engine(db_url), make_engine(db_url)
    migrate(first)
    accounts.add_user("ann", "annotator", PASSWORD, engine=first)
    now = 2_000_000.0
    for i in range(ratelimit.FREE_FAILURES):
        engine = first if i % 2 else second
        with pytest.raises(SignInError, match="Wrong"):
            authenticate("ann", "nope nope", engine=engine, now=now + i)
    with pytest.raises(SignInError, match="Too many"):
        authenticate("ann", PASSWORD, engine=second, now=now + 6)
    first.dispose()
    second.dispose()


def test_delay_schedule() -> None:
    assert [ratelimit.delay_for(n) for n in range(4, 9)] == [0, 30, 60, 120, 240]
    assert ratelimit.delay_for(19, ratelimit.CLIENT_FREE_FAILURES) == 0
    assert ratelimit.delay_for(100) == ratelimit.MAX_DELAY_S


def test_oidc_identities_map_to_accounts(db_engine) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user("dr.who", "reviewer", external_id="who@hospital.example", engine=db_engine)
    accounts.add_user("ann", "annotator", PASSWORD, external_id="sub-123", engine=db_engine)
    assert oidc.resolve({"sub": "zzz", "email": "who@hospital.example"}, engine=db_engine).name == "dr.who"
    assert oidc.resolve({"sub": "sub-123", "email": "who@hospital.example"}, engine=db_engine).name == "ann"
    with pytest.raises(SignInError, match="has no MedLens account"):
        oidc.resolve({"sub": "zzz", "email": "who@hospital.example", "email_verified": False}, engine=db_engine)
    with pytest.raises(SignInError, match="users add NAME --role annotator --oidc stranger@x.example"):
        oidc.resolve({"sub": "s", "email": "stranger@x.example"}, engine=db_engine)
    with pytest.raises(SignInError):
        oidc.resolve({}, engine=db_engine)
    accounts.update_user("dr.who", disabled=True, engine=db_engine)
    with pytest.raises(SignInError, match="disabled"):
        oidc.resolve({"email": "who@hospital.example"}, engine=db_engine)
    # an OIDC-only account has no password to guess
    with pytest.raises(SignInError, match="Wrong"):
        authenticate("dr.who", "", engine=db_engine)
    with pytest.raises(InputError, match="another user"):
        accounts.add_user("copy", "admin", PASSWORD, external_id="sub-123", engine=db_engine)


def test_a_hash_with_weaker_parameters_is_upgraded_at_sign_in(db_engine) -> None:  # type: ignore[no-untyped-def]
    from argon2 import PasswordHasher

    accounts.add_user("ann", "annotator", PASSWORD, engine=db_engine)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024).hash(PASSWORD)
    accounts._store_rehash("ann", weak, db_engine)
    assert authenticate("ann", PASSWORD, engine=db_engine).name == "ann"
    with read(db_engine) as connection:
        stored = connection.execute(select(users.c.password_hash)).scalar_one()
    assert stored != weak and "m=65536" in stored
    assert authenticate("ann", PASSWORD, engine=db_engine).name == "ann"
