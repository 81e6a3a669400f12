"""The database layer on both backends: URLs, migrations, transactions, concurrent writers."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from core.db import current_version, latest_version, make_engine, migrate, read, write
from core.db.connect import normalise_url
from core.db.migrations import MIGRATIONS
from core.errors import InputError


def test_urls_choose_psycopg_and_refuse_other_databases() -> None:
    assert normalise_url("postgresql://u@h/db").startswith("postgresql+psycopg://")
    assert normalise_url("postgres://u@h/db").startswith("postgresql+psycopg://")
    assert normalise_url("sqlite:////tmp/x.sqlite") == "sqlite:////tmp/x.sqlite"
    for bad in ("mysql://u@h/db", "not a url", "postgresql+psycopg2://u@h/db"):
        with pytest.raises(InputError) as info:
            normalise_url(bad)
        assert "\n" not in str(info.value)


def test_bad_url_message_hides_the_password(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as info:
        normalise_url("mysql://user:hunter2secret@host/db")
    assert "hunter2secret" not in str(info.value)


def test_default_is_a_sqlite_file_in_the_data_dir(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from core.db.connect import db_url

    monkeypatch.delenv("MEDLENS_DB_URL", raising=False)
    monkeypatch.setenv("MEDLENS_DATA_DIR", str(tmp_path))
    assert db_url() == f"sqlite:///{tmp_path / 'medlens.sqlite'}"


def test_sqlite_is_wal_with_a_busy_timeout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'a.sqlite'}")
    with read(engine) as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    assert (tmp_path / "a.sqlite").stat().st_mode & 0o777 == 0o600  # hashes and patient work: owner only
    engine.dispose()


def test_migrations_bring_a_new_database_to_the_latest_version(db_engine) -> None:  # type: ignore[no-untyped-def]
    with read(db_engine) as connection:
        assert current_version(connection) == latest_version() == max(MIGRATIONS)
        assert db_engine.dialect.has_table(connection, "users")
    assert migrate(db_engine) == []  # idempotent


def _start_together(engines: list) -> tuple[list[list[int]], list[BaseException]]:  # type: ignore[type-arg]
    """Migrate every engine at once, as servers starting together would: (versions applied, errors)."""
    applied: list[list[int]] = []
    errors: list[BaseException] = []

    def start(engine) -> None:  # type: ignore[no-untyped-def]
        try:
            applied.append(migrate(engine))
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return applied, errors


def test_concurrent_first_starts_migrate_once(db_url) -> None:  # type: ignore[no-untyped-def]
    engines = [make_engine(db_url) for _ in range(4)]
    applied, errors = _start_together(engines)
    assert errors == []
    assert sorted(len(a) for a in applied) == [0, 0, 0, latest_version()]
    with read(engines[0]) as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM schema_version")).scalar() == latest_version()
    for engine in engines:
        engine.dispose()


def test_servers_opening_a_new_sqlite_file_together_all_start(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The switch to WAL could fail at once with "database is locked" when several connections open a
    new file together (13 of 200 four-way first starts before ``_enable_wal`` retried it)."""
    for trial in range(40):
        engines = [make_engine(f"sqlite:///{tmp_path / f'{trial}.sqlite'}") for _ in range(4)]
        _, errors = _start_together(engines)
        for engine in engines:
            engine.dispose()
        assert errors == [], f"first start {trial}: {errors}"


def test_a_newer_database_is_refused(db_engine) -> None:  # type: ignore[no-untyped-def]
    with write(db_engine) as connection:
        connection.execute(text("INSERT INTO schema_version (version, name, applied) VALUES (:v, 'future', 0)"),
                           {"v": latest_version() + 1})
    with pytest.raises(InputError, match="newer than this MedLens"):
        migrate(db_engine)


def test_a_failed_write_transaction_leaves_nothing(db_engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError):
        with write(db_engine) as connection:
            connection.execute(text("INSERT INTO sign_in_failures (subject, at) VALUES ('x', 1)"))
            raise RuntimeError("boom")
    with read(db_engine) as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM sign_in_failures")).scalar() == 0


def test_concurrent_read_modify_write_loses_no_increment(db_engine) -> None:  # type: ignore[no-untyped-def]
    """8 threads x 25 increments through write(): every one is counted (no lost update)."""
    with write(db_engine) as connection:
        connection.execute(text("INSERT INTO sign_in_failures (subject, at) VALUES ('counter', 0)"))

    def bump() -> None:
        for _ in range(25):
            with write(db_engine) as connection:
                if db_engine.dialect.name == "postgresql":  # row lock: READ COMMITTED needs it
                    connection.execute(text("SELECT at FROM sign_in_failures WHERE subject = 'counter' FOR UPDATE"))
                value = connection.execute(text("SELECT at FROM sign_in_failures WHERE subject = 'counter'")).scalar()
                connection.execute(text("UPDATE sign_in_failures SET at = :v WHERE subject = 'counter'"),
                                   {"v": value + 1})

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with read(db_engine) as connection:
        assert connection.execute(text("SELECT at FROM sign_in_failures WHERE subject = 'counter'")).scalar() == 200


def test_get_engine_follows_medlens_db_url(monkeypatch, db_url) -> None:  # type: ignore[no-untyped-def]
    from core.db import dispose_all, get_engine

    monkeypatch.setenv("MEDLENS_DB_URL", db_url)
    engine = get_engine()
    assert get_engine() is engine  # one engine (one pool) per URL
    assert engine.dialect.name == db_url.split(":")[0].split("+")[0]
    with read() as connection:
        assert current_version(connection) == latest_version()
    dispose_all()
