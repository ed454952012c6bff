"""Many checkouts at once over HTTP on a real server: exactly the authorizations that fit are approved.

A real uvicorn serves the app on 127.0.0.1 (SQLite file and PostgreSQL), in one process, in
one process lent a single thread, and in two worker processes; 32 client threads, released
together, each authorize one order with its own Idempotency-Key.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import anyio.to_thread
import httpx
import pytest
from sqlalchemy.orm import Session

from api.kit.auth import create_api_key
from credit.ledger import balances, reconcile
from credit.store.engine import make_engine
from migrations import upgrade
from tests.api.checkout.factories import make_buyer_with_line
from tests.api.checkout.server import ServerProcess
from tests.api.conftest import LiveServer, auth, build_app, make_key

THREADS = 32


@pytest.mark.parametrize("threads_lent", [None, 1], ids=["default-pool", "one-thread"])
def test_32_concurrent_authorizations_over_http_take_exactly_the_limit(store_settings, threads_lent):
    # With one thread lent: each unit of work keeps SQLite's write lock, or on PostgreSQL the
    # line's row lock, from its route until the commit at the session's exit (api.kit.db). Were
    # that commit to wait for a pool thread as the routes do, a route waiting for the lock would
    # hold the only thread and the commit that frees the lock could never run.
    app = build_app(store_settings)

    @app.post("/v1/test/thread-pool")
    async def lend_threads() -> dict:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads_lent  # this server's loop only
        return {"threads": threads_lent}

    with LiveServer(app) as server:
        key = make_key(app, "checkout", "checkout-frontend")
        buyer, line = make_buyer_with_line(app.state.engine, limit_minor=100_000_000)  # 1,000,000.00
        if threads_lent is not None:
            assert httpx.post(f"{server.url}/v1/test/thread-pool").status_code == 200
        start = threading.Barrier(THREADS)

        def order(i: int) -> httpx.Response:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                start.wait()
                return http.post("/v1/checkout/authorizations",
                                 json={"buyer_id": buyer, "order_reference": f"PO-{i}", "amount": "70000.00"},
                                 headers=auth(key) | {"Idempotency-Key": f"order-{i}"})

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            responses = list(pool.map(order, range(THREADS)))

    outcomes = Counter((r.status_code, r.json().get("status"), r.json().get("decline_code")) for r in responses)
    assert outcomes == Counter({(201, "approved", None): 14, (200, "declined", "limit_exceeded"): 18}), outcomes
    for response in responses:
        assert Decimal(response.json()["balances"]["available"]) >= 0
    with Session(app.state.engine) as session:
        after = balances(session, line)
        assert (after.posted_minor, after.pending_minor, after.available_minor) == (0, 98_000_000, 2_000_000)
        assert reconcile(session).ok


def test_32_concurrent_authorizations_across_two_worker_processes_take_exactly_the_limit(store_settings):
    # Two processes contend for the store for real: on SQLite for the write lock (the
    # authorization reads before it writes, so it must BEGIN IMMEDIATE), on PostgreSQL for
    # the line's row.
    url = store_settings.resolved_database_url()
    engine = make_engine(url)
    upgrade(engine)  # once, before the workers start (as `credit serve` does)
    with Session(engine) as session, session.begin():
        _, key = create_api_key(session, "checkout-frontend", "checkout")
    buyer, line = make_buyer_with_line(engine, limit_minor=100_000_000)
    start = threading.Barrier(THREADS)

    with ServerProcess(url, workers=2) as server:
        def order(i: int) -> httpx.Response:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                start.wait()
                return http.post("/v1/checkout/authorizations",
                                 json={"buyer_id": buyer, "order_reference": f"PO-{i}", "amount": "70000.00"},
                                 headers=auth(key) | {"Idempotency-Key": f"order-{i}"})

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            responses = list(pool.map(order, range(THREADS)))

    outcomes = Counter((r.status_code, r.json().get("status"), r.json().get("decline_code")) for r in responses)
    assert outcomes == Counter({(201, "approved", None): 14, (200, "declined", "limit_exceeded"): 18}), outcomes
    with Session(engine) as session:
        after = balances(session, line)
        assert (after.posted_minor, after.pending_minor, after.available_minor) == (0, 98_000_000, 2_000_000)
        assert reconcile(session).ok
    engine.dispose()
