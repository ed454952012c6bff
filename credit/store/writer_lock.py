"""A queue in front of SQLite's write lock: writers wait their turn in the kernel, not in SQLite's sleeps.

SQLite lets one connection write at a time. A connection that asks for the lock while another
holds it waits in SQLite's busy handler, which polls: it sleeps 1, 2, 5, 10, 15, 20, 25 ...
100 ms between tries, whatever the holder is doing. Two uvicorn workers serving checkout on
one store hold that lock for most of each request (a unit of work holds it from its ``BEGIN
IMMEDIATE`` to its ``COMMIT``), so at 1,000 authorizations a second they meet on almost
every request, and each meeting costs the waiting worker at least a millisecond with its event
loop asleep, often many: the issue 19 benchmark answered 669 of 1,000 a second with 2 workers,
with p99 at 19.6 s, where one worker answered 971.

:class:`WriterLock` is an ``flock`` on a file beside the store (``<store>-writer``), taken
before ``BEGIN IMMEDIATE`` (or ``EXCLUSIVE``) and given back after the ``COMMIT`` or rollback,
so only the holder of this lock ever asks SQLite for its own. A waiter blocks in the kernel
and is woken the moment the holder lets go. The kernel drops the lock of a process that
dies, a ``kill -9`` included. Within a process, connections (threads) first take a
``threading.Lock``, with the store's busy timeout: a wait that long fails as SQLite's would,
with "database is locked". SQLite's own lock still guards the data; this is only the queue in
front of it, so a transaction begun ``DEFERRED`` that writes, which does not queue here, is
still serialised by SQLite (and waits in its busy handler as before).

The lock is reentrant per thread: a thread that took it (the checkout's group commit takes it
with :meth:`WriterLock.try_acquire`, which never waits, before its batch's ``BEGIN``) takes it again
at once and must give it back as often.

:class:`LockingConnection` is the ``sqlite3`` connection class that does it, given to the
driver as its ``factory`` by :func:`credit.store.engine.make_engine` for a store in a file.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from typing import Any

_LOCKS: dict[str, WriterLock] = {}
_REGISTRY = threading.Lock()


class WriterLock:
    """The queue for one store's write lock in this process: a ``threading.Lock``, then an ``flock``.

    Parameters
    ----------
    path
        The lock file (created if missing; it stays, empty, beside the store).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._owner: int | None = None  # the thread holding it
        self._depth = 0  # how many times its holder took it

    def acquire(self, timeout: float) -> None:
        """Wait for the lock: other threads of this process at most ``timeout`` seconds, then other processes.

        The thread holding it takes it again at once (it then gives it back as often).
        """
        if self._owner == threading.get_ident():
            self._depth += 1
            return
        if not self._threads.acquire(timeout=max(timeout, 0)):  # 0: no wait, as SQLite's busy timeout of 0
            raise sqlite3.OperationalError("database is locked")
        self._lock_file(fcntl.LOCK_EX)

    def try_acquire(self) -> bool:
        """Take the lock if nobody else holds it, without waiting; whether it was taken."""
        if self._owner == threading.get_ident():
            self._depth += 1
            return True
        if not self._threads.acquire(blocking=False):
            return False
        try:
            self._lock_file(fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process holds it (_lock_file gave the threads' lock back)
            return False
        return True

    def _lock_file(self, operation: int) -> None:
        """``flock`` the file, holding the threads' lock (given back if that fails); this thread owns the lock."""
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            fcntl.flock(self._fd, operation)
        except BaseException:
            self._threads.release()
            raise
        self._owner, self._depth = threading.get_ident(), 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth:
            return
        self._owner = None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)  # type: ignore[arg-type]
        finally:
            self._threads.release()


def writer_lock(database: str) -> WriterLock:
    """The process's :class:`WriterLock` for the SQLite file ``database`` (one per file, shared by its engines)."""
    path = os.path.realpath(database) + "-writer"
    with _REGISTRY:
        lock = _LOCKS.get(path)
        if lock is None:
            lock = _LOCKS[path] = WriterLock(path)
        return lock


def _forget_locks() -> None:
    # A forked child must not share its parent's open file description: flock would see one owner.
    _LOCKS.clear()


os.register_at_fork(after_in_child=_forget_locks)


class LockingConnection(sqlite3.Connection):
    """A ``sqlite3`` connection that queues on its store's :class:`WriterLock` for write transactions.

    :meth:`begin` runs ``BEGIN <mode>``, first taking the queue's lock for ``IMMEDIATE`` and
    ``EXCLUSIVE``; :meth:`commit`, :meth:`rollback` and :meth:`close` give it back once the
    transaction has ended. The connection must be opened in autocommit (``isolation_level=None``,
    as :func:`~credit.store.engine.make_engine` does), so transactions begin only by :meth:`begin`.
    """

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._queue = writer_lock(database)
        self._busy_timeout = self.execute("PRAGMA busy_timeout").fetchone()[0] / 1000  # the driver's ``timeout``
        self._queued = False

    def begin(self, mode: str) -> None:
        if mode == "DEFERRED":
            self.execute("BEGIN DEFERRED")
            return
        self._queue.acquire(self._busy_timeout)
        self._queued = True
        try:
            self.execute(f"BEGIN {mode}")
        except BaseException:
            self._leave()
            raise

    def commit(self) -> None:
        try:
            super().commit()
        except BaseException:
            if not self.in_transaction:  # still open after a failed COMMIT: its rollback gives the lock back
                self._leave()
            raise
        self._leave()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave()

    def _leave(self) -> None:
        if self._queued:
            self._queued = False
            self._queue.release()
