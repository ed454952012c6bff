"""Ingest into a SQLite store another process is writing: it waits for the write lock, or says so in one line.

The other writer (the API) is played by a plain sqlite3 connection that takes the write lock
(``BEGIN IMMEDIATE``), writes an API key, and commits a moment later. Before ingest began its
file's transaction with ``BEGIN IMMEDIATE``, its first read pinned a snapshot that the other
writer's commit made stale, and its first write failed at once with "database is locked".
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from credit.ingest import find_history_files, ingest_files
from credit.ingest.rules import validator
from credit.store.engine import make_engine
from credit.store.tables import Firm
from migrations import upgrade
from tests.cli.invoke import credit
from tests.ingest.history import valid_history, write_csv


class OtherWriter:
    """Holds the store's write lock from ``__enter__`` for ``seconds``, then commits a write, in a thread."""

    def __init__(self, database: Path, seconds: float) -> None:
        self.database, self.seconds = database, seconds
        self.locked, self.released = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        connection = sqlite3.connect(self.database, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO api_keys (name, client, role, key_hash, prefix, created_at) "
                           "VALUES ('other-writer', 'other-writer', 'admin', 'x', 'mck_x', '2026-01-01 00:00:00')")
        self.locked.set()
        time.sleep(self.seconds)
        connection.execute("COMMIT")
        connection.close()
        self.released.set()

    def __enter__(self) -> OtherWriter:
        self.thread.start()
        assert self.locked.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join(30)


def _store(tmp_path: Path) -> tuple[Path, Path]:
    validator("firms")  # built before the lock is taken (Great Expectations takes 2 s to import)
    database = tmp_path / "store.db"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    engine.dispose()
    return database, write_csv(tmp_path / "files", {"firms": valid_history()["firms"]})


def _firms(database: Path) -> int:
    engine = make_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(Firm)).scalar_one()
    engine.dispose()
    return count


def test_ingest_waits_for_the_write_lock_another_connection_holds_briefly(tmp_path):
    database, folder = _store(tmp_path)
    engine = make_engine(f"sqlite:///{database}")
    files, _ = find_history_files([folder])
    with OtherWriter(database, seconds=1.5) as other:
        started = time.monotonic()
        [result] = ingest_files(engine, files)
        waited = time.monotonic() - started
        assert other.released.is_set()  # it finished only after the other writer let go
    engine.dispose()
    assert (result.error, result.loaded, result.quarantined) == (None, 4, 0)
    assert waited >= 1.0
    assert _firms(database) == 4


def test_the_cli_waits_too_and_prints_its_report(tmp_path):
    database, folder = _store(tmp_path)
    with OtherWriter(database, seconds=1.0):
        outcome = credit("ingest", folder, "--database-url", f"sqlite:///{database}")
    assert outcome.exception is None and outcome.exit_code == 0, outcome.output
    assert "firms" in outcome.text and _firms(database) == 4


def test_a_lock_held_past_the_busy_timeout_is_one_line_and_nothing_loads(tmp_path):
    database, folder = _store(tmp_path)
    with OtherWriter(database, seconds=4.0):
        outcome = credit("ingest", folder, "--database-url", f"sqlite:///{database}",
                         env={"CREDIT_SQLITE_BUSY_TIMEOUT_SECONDS": "0.5"})
    assert outcome.exception is None, f"traceback instead of a message: {outcome.exception!r}"
    assert outcome.exit_code == 1
    assert "Traceback" not in outcome.output
    assert outcome.output.strip().count("\n") == 0, outcome.output
    assert outcome.text == (f"error: the store sqlite:///{database} is being written by another process (the API, "
                            "another command) and its write lock was not free within 0.5 s "
                            "(CREDIT_SQLITE_BUSY_TIMEOUT_SECONDS); the file being loaded was rolled back: run the "
                            "command again (files already loaded count as unchanged).")
    assert _firms(database) == 0
