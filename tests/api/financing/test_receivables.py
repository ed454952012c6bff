"""Receivables financing: a quote worked out by hand, booking once, refusals, and 8 concurrent requests for one invoice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from credit.audit import replay
from credit.financing.tables import Financing
from tests.api.conftest import LiveServer, auth, make_key
from tests.api.financing.factories import SERVED, make_invoice, make_scored_firm

QUOTES, REQUESTS = "/v1/financing/receivables/quotes", "/v1/financing/receivables/requests"


def _invoice(engine, **invoice) -> int:  # noqa: ANN001
    supplier = make_scored_firm(engine, 0.01, roles="supplier")
    debtor = make_scored_firm(engine, 0.003, roles="buyer", buyer_return_rate_365d=0.01)  # grade B
    return make_invoice(engine, supplier, debtor, 1_000_000, **invoice)  # 10,000.00 due in 20 days


def test_a_quote_by_hand_then_one_booking_and_the_second_request_is_declined(financing_client, financing_app,
                                                                            financing_keys):
    client, key = financing_client, financing_keys["checkout"]
    invoice = _invoice(financing_app.state.engine)
    quoted = client.post(QUOTES, json={"invoice_id": invoice}, headers=auth(key))
    assert quoted.status_code == 200, quoted.text
    quote = quoted.json()
    # reserve = max(1.5 x 0.01, 0.02) = 0.02; haircut(B) = 0; rate = 0.90 - 0.02 = 0.88 -> 8,800.00
    # tenor = 20 days to due + 10 collection days = 30; fee rate = (0.003 x 0.45 + 0.06) x 30 / 365
    # = 0.005042 (6 places) -> fee = 8,800.00 x 0.005042 = 44.37
    assert (quote["status"], quote["outcome"], quote["debtor_grade"]) == ("quoted", "approve", "B")
    assert (quote["dilution_reserve_rate"], quote["risk_haircut_rate"], quote["advance_rate"]) == ("0.02", "0", "0.88")
    assert (quote["outstanding"], quote["advance"], quote["tenor_days"]) == ("10000.00", "8800.00", 30)
    assert (quote["fee_rate"], quote["fee"], quote["financing_id"]) == ("0.005042", "44.37", None)

    booked = client.post(REQUESTS, json={"invoice_id": invoice}, headers=auth(key) | {"Idempotency-Key": "r-1"})
    assert booked.status_code == 201, booked.text
    assert booked.json()["status"] == "booked" and booked.json()["financing_id"] is not None
    replayed = client.post(REQUESTS, json={"invoice_id": invoice}, headers=auth(key) | {"Idempotency-Key": "r-1"})
    assert replayed.json() == booked.json() and replayed.headers["Idempotent-Replayed"] == "true"

    second = client.post(REQUESTS, json={"invoice_id": invoice}, headers=auth(key) | {"Idempotency-Key": "r-2"})
    assert second.status_code == 200, second.text
    assert (second.json()["status"], second.json()["advance"], second.json()["financing_id"]) == ("declined", "0.00", None)
    assert [r["code"] for r in second.json()["eligibility_reasons"]] == ["invoice_already_financed"]
    assert second.json()["next_actions"][0]["code"] == "finance_another_invoice"
    with Session(financing_app.state.engine) as session:
        assert session.scalar(select(func.count()).select_from(Financing)) == 1
        for body in (quote, booked.json(), second.json()):
            assert replay(session, body["decision_id"]).same


def test_an_overdue_or_disputed_invoice_is_not_eligible(financing_client, financing_app, financing_keys):
    engine = financing_app.state.engine
    overdue = _invoice(engine, issued_days_ago=40, due_in_days=-5)
    disputed = _invoice(engine, disputed=True)
    for invoice, code, action in ((overdue, "invoice_overdue", "finance_another_invoice"),
                                  (disputed, "invoice_disputed", "resolve_dispute")):
        response = financing_client.post(REQUESTS, json={"invoice_id": invoice},
                                         headers=auth(financing_keys["finance"]) | {"Idempotency-Key": f"x{invoice}"})
        assert response.status_code == 200, response.text
        assert [r["code"] for r in response.json()["eligibility_reasons"]] == [code]
        assert response.json()["next_actions"][0]["code"] == action
    unknown = financing_client.post(QUOTES, json={"invoice_id": 1}, headers=auth(financing_keys["finance"]))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "invoice_not_found"
    assert financing_client.post(QUOTES, json={"invoice_id": overdue},
                                 headers=auth(financing_keys["analyst"])).status_code == 403


@pytest.mark.parametrize("concurrent", [8])
def test_concurrent_requests_for_one_invoice_book_it_exactly_once(store_settings, concurrent):
    app = create_app(store_settings)
    app.state.serving_model = SERVED
    with TestClient(app):
        key = make_key(app, "checkout")
        invoice = _invoice(app.state.engine)
    with LiveServer(app) as server:
        def request(i: int) -> httpx.Response:
            return httpx.post(f"{server.url}{REQUESTS}", json={"invoice_id": invoice}, timeout=60,
                              headers=auth(key) | {"Idempotency-Key": f"concurrent-{i}"})

        with ThreadPoolExecutor(concurrent) as pool:
            responses = list(pool.map(request, range(concurrent)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(201) == 1, [r.text for r in responses]
    for response in responses:
        if response.status_code != 201:  # a declined quote, or a 409 when the guard caught a race
            assert response.status_code in (200, 409), response.text
            body = response.json()
            assert body.get("status") == "declined" or body["error"]["code"] == "invoice_already_financed"
    with Session(app.state.engine) as session:
        assert session.scalar(select(func.count()).select_from(Financing).where(Financing.invoice_id == invoice)) == 1
