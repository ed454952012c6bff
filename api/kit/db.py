"""The request's unit of work: one SQLAlchemy session per request, committed once at the end.

``SessionDep`` gives a route the request's session. Service code adds and flushes; it never
commits. When the route returns, the session commits **before** the response is sent (the
dependency has FastAPI's ``scope="function"``; the default "request" scope would commit
after the client already has its 200). When anything raises, it rolls back.

Everything that touches the database is synchronous and runs in FastAPI's thread pool:
routes that use a session, the key lookup, the Idempotency-Key claim and this session are
``def`` (a dependency with ``yield`` enters and exits in the pool too). The event loop only
parses, validates and routes, so a PostgreSQL round trip or a COMMIT waiting for its WAL
flush holds one worker thread, never the other requests. A route that touches the database
must not be ``async def``: its queries would block the loop.

Two limits meet here. AnyIO lends the pool 40 threads; the engine's pool holds
``pool_size + max_overflow`` connections (SQLAlchemy's 5 + 10). A request holds at most one
connection at a time: the key lookup and the claim take one and give it back; the session
takes one at its first statement and gives it back at the commit or rollback, in a
dependency's exit. FastAPI runs those exits outside the 40-thread limit, so a request that
holds a connection (or, on SQLite, the write lock) can always finish even when all 40
threads wait for a connection or for the lock. Threads beyond the engine's pool wait for a
connection (``pool_timeout``, 30 s) and nothing waits in a cycle.

SQLite's write lock: a unit of work that reads before it writes calls
:func:`take_write_lock` first (``BEGIN IMMEDIATE``). Another thread that wants the lock
meanwhile waits in SQLite's busy handler (``timeout=30`` in
:func:`credit.store.engine.make_engine`), holding its own thread and nothing the holder needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: objects stay readable after the commit that ends the request.
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


def request_engine(request: Request) -> Engine:
    """The engine the app opened at startup."""
    return request.app.state.engine


def _request_session(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(_request_session, scope="function")]
"""The request's session: committed when the route returns, rolled back if it raises."""

EngineDep = Annotated[Engine, Depends(request_engine)]


def take_write_lock(session: Session) -> None:
    """Begin the session's transaction with ``BEGIN IMMEDIATE`` on SQLite (other databases ignore it).

    A unit of work that reads and then writes must take SQLite's write lock first: a deferred
    transaction whose read overlaps another connection's commit fails with "database is
    locked" instead of waiting.
    """
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
