"""SQLite's WAL checkpoints off the request path: a background thread checkpoints, requests only commit.

In WAL mode every commit appends pages to the ``-wal`` file; a checkpoint copies them back
into the database file and syncs both. By default the connection whose commit takes the WAL
past 1,000 pages runs that checkpoint inside its COMMIT, so every few hundred checkout
authorizations one of them pays the copy and two ``fdatasync`` calls (py-spy: 6.6 % of the
authorizations' samples, all of it in a few requests: a latency spike, the p99).

:class:`Checkpointer` moves it to a daemon thread of its own with its own connection: every
``interval`` seconds (:data:`INTERVAL_SECONDS`) a ``PASSIVE`` checkpoint copies what no reader still needs, without
waiting for or blocking anyone (it takes no write lock; SQLite releases the GIL while it
works). The engine's request connections keep an automatic checkpoint, raised to
:data:`HARD_LIMIT_PAGES`, as the bound should the thread fall behind (a starved process, a
long reader): the WAL then grows to that many pages at most before a request checkpoints
as it did before. Several worker processes on one file each run a thread; SQLite lets one
checkpoint run at a time and the others return at once (busy), which is harmless.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

HARD_LIMIT_PAGES = 16_000
"""The request connections' ``wal_autocheckpoint``: a request checkpoints only if the WAL reaches this (64 MB of
4 KB pages), i.e. only when the background thread has fallen behind."""

INTERVAL_SECONDS = 0.05
"""How often the thread checkpoints: a checkpoint of nothing new is a read of the WAL index.

Often, so that each copies little: a checkpoint's copy and ``fdatasync`` stall the commits
made meanwhile for as long as they take. Checkout at 1,000 authorizations a second, 2
workers (issue 19): p99 54.8 ms checkpointing every 5 s, 37.2 ms every 0.5 s, 11.4 ms every
0.1 s, 6.8 ms every 0.05 s, 6.0 ms every 0.02 s, for the same server CPU per request."""

_log = logging.getLogger("credit.store.checkpoint")


class Checkpointer:
    """A daemon thread checkpointing a SQLite engine's WAL (``PASSIVE``) every ``interval`` seconds until stopped.

    Parameters
    ----------
    engine
        A SQLite engine from :func:`credit.store.engine.make_engine` with ``wal_autocheckpoint``
        raised (its requests then leave checkpoints to this thread). Other engines: nothing runs.
    interval
        Seconds between checkpoints.
    """

    def __init__(self, engine: Engine, interval: float = INTERVAL_SECONDS) -> None:
        if interval <= 0:
            raise ValueError(f"`interval` must be positive; got {interval}.")
        self.engine = engine
        self.interval = interval
        self.checkpoints = 0  # how many ran (busy ones included): for tests and metrics
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Checkpointer:
        """Start the thread (once); nothing for a store that is not a SQLite file."""
        if self._thread is not None:
            raise RuntimeError("the checkpointer was already started")
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return self
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread and close its connection; waits for a checkpoint under way (at most ``timeout`` s)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        connection = self.engine.raw_connection()  # in the thread: the driver's connections stay in their thread
        try:
            while not self._stop.wait(self.interval):
                self.checkpoint(connection)
        finally:
            connection.close()  # type: ignore[attr-defined]  # a pooled DBAPI connection: back to the pool

    def checkpoint(self, connection: object) -> tuple[int, int, int] | None:
        """One ``PASSIVE`` checkpoint: (busy, WAL frames, frames checkpointed), None if SQLite refused it."""
        cursor = connection.cursor()  # type: ignore[attr-defined]
        try:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            result = tuple(cursor.fetchone())
        except Exception as exc:  # noqa: BLE001  (a locked or vanished store: log it, try again next time)
            _log.warning("WAL checkpoint failed: %s", exc)
            return None
        finally:
            cursor.close()
        self.checkpoints += 1
        return result  # type: ignore[return-value]
