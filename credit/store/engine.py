"""Database engines for the operational store (SQLite embedded, PostgreSQL in production)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from credit.store.writer_lock import LockingConnection, WriterLock, writer_lock


def make_engine(url: str, *, busy_timeout_seconds: float = 30.0, wal_autocheckpoint: int | None = None) -> Engine:
    """Create an engine for ``url``; SQLite files get their folder and safe pragmas.

    Parameters
    ----------
    url
        SQLAlchemy database URL (``sqlite:///path.db`` or ``postgresql+psycopg://...``).
    busy_timeout_seconds
        SQLite only: how long a statement waits for a lock another connection holds (the
        write lock, mostly) before it fails with "database is locked".

    Returns
    -------
    Engine
        A pooled engine. On SQLite, foreign keys are enforced and the journal is WAL so
        readers do not block the writer; ``engine.execution_options(sqlite_begin="IMMEDIATE")``
        gives sessions that take the write lock at BEGIN (other databases ignore the option).
        A file's connections queue for that lock on ``<file>-writer`` first
        (:mod:`credit.store.writer_lock`): a waiting writer is woken when the holder ends its
        transaction, instead of polling in SQLite's busy handler.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    if wal_autocheckpoint is not None and (isinstance(wal_autocheckpoint, bool) or not isinstance(
            wal_autocheckpoint, int) or wal_autocheckpoint < 0):
        raise ValueError(f"`wal_autocheckpoint` must be a whole number of pages, 0 or more; got {wal_autocheckpoint!r}.")

    connect_args: dict = {"timeout": busy_timeout_seconds}
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    if _queues_writers(parsed):
        connect_args["factory"] = LockingConnection
    engine = create_engine(parsed, connect_args=connect_args)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001
        # The sqlite3 driver opens transactions only before DML, so DDL and reads would run
        # outside them; take transactions over (SQLAlchemy's documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        if wal_autocheckpoint is not None:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {wal_autocheckpoint:d}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):  # noqa: ANN001
        # A unit of work that reads before it writes asks for BEGIN IMMEDIATE with the
        # execution option sqlite_begin="IMMEDIATE": a deferred transaction whose snapshot
        # went stale fails at once with "database is locked" instead of waiting its turn.
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
            raise ValueError(f"`sqlite_begin` must be DEFERRED, IMMEDIATE or EXCLUSIVE; got {mode!r}.")
        # Straight to the driver: through exec_driver_sql SQLAlchemy builds an execution
        # context and a result for it, ~15 us per transaction (three per checkout request).
        statement = f"BEGIN {mode}"
        driver = connection.connection.driver_connection
        try:
            if isinstance(driver, LockingConnection):
                driver.begin(mode)  # IMMEDIATE and EXCLUSIVE wait their turn on the store's writer lock first
            else:
                driver.execute(statement)
        except sqlite3.Error as exc:  # wrapped as SQLAlchemy would (OperationalError for a lock timeout)
            raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc

    return engine


def _queues_writers(url: URL) -> bool:
    """Whether a SQLite URL names a file whose write transactions queue on its writer lock."""
    return bool(url.database) and url.database != ":memory:" and not url.query.get("uri")


def writer_queue(engine: Engine) -> WriterLock | None:
    """The writer lock the engine's write transactions queue on (a SQLite file's); None for any other store."""
    if engine.dialect.name != "sqlite" or not _queues_writers(engine.url):
        return None
    return writer_lock(engine.url.database)  # type: ignore[arg-type]
