"""The decision service's FastAPI app: ``create_app()`` builds it, ``serve()`` runs it.

Paths are versioned (``/v1/...``); the OpenAPI document is at ``/v1/openapi.json`` and the
interactive docs at ``/v1/docs`` (Swagger UI served from a package, so they work offline;
``/docs`` redirects there). ``GET /v1/health`` needs no key; ``GET /v1/metrics``
(Prometheus text) needs an analyst or admin key, since request counts per route are business
information: point Prometheus at it with ``authorization: {credentials: <key>}``.

Requests with a test key (``mck_test_...``) act on the sandbox's store, at the sandbox's time
(:mod:`api.kit.sandbox`, docs/sandbox.md); the console and ``/v1/health`` are the live store's.
"""

from __future__ import annotations

import gc
import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import text

from api.access.routes import router as access_router
from api.checkout import fast_path as checkout_fast_path
from api.checkout.routes import router as checkout_router
from api.repayments.routes import router as repayments_router
from api.console.routes import mount_console
from api.credit_lines.routes import router as credit_lines_router
from api.decisions.routes import router as decisions_router
from api.events.routes import router as events_router
from api.financing.book.routes import router as financing_book_router
from api.financing.routes import router as financing_router
from api.firms.routes import router as firms_router
from api.installments.routes import router as installments_router
from api.kit import state
from api.kit.auth import Caller, requires
from api.kit.contract import finish_contract
from api.kit.db import close_kept_connection, make_sessionmaker, runs_sql
from api.kit.docs import mount_docs
from api.kit.errors import ErrorBody, install_error_handlers, responses
from api.kit.idempotency import IdempotentReplay, replay_handler
from api.kit.limits import BodySizeLimitMiddleware
from api.kit.metrics import ApiMetrics, MetricsMiddleware
from api.kit.sandbox import Sandbox, SandboxMiddleware, open_sandbox_store
from api.kit.rate_limits import RateLimiter
from api.kit.request_id import RequestIdMiddleware, document_request_id, log_config
from api.kit.text import reject_control_characters
from api.loans.routes import router as loans_router
from api.monitoring.routes import router as monitoring_router
from api.sandbox.routes import router as sandbox_router
from api.servicing.routes import router as servicing_router
from api.webhooks.routes import router as webhooks_router
from credit.policy import default_policy
from credit.settings import Settings
from credit.store.checkpoint import HARD_LIMIT_PAGES, Checkpointer
from credit.store.engine import make_engine
from migrations import heads, upgrade

API_VERSION = "v1"


class Health(BaseModel):
    status: str
    database: str
    schema_revisions: list[str]
    schema_current: bool


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the HTTP API.

    Parameters
    ----------
    settings
        Where the store is and the API's limits; read from ``CREDIT_*`` environment
        variables when omitted. The store is opened and migrated to the latest schema when
        the app starts (its lifespan), not here.

    Returns
    -------
    FastAPI
        The app, to run with uvicorn or to test with ``with TestClient(app) as client``.
    """
    settings = settings if settings is not None else Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # On SQLite, WAL checkpoints run in a thread of their own, not inside a request's COMMIT.
        engine = make_engine(settings.resolved_database_url(), wal_autocheckpoint=HARD_LIMIT_PAGES)
        upgrade(engine)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.expected_revisions = heads()
        state.load(app, settings)  # the policy and the champion (watched for a new export), before the first request
        # Everything loaded so far (the libraries, the app, its routes and schemas: ~190,000
        # tracked objects) lives as long as the process. Frozen, a full (generation 2)
        # collection no longer walks it: under load those collections paused the event loop
        # for 50-120 ms every few thousand requests, the checkout benchmark's p99.
        gc.collect()
        gc.freeze()
        checkpointer = Checkpointer(engine).start()
        try:
            yield
        finally:
            gc.unfreeze()  # tests build many apps in one process: let their objects be collected again
            state.stop(app)
            close_kept_connection(app)
            checkpointer.stop()
            engine.dispose()
            sandbox.close()

    app = FastAPI(
        title="Marketplace credit",
        summary="Credit decisions for a B2B marketplace: credit lines, checkout credit, financing.",
        version="1.0.0",
        openapi_url=f"/{API_VERSION}/openapi.json",
        docs_url=None,  # mount_docs serves Swagger UI from a package, not from FastAPI's CDN
        redoc_url=None,
        lifespan=lifespan,
        responses={500: {"model": ErrorBody, "description": "Unexpected error (`internal_error`)."}},
        dependencies=[Depends(reject_control_characters)],  # NUL and other control characters: 422, every route
    )
    app.state.settings = settings
    app.state.metrics = metrics = ApiMetrics()
    # Test keys act on the sandbox's store, opened at the first one's request (api/kit/sandbox.py).
    app.state.sandbox = sandbox = Sandbox(settings.resolved_sandbox_database_url(),
                                          lambda: getattr(app.state, "policy", None) or default_policy())
    app.state.rate_limiter = RateLimiter(settings)
    app.state.sandbox_rate_limiter = RateLimiter(settings)
    install_error_handlers(app)
    app.add_exception_handler(IdempotentReplay, replay_handler)
    app.add_middleware(SandboxMiddleware, sandbox=sandbox)
    # Added last = outermost: metrics time everything, including refused bodies; every response,
    # a refused body's too, carries its X-Request-Id.
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.api_max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)

    @app.get(f"/{API_VERSION}/health", response_model=Health, tags=["service"], responses={503: {"model": Health}})
    @runs_sql
    def health(request: Request) -> Response | Health:
        """Whether the store answers and its schema is current; no API key needed."""
        try:
            with request.app.state.engine.connect() as connection:
                revisions = sorted(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
        except Exception:  # noqa: BLE001 - any failure means "not healthy", reported as such
            body = Health(status="unavailable", database="unreachable", schema_revisions=[], schema_current=False)
            return JSONResponse(body.model_dump(), status_code=503)
        current = set(revisions) == request.app.state.expected_revisions
        return Health(status="ok" if current else "degraded", database="ok",
                      schema_revisions=revisions, schema_current=current)

    @app.get(
        f"/{API_VERSION}/metrics",
        tags=["service"],
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."},
                   **responses(401, 403)},
    )
    async def prometheus_metrics(_caller: Annotated[Caller, requires("analyst", "admin")]) -> Response:
        """Request counts and latency histograms per route and status (Prometheus text format)."""
        payload, content_type = metrics.exposition()
        return Response(payload, media_type=content_type)

    mount_docs(app, f"/{API_VERSION}/docs", app.openapi_url)
    app.include_router(access_router)
    app.include_router(checkout_router)
    app.include_router(repayments_router)
    app.include_router(installments_router)
    app.include_router(credit_lines_router)
    app.include_router(firms_router)
    app.include_router(financing_router)
    app.include_router(loans_router)
    app.include_router(financing_book_router)
    app.include_router(decisions_router)
    app.include_router(monitoring_router)
    app.include_router(servicing_router)
    app.include_router(events_router)
    app.include_router(webhooks_router)
    app.include_router(sandbox_router)
    mount_console(app)  # the finance console's pages under /console, not in the OpenAPI document
    checkout_fast_path.install(app)  # before every route: the ordinary authorization skips FastAPI's dependencies
    finish_contract(app)  # every operation documents the statuses the kit answers, integer bounds exact
    _document(app, document_request_id)  # last: the header goes on every response, the kit's too
    return app


def _document(app: FastAPI, *additions: Callable[[dict], dict]) -> None:
    """Make ``app.openapi()`` apply ``additions`` to FastAPI's document, once (it is cached as FastAPI caches its own)."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = generate()
            for addition in additions:
                schema = addition(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi


def worker_environment(settings: Settings) -> dict[str, str]:
    """``CREDIT_*`` variables from which each worker process rebuilds ``settings`` (JSON for structured ones)."""
    environment = {f"CREDIT_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
                   for name, value in settings.model_dump(mode="json").items()}
    environment["CREDIT_DATABASE_URL"] = settings.resolved_database_url()
    return environment


def serve(settings: Settings | None = None, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the API with uvicorn (uvloop + httptools), migrating the store once first.

    Parameters
    ----------
    settings
        As for :func:`create_app`; passed to worker processes through ``CREDIT_*``
        environment variables.
    host, port
        Where to listen.
    workers
        Worker processes. Each opens its own engine; on SQLite they share the file (one
        writer at a time).
    """
    import uvicorn

    settings = settings if settings is not None else Settings()
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)  # once here, so workers starting together do not race on the migration
    engine.dispose()
    try:  # the sandbox's store too, for the same reason; a sandbox that cannot open leaves the live API be
        open_sandbox_store(settings.resolved_sandbox_database_url(), default_policy()).dispose()
    except Exception as exc:  # noqa: BLE001 - reported, and its requests answer 503 sandbox_unavailable
        logging.getLogger("api.sandbox").warning("the sandbox's store at %s cannot be opened: %s",
                                                 settings.resolved_sandbox_database_url(), exc)
    options = dict(host=host, port=port, loop="uvloop", http="httptools", access_log=False, log_config=log_config())
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    os.environ.update(worker_environment(settings))
    uvicorn.run("api.app:create_app", factory=True, workers=workers, **options)
