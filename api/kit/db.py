"""The request's unit of work: one SQLAlchemy session per request, committed once at the end.

``SessionDep`` gives a route the request's session. Service code adds and flushes; it never
commits. When the route returns, the session commits **before** the response is sent (the
dependency has FastAPI's ``scope="function"``; the default "request" scope would commit
after the client already has its 200). When anything raises, it rolls back.

Which store: the app's operational store, or the sandbox's for a request with a test key
(:mod:`api.kit.sandbox` puts a :class:`Store` in the request's scope); :func:`request_engine`
and the request's session follow it.

Where the database work runs depends on the store, because a trip to the thread pool and
back costs about 230 µs of CPU here while a SQLite statement costs a few:

- **PostgreSQL** (any server): the work runs in FastAPI's thread pool, so a round trip or a
  COMMIT waiting for its WAL flush holds one worker thread, never the other requests.
- **SQLite** (embedded, sub-millisecond, one writer at a time): the work runs inline on the
  event loop, as a plain function call, with no trip to the pool; nothing can interleave
  with a unit of work, which holds SQLite's write lock from its first write to its commit.
- **The sandbox's store** (:mod:`api.kit.sandbox`), SQLite or not: the thread pool, as on a
  server (:func:`pool_its_work`), so its long units of work never hold up the loop.

A route or dependency that touches the database is written as a plain ``def`` and marked
:func:`runs_sql`, which makes that choice per request (from the request's session or the
app's engine); the request's session commits the same way. Every route that writes must be
marked: on SQLite an unmarked writer would hold the write lock in a pool thread until its
commit, which runs on the loop, while a marked one waits for the lock on the loop (30 s, then
"database is locked"). Routes that only read (the console's pages, the read models) may stay
plain ``def`` routes in the pool, on either store: in WAL mode reads take no lock.

Two limits meet on PostgreSQL. AnyIO lends the pool 40 threads; the engine's pool holds
``pool_size + max_overflow`` connections (SQLAlchemy's 5 + 10). A request holds at most one
connection at a time: the key lookup and the claim take one and give it back; the session
takes one at its first statement and gives it back at the commit or rollback. That commit
runs in a thread of its own, outside the 40-thread limit (as FastAPI runs a dependency's
exit), so a request that holds a connection can always finish even when all 40 threads wait
for one. Threads beyond the engine's pool wait for a connection (``pool_timeout``, 30 s) and
nothing waits in a cycle.

SQLite's write lock: a unit of work that reads before it writes calls
:func:`take_write_lock` first (``BEGIN IMMEDIATE``). Another connection that wants the lock
meanwhile (a ``def`` route in the pool, another worker process) queues for it on the store's
writer lock (:mod:`credit.store.writer_lock`), woken as soon as the holder commits, at most
the busy timeout for a thread of the same process (``timeout=30`` in
:func:`credit.store.engine.make_engine`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: objects stay readable after the commit that ends the request.
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


STORE_SCOPE_KEY = "credit.store"
"""Where a request that does not act on the operational store carries its :class:`Store` (the ASGI scope)."""


@dataclass(frozen=True)
class Store:
    """A store other than the operational one a request acts on (the sandbox's, :mod:`api.kit.sandbox`)."""

    engine: Engine
    sessionmaker: sessionmaker[Session]
    model: Any = None
    """The champion PD model requests on this store are decided with (:func:`api.kit.state.champion`)."""


def request_store(request: Request) -> Store | None:
    """The store the request acts on when it is not the operational one (a test key's: the sandbox's)."""
    return request.scope.get(STORE_SCOPE_KEY)


def request_engine(request: Request) -> Engine:
    """The engine of the store the request acts on: the app's, or the sandbox's for a test key."""
    store = request.scope.get(STORE_SCOPE_KEY)
    return request.app.state.engine if store is None else store.engine


_POOLED: set[Engine] = set()  # a plain set: a WeakSet's lookup costs 0.6 us, on every live SQLite request


def pool_its_work(engine: Engine, pooled: bool = True) -> None:
    """Send the work of ``engine`` to the thread pool even on SQLite (the sandbox's store, :mod:`api.kit.sandbox`).

    Its units of work (a clock move runs a year of daily jobs) then never block the event loop,
    nor do requests waiting for its write lock: all of them wait in pool threads, commits included.
    ``pooled=False`` forgets the engine (when it is disposed of).
    """
    if pooled:
        _POOLED.add(engine)
    else:
        _POOLED.discard(engine)


def on_a_server(engine: Engine) -> bool:
    """Whether the store's work goes to the thread pool: a database server, or a store marked :func:`pool_its_work`."""
    return engine.dialect.name != "sqlite" or engine in _POOLED


Work = TypeVar("Work", bound=Callable[..., Any])


def runs_sql(work: Work) -> Work:
    """Mark a ``def`` route or dependency that touches the database: pooled on a server, inline on SQLite.

    The returned coroutine function has ``work``'s signature (FastAPI reads it through
    ``__wrapped__``) and takes the choice per request from a ``Session`` or ``Request``
    argument, which ``work`` must have.
    """
    if inspect.iscoroutinefunction(work):
        raise TypeError(f"{work.__qualname__} must be a plain def to be marked runs_sql")
    names = [name for name, parameter in inspect.signature(work).parameters.items()
             if parameter.annotation in ("Request", "SessionDep", Request, SessionDep)]
    if not names:
        raise TypeError(f"{work.__qualname__} needs a Request or a SessionDep argument to be marked runs_sql")

    @functools.wraps(work)
    async def dispatched(**arguments: Any) -> Any:
        handle = arguments[names[0]]
        engine = request_engine(handle) if isinstance(handle, Request) else handle.get_bind()
        return await run_sql(engine, work, **arguments)

    return dispatched  # type: ignore[return-value]


async def run_sql(engine: Engine, work: Callable[..., Any], *arguments: Any, **keywords: Any) -> Any:
    """``work(*arguments, **keywords)``: in the thread pool on a database server, inline on SQLite."""
    if on_a_server(engine):
        return await run_in_threadpool(work, *arguments, **keywords)
    return work(*arguments, **keywords)


async def finish_sql(engine: Engine, work: Callable[..., Any], *arguments: Any) -> None:
    """Like :func:`run_sql`, for the work that gives a connection back (a commit, a rollback).

    On a server it runs in a thread of its own, outside the pool's 40-thread limit, so a
    request holding a connection can always finish, and shielded from cancellation, so a
    client that hangs up does not leave the connection (or SQLite's lock) held.
    """
    if on_a_server(engine):
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(work, *arguments, limiter=anyio.CapacityLimiter(1))
    else:
        work(*arguments)


def finish_unit_of_work(session: Session, succeeded: bool) -> None:
    """Commit (``succeeded``) or roll back the request's session, and close it."""
    try:
        if succeeded:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


def new_unit_of_work(request: Request) -> tuple[Session, Engine]:
    """A new session on the store the request acts on (the sandbox's for a test key), and that store's engine."""
    store = request.scope.get(STORE_SCOPE_KEY)
    if store is None:
        return request.app.state.sessionmaker(), request.app.state.engine
    return store.sessionmaker(), store.engine


def kept_unit_of_work(request: Request) -> tuple[Session, Engine]:
    """:func:`new_unit_of_work` on the operational store, its session on a connection the app keeps when inline.

    On SQLite served inline (not :func:`on_a_server`) a unit of work runs from its ``BEGIN``
    to its ``COMMIT`` or rollback within one step of the event loop (nothing in it awaits),
    so one connection kept for the process serves every such unit of work in turn; a new
    session per request is bound to it. That saves the pool's checkout and check-in, a
    ``Connection`` and its options per request (~5 % of a checkout authorization). The
    connection begins its transactions with ``BEGIN IMMEDIATE`` (every unit of work on it
    writes) and is closed by :func:`close_kept_connection` at the app's shutdown. On a
    database server, or for a test key's request: :func:`new_unit_of_work`.
    """
    connection = kept_connection(request)
    if connection is None:
        return new_unit_of_work(request)
    return request.app.state.sessionmaker(bind=connection), request.app.state.engine


def kept_connection(request: Request) -> Connection | None:
    """The connection :func:`kept_unit_of_work` binds its sessions to, outside any transaction; None if it binds none.

    None on a database server, for a test key's request, and while another unit of work is on
    the connection (one that awaited mid-way, which none should: it is left be). Opened the
    first time, and again after :func:`close_kept_connection`.
    """
    engine: Engine = request.app.state.engine
    if STORE_SCOPE_KEY in request.scope or on_a_server(engine):
        return None
    state = request.app.state
    connection: Connection | None = getattr(state, "kept_connection", None)
    if connection is not None and connection.in_transaction():
        return None
    if connection is None or connection.closed:
        connection = state.kept_connection = engine.connect().execution_options(sqlite_begin="IMMEDIATE")
    return connection


def close_kept_connection(app: Any) -> None:
    """Give back the connection :func:`kept_unit_of_work` kept (at the app's shutdown, before its engine's disposal)."""
    connection = getattr(app.state, "kept_connection", None)
    if connection is not None:
        app.state.kept_connection = None
        connection.close()


async def _request_session(request: Request) -> AsyncIterator[Session]:
    session, engine = new_unit_of_work(request)
    try:
        yield session
    except BaseException:
        await finish_sql(engine, finish_unit_of_work, session, False)
        raise
    await finish_sql(engine, finish_unit_of_work, session, True)


SessionDep = Annotated[Session, Depends(_request_session, scope="function")]
"""The request's session: committed when the route returns, rolled back if it raises."""

EngineDep = Annotated[Engine, Depends(request_engine)]


def take_write_lock(session: Session) -> None:
    """Begin the session's transaction with ``BEGIN IMMEDIATE`` on SQLite (other databases ignore it).

    A unit of work that reads and then writes must take SQLite's write lock first: a deferred
    transaction whose read overlaps another connection's commit fails with "database is
    locked" instead of waiting. A transaction already begun keeps its begin mode: the unit of
    work of :data:`~api.kit.idempotency.IdempotentUnitOfWorkDep` took the lock at its claim.
    """
    if not session.in_transaction():
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
