"""Many applications for one buyer at once, on a real server: one decision, the others a 409, no 5xx.

A real uvicorn serves the app on 127.0.0.1 (SQLite file and PostgreSQL); 16 client threads,
released together, each apply for the same buyer with their own Idempotency-Key. The buyers
are grade B (PD 0.003) with no financing; the limit is min(capacity 2 x GMV / 12, grade cap
75,000,000, expected-loss cap 100,000 / (0.003 x 0.45) = 74,074,074), to 10,000 below:

- GMV 60,000,000: capacity 10,000,000, at most the review amount 25,000,000: approved, a line
  of 100,000.00 opens;
- GMV 600,000,000: capacity 100,000,000; the expected-loss cap binds, 74,070,000, above the
  review amount: referred, one application in the finance team's queue.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from credit.audit import DecisionRecord
from credit.ledger.tables import CreditLine
from credit.origination.tables import CreditLineApplicationRecord as Application
from tests.api.conftest import LiveServer, auth, make_key
from tests.api.financing.factories import SERVED, make_scored_firm

CLIENTS = 16


@pytest.fixture
def served_app(store_settings):  # noqa: ANN001, ANN201
    app = create_app(store_settings)
    app.state.serving_model = SERVED  # the factories' scores are this model's
    with TestClient(app):  # runs the app's startup: migrations
        pass
    return app


def _race(app, buyer: int) -> list[httpx.Response]:  # noqa: ANN001
    key = make_key(app, "checkout", "checkout-frontend")
    start = threading.Barrier(CLIENTS)
    with LiveServer(app) as server:
        def apply(i: int) -> httpx.Response:
            with httpx.Client(base_url=server.url, timeout=120) as http:
                start.wait()
                return http.post("/v1/credit-lines/applications", json={"buyer_id": buyer},
                                 headers=auth(key) | {"Idempotency-Key": f"apply-{i}"})

        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            return list(pool.map(apply, range(CLIENTS)))


def _stored(engine, buyer: int) -> tuple[int, Counter, int]:  # noqa: ANN001
    """Lines, applications by status and audited application decisions of the buyer."""
    with Session(engine) as session:
        lines = session.scalar(select(func.count()).select_from(CreditLine).where(CreditLine.firm_id == buyer))
        applications = Counter(dict(session.execute(
            select(Application.status, func.count()).where(Application.firm_id == buyer)
            .group_by(Application.status)).all()))
        decisions = session.scalar(select(func.count()).select_from(DecisionRecord).where(
            DecisionRecord.firm_id == buyer, DecisionRecord.kind == "credit_line_application"))
    return lines, applications, decisions


def test_16_concurrent_applications_for_one_buyer_open_one_line(served_app):
    buyer = make_scored_firm(served_app.state.engine, 0.003, roles="buyer", buyer_gmv_365d=60_000_000.0)

    responses = _race(served_app, buyer)

    outcomes = Counter((r.status_code, r.json().get("status") or r.json()["error"]["code"]) for r in responses)
    assert outcomes == Counter({(201, "approved"): 1, (409, "line_exists"): CLIENTS - 1}), outcomes
    approved = next(r.json() for r in responses if r.status_code == 201)
    assert approved["limit"] == "100000.00"
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["details"] == {"line_id": approved["line_id"]}
    assert _stored(served_app.state.engine, buyer) == (1, Counter({"approved": 1}), 1)


def test_16_concurrent_applications_for_one_buyer_make_one_referral(served_app):
    buyer = make_scored_firm(served_app.state.engine, 0.003, roles="buyer", buyer_gmv_365d=600_000_000.0)

    responses = _race(served_app, buyer)

    outcomes = Counter((r.status_code, r.json().get("status") or r.json()["error"]["code"]) for r in responses)
    assert outcomes == Counter({(201, "referred"): 1, (409, "application_pending"): CLIENTS - 1}), outcomes
    referred = next(r.json() for r in responses if r.status_code == 201)
    assert referred["limit"] == "740700.00"
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["details"] == {"decision_id": referred["decision_id"]}
    assert _stored(served_app.state.engine, buyer) == (0, Counter({"referred": 1}), 1)
