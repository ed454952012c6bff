"""The decision service's FastAPI app: ``create_app()`` builds it, ``serve()`` runs it.

Paths are versioned (``/v1/...``); the OpenAPI document is at ``/v1/openapi.json`` and the
interactive docs at ``/v1/docs``. ``GET /v1/health`` needs no key; ``GET /v1/metrics``
(Prometheus text) needs an analyst or admin key, since request counts per route are business
information: point Prometheus at it with ``authorization: {credentials: <key>}``.
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import text

from api.access.routes import router as access_router
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
from api.kit.db import make_sessionmaker, runs_sql
from api.kit.errors import ErrorBody, install_error_handlers, responses
from api.kit.idempotency import IdempotentReplay, replay_handler
from api.kit.limits import BodySizeLimitMiddleware
from api.kit.metrics import ApiMetrics, MetricsMiddleware
from api.loans.routes import router as loans_router
from api.monitoring.routes import router as monitoring_router
from api.servicing.routes import router as servicing_router
from credit.settings import Settings
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
        engine = make_engine(settings.resolved_database_url())
        upgrade(engine)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.expected_revisions = heads()
        state.load(app, settings)  # the policy and the champion, before the first request
        # Everything loaded so far (the libraries, the app, its routes and schemas: ~190,000
        # tracked objects) lives as long as the process. Frozen, a full (generation 2)
        # collection no longer walks it: under load those collections paused the event loop
        # for 50-120 ms every few thousand requests, the checkout benchmark's p99.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()  # tests build many apps in one process: let their objects be collected again
            engine.dispose()

    app = FastAPI(
        title="Marketplace credit",
        summary="Credit decisions for a B2B marketplace: credit lines, checkout credit, financing.",
        version="1.0.0",
        openapi_url=f"/{API_VERSION}/openapi.json",
        docs_url=f"/{API_VERSION}/docs",
        redoc_url=None,
        lifespan=lifespan,
        responses={500: {"model": ErrorBody, "description": "Unexpected error (`internal_error`)."}},
    )
    app.state.settings = settings
    app.state.metrics = metrics = ApiMetrics()
    install_error_handlers(app)
    app.add_exception_handler(IdempotentReplay, replay_handler)
    # Added last = outermost: metrics time everything, including refused bodies.
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.api_max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)

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
    mount_console(app)  # the finance console's pages under /console, not in the OpenAPI document
    finish_contract(app)  # every operation documents the statuses the kit answers, integer bounds exact
    return app


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
    options = dict(host=host, port=port, loop="uvloop", http="httptools", access_log=False)
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    for name, value in settings.model_dump().items():
        os.environ[f"CREDIT_{name.upper()}"] = str(value)
    os.environ["CREDIT_DATABASE_URL"] = settings.resolved_database_url()
    uvicorn.run("api.app:create_app", factory=True, workers=workers, **options)
