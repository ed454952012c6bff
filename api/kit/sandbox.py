"""The sandbox: a request with a test key (``mck_test_...``) acts on the sandbox's store, at the sandbox's time.

:class:`SandboxMiddleware` reads the key a request presents, as the authentication does
(``Authorization: Bearer``, else ``X-API-Key``). A live key's request passes through untouched
(a scan of its headers is all it costs). A test key's request

1. gets the sandbox's :class:`~api.kit.db.Store` in its scope: the key lookup, the
   idempotency claim, the request's session and ``runs_sql`` all use that store's engine
   (:func:`api.kit.db.request_engine`), and the champion is the sandbox's fixed-PD model
   (:func:`api.kit.state.champion`), so the test buyers' answers never change;
2. runs its database work in the thread pool, on SQLite too (:func:`api.kit.db.pool_its_work`):
   a clock move that runs a year of daily jobs never holds up the live requests;
3. runs on the sandbox's clock: the real clock plus the offset the sandbox's store keeps
   (:mod:`credit.sandbox.moves`), read at the start of each request, so every worker agrees
   and a move is seen by the next request. :func:`credit.clock.running_on` sets it for this
   request only (and the pool threads it hands work to); the process's clock stays as it is.

The sandbox's store (``Settings.sandbox_database_url``) is opened, migrated and, if it was
never seeded, seeded with the test buyers at the first test key's request, not at startup:
apps that are never asked for the sandbox (most tests, a live-only deployment) pay nothing.
``credit serve`` opens it before its workers start, so they do not race to migrate it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import anyio
from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from api.kit.auth import is_test_key
from api.kit.db import STORE_SCOPE_KEY, Store, make_sessionmaker, pool_its_work, run_sql
from api.kit.errors import error_response
from credit import clock
from credit.policy import Policy
from credit.sandbox.buyers import SANDBOX_MODEL
from credit.sandbox.moves import offset
from credit.sandbox.seed import ensure_seeded
from credit.store.engine import make_engine
from migrations import upgrade

log = logging.getLogger("api.sandbox")


def open_sandbox_store(url: str, policy: Policy) -> Engine:
    """The sandbox's store at ``url``: migrated to the latest schema and seeded if it never was."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        ensure_seeded(engine, policy)
    except BaseException:
        engine.dispose()
        raise
    return engine


class Sandbox:
    """The sandbox's store of one app, opened on first use (see the module)."""

    def __init__(self, url: str, policy: Callable[[], Policy]) -> None:
        self.url = url
        self._policy = policy
        self._store: Store | None = None
        self._opening = threading.Lock()

    def _open(self) -> Store:
        with self._opening:
            if self._store is None:
                engine = open_sandbox_store(self.url, self._policy())
                pool_its_work(engine)
                self._store = Store(engine, make_sessionmaker(engine), SANDBOX_MODEL)
            return self._store

    async def store(self) -> Store:
        """The sandbox's store, opened (in a worker thread: a migration blocks) on the first call."""
        if self._store is not None:
            return self._store
        return await anyio.to_thread.run_sync(self._open)

    def close(self) -> None:
        """Dispose of the store's engine (the app's lifespan ends); the next use opens it again."""
        store, self._store = self._store, None
        if store is not None:
            pool_its_work(store.engine, pooled=False)
            store.engine.dispose()


def presented_key(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The key a request presents, as the authentication reads it: a Bearer token, else ``X-API-Key``."""
    header_key = None
    for name, value in headers:
        if name == b"authorization":
            scheme, _, credentials = value.partition(b" ")
            if scheme.lower() == b"bearer" and credentials:
                return credentials
        elif name == b"x-api-key":
            header_key = value
    return header_key


class SandboxMiddleware:
    """Pure ASGI middleware: a test key's request acts on the sandbox's store, at the sandbox's time."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = presented_key(scope["headers"])
        if key is None or not key.startswith(b"mck_test_") or not is_test_key(key.decode("latin-1")):
            await self.app(scope, receive, send)
            return
        try:
            store = await self.sandbox.store()
            ahead = await run_sql(store.engine, _offset, store.engine)
        except Exception as exc:  # noqa: BLE001 - any failure to open it: the sandbox is unavailable, said so
            log.error("the sandbox's store at %s cannot be used", self.sandbox.url, exc_info=exc)
            response = error_response(
                503, "sandbox_unavailable", "The sandbox's store cannot be opened; the live API is not affected. "
                "Check CREDIT_SANDBOX_DATABASE_URL (on PostgreSQL its database must exist).")
            await response(scope, receive, send)
            return
        scope[STORE_SCOPE_KEY] = store
        with clock.running_on(clock.OffsetClock(ahead)):
            await self.app(scope, receive, send)


def _offset(engine: Engine) -> Any:
    with engine.connect() as connection:
        return offset(connection)
