"""SQLite writers wait for each other on a file lock (tandem.lib.sqlite), released whatever way
the transaction ends; the database's own lock stays behind it."""

from __future__ import annotations

import threading
import time

import pytest
from django.db.utils import ConnectionHandler

from tandem.lib.env import database_from_url


@pytest.fixture
def unblocked(django_db_blocker):
    """Connections of the test's own (not the suite's database)."""
    with django_db_blocker.unblock():
        yield


def _connection(path):
    settings = database_from_url("T", f"sqlite:///{path}", base_dir="/")
    if path == ":memory:":
        settings["NAME"] = path
    return ConnectionHandler({"default": settings})["default"]


def _begin(connection) -> None:
    connection.ensure_connection()
    connection._start_transaction_under_autocommit()


def test_a_second_writer_waits_for_the_first_and_goes_on_when_it_commits(tmp_path, unblocked):
    path = tmp_path / "w.sqlite3"
    first = _connection(path)
    assert first.vendor == "sqlite" and type(first).__module__ == "tandem.lib.sqlite.base"
    with first.cursor() as cursor:
        cursor.execute("CREATE TABLE t (n integer)")
    _begin(first)
    with first.cursor() as cursor:
        cursor.execute("INSERT INTO t VALUES (1)")
    events: list[str] = []

    def second_writer() -> None:
        second = _connection(path)
        _begin(second)
        with second.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM t")
            events.append(f"second sees {cursor.fetchone()[0]}")
            cursor.execute("INSERT INTO t VALUES (2)")
        second.commit()
        second.close()

    thread = threading.Thread(target=second_writer)
    thread.start()
    time.sleep(0.2)
    assert events == []  # still waiting: the first has not committed
    first.commit()
    thread.join(timeout=10)
    assert events == ["second sees 1"]
    with first.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM t")
        assert cursor.fetchone()[0] == 2
    first.close()


def test_the_lock_is_released_by_a_rollback_and_by_closing(tmp_path, unblocked):
    path = tmp_path / "w.sqlite3"
    first = _connection(path)
    first.ensure_connection()
    _begin(first)
    assert first._writer_held
    first.rollback()
    assert not first._writer_held
    _begin(first)
    first.close()  # a connection closed mid-transaction (an error, a worker stopping)
    assert not first._writer_held and first._writer_fd is None
    other = _connection(path)
    _begin(other)  # would wait forever on a lock left behind
    assert other._writer_held
    other.rollback()
    other.close()


def test_an_in_memory_database_needs_no_lock_file(unblocked):
    memory = _connection(":memory:")
    memory.ensure_connection()
    _begin(memory)
    assert memory._writer_fd is None and not memory._writer_held
    memory.rollback()
