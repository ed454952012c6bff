"""The request's unit of work: one SQLAlchemy session per request, committed once at the end.

``SessionDep`` gives a route the request's session. Service code adds and flushes; it never
commits. When the route returns, the session commits **before** the response is sent (the
dependency has FastAPI's ``scope="function"``; the default "request" scope would commit
after the client already has its 200). When anything raises, it rolls back.

The kit's dependencies are ``async def`` and run their (sub-millisecond, indexed) queries on
the event loop: no thread-pool hop per request. Routes doing more than a few queries should
be ``def`` routes (FastAPI runs them in its thread pool). An ``async def`` route must not
``await`` anything between its first write and its return: on SQLite another request on the
loop would wait for the write lock the suspended one holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
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


async def _request_session(request: Request) -> AsyncIterator[Session]:
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
