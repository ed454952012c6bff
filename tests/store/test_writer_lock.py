"""Write transactions on a SQLite file queue on its writer lock (credit/store/writer_lock.py).

The lock is an ``flock`` on ``<store>-writer``, held from ``BEGIN IMMEDIATE`` to the end of
the transaction. Another process holding it is played by a child Python process; "still
waiting after 0.3 s" is the only timing here, and it can only fail if the queue is broken.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from credit.store.engine import make_engine, writer_queue


@pytest.fixture
def store(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}", busy_timeout_seconds=5)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine
    engine.dispose()


def _immediate(engine: Engine) -> Engine:
    return engine.execution_options(sqlite_begin="IMMEDIATE")


def _lock_is_free(engine: Engine) -> bool:
    descriptor = os.open(engine.url.database + "-writer", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)  # closing gives back what it took
    return True


def _holder(engine: Engine, commands: str) -> subprocess.Popen:
    """A child process that begins a write transaction on the store, says "held", then runs ``commands``."""
    script = textwrap.dedent(f"""
        import sys, time
        from sqlalchemy import text
        from credit.store.engine import make_engine
        engine = make_engine({str(engine.url)!r}).execution_options(sqlite_begin="IMMEDIATE")
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
            print("held", flush=True)
    """) + textwrap.indent(textwrap.dedent(commands), "    ")
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[2])
    assert child.stdout.readline().strip() == "held"
    return child


def _write_in_thread(engine: Engine) -> tuple[threading.Thread, list]:
    done: list = []

    def write() -> None:
        try:
            with _immediate(engine).begin() as connection:
                connection.execute(text("INSERT INTO t VALUES (2)"))
            done.append("committed")
        except Exception as exc:  # noqa: BLE001
            done.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    return thread, done


def test_a_writer_waits_for_another_process_and_goes_once_it_commits(store):
    child = _holder(store, "sys.stdin.readline()")  # holds until told
    thread, done = _write_in_thread(store)
    thread.join(0.3)
    assert done == []  # queued behind the other process
    child.stdin.write("go\n")
    child.stdin.flush()
    assert child.wait(30) == 0
    thread.join(30)
    assert done == ["committed"]
    with store.connect() as connection:
        assert connection.execute(text("SELECT n FROM t ORDER BY rowid")).scalars().all() == [1, 2]


def test_a_killed_holder_leaves_the_lock_to_the_next_writer(store):
    child = _holder(store, "sys.stdin.readline()")
    assert not _lock_is_free(store)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(30)
    thread, done = _write_in_thread(store)
    thread.join(30)
    assert done == ["committed"]
    with store.connect() as connection:  # the killed one's insert never committed
        assert connection.execute(text("SELECT n FROM t")).scalars().all() == [2]


def test_the_lock_is_held_from_begin_immediate_to_commit_or_rollback(store):
    connection = _immediate(store).connect()
    assert _lock_is_free(store)
    transaction = connection.begin()
    assert not _lock_is_free(store)
    transaction.commit()
    assert _lock_is_free(store)
    transaction = connection.begin()
    connection.execute(text("INSERT INTO t VALUES (3)"))
    transaction.rollback()
    assert _lock_is_free(store)
    connection.close()
    with store.begin() as deferred:  # DEFERRED: not queued (SQLite's lock alone)
        deferred.execute(text("INSERT INTO t VALUES (4)"))
        assert _lock_is_free(store)


def test_a_failed_transaction_gives_the_lock_back(store):
    with pytest.raises(OperationalError, match="no such table"):
        with _immediate(store).begin() as connection:
            connection.execute(text("INSERT INTO missing VALUES (1)"))
    assert _lock_is_free(store)


@pytest.mark.parametrize("busy_timeout", [0.2, 0])  # 0: no wait at all, as SQLite's own busy timeout of 0
def test_another_thread_waits_at_most_the_busy_timeout(tmp_path, busy_timeout):
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}", busy_timeout_seconds=busy_timeout)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    holding = _immediate(engine).connect()
    holding.begin()
    try:
        thread, done = _write_in_thread(engine)
        thread.join(30)
        assert len(done) == 1 and isinstance(done[0], OperationalError) and "database is locked" in str(done[0])
    finally:
        holding.rollback()
        holding.close()
    thread, done = _write_in_thread(engine)  # free again
    thread.join(30)
    assert done == ["committed"]
    engine.dispose()


def test_try_acquire_takes_a_free_lock_and_never_waits_for_a_held_one(store):
    queue = writer_queue(store)
    with store.connect() as connection:
        assert queue is not None and queue is connection.connection.driver_connection._queue  # the one BEGIN takes
    child = _holder(store, "sys.stdin.readline()")  # another process holds it
    assert queue.try_acquire() is False
    assert not _lock_is_free(store)
    child.stdin.write("go\n")
    child.stdin.flush()
    assert child.wait(30) == 0
    assert queue.try_acquire() is True
    assert not _lock_is_free(store)
    queue.release()
    assert _lock_is_free(store)


def test_the_holder_takes_the_lock_again_and_gives_it_back_as_often(store):
    # As a checkout batch does: the lock taken first, then its BEGIN IMMEDIATE and COMMIT on the same thread.
    queue = writer_queue(store)
    assert queue.try_acquire()
    with _immediate(store).begin() as connection:  # does not wait for itself
        connection.execute(text("INSERT INTO t VALUES (5)"))
    assert not _lock_is_free(store)  # the COMMIT gave back only what BEGIN took
    thread, done = _write_in_thread(store)  # another thread still waits (busy timeout 5 s)
    thread.join(0.3)
    assert done == []
    queue.release()  # the last time: the waiting thread goes
    thread.join(30)
    assert done == ["committed"]
    assert _lock_is_free(store)


def test_only_a_sqlite_file_has_a_writer_queue(tmp_path):
    assert writer_queue(make_engine(f"sqlite:///{tmp_path / 'a.db'}")) is not None
    assert writer_queue(make_engine("sqlite://")) is None  # in memory: one connection, nobody to queue with
    assert writer_queue(make_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")) is None
