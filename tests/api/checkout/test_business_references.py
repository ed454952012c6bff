"""A business reference books once per client: a retry under a new Idempotency-Key books nothing new.

Route by route (authorization, capture, refund, repayment), on SQLite and PostgreSQL: the
retry is 409 ``duplicate_reference`` naming the existing hold (or, for a repayment, the
ledger transfer), and the balances and hold totals stay what the first booking left,
worked out by hand. Another client may use the same reference; a declined authorization
leaves its order reference free; a refused booking (rolled back) leaves it free too.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from credit.ledger import balances, reconcile
from credit.ledger.tables import BusinessReference, Hold, LedgerTransfer
from tests.api.checkout.factories import make_buyer_with_line, make_score
from tests.api.conftest import LiveServer, auth, build_app, make_key


@pytest.fixture
def api(store_settings) -> Iterator[tuple[FastAPI, TestClient]]:  # noqa: ANN001
    app = build_app(store_settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield app, client


class Client:
    """One API key's calls, each under a fresh Idempotency-Key unless one is given."""

    def __init__(self, http: TestClient, key: str, name: str) -> None:
        self.http, self.key, self.name = http, key, name
        self.calls = 0

    def post(self, path: str, body: dict | None = None, idem: str | None = None) -> httpx.Response:
        self.calls += 1
        return self.http.post(path, json=body,
                              headers=auth(self.key) | {"Idempotency-Key": idem or f"{self.name}-{self.calls}"})

    def authorize(self, buyer: int, reference: str, amount: str, idem: str | None = None) -> httpx.Response:
        return self.post("/v1/checkout/authorizations",
                         {"buyer_id": buyer, "order_reference": reference, "amount": amount}, idem)

    def capture(self, hold: int, amount: str, shipment: str) -> httpx.Response:
        return self.post(f"/v1/checkout/authorizations/{hold}/captures",
                         {"amount": amount, "shipment_reference": shipment})

    def refund(self, hold: int, amount: str, reference: str | None = None) -> httpx.Response:
        return self.post(f"/v1/checkout/authorizations/{hold}/refunds",
                         {"amount": amount} | ({"reference": reference} if reference else {}))

    def repay(self, line: int, amount: str, reference: str) -> httpx.Response:
        return self.post(f"/v1/credit-lines/{line}/repayments", {"amount": amount, "reference": reference})

    def hold(self, hold: int) -> dict:
        return self.http.get(f"/v1/checkout/authorizations/{hold}", headers=auth(self.key)).json()


def _client(app: FastAPI, http: TestClient, role: str, name: str) -> Client:
    return Client(http, make_key(app, role, name), name)


def _duplicate(response: httpx.Response) -> tuple[int, str, dict]:
    body = response.json()["error"]
    return response.status_code, body["code"], body.get("details")


def _line(app: FastAPI, line: int) -> tuple[int, int, int]:
    """(posted, pending, available) of the line, minor units, as the store has them."""
    with Session(app.state.engine) as session:
        after = balances(session, line)
        assert reconcile(session).ok
    return after.posted_minor, after.pending_minor, after.available_minor


def _count(app: FastAPI, what, *where) -> int:  # noqa: ANN001
    with Session(app.state.engine) as session:
        return session.scalar(select(func.count()).select_from(what).where(*where))


def test_an_order_reference_holds_once_and_a_retry_under_a_new_key_is_told_the_hold(api):
    app, http = api
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=100_000)  # 1,000.00
    storefront = _client(app, http, "checkout", "storefront-a")
    first = storefront.authorize(buyer, "PO-1", "400.00", idem="order-1")
    assert first.status_code == 201, first.text
    hold = first.json()["hold_id"]

    retry = storefront.authorize(buyer, "PO-1", "400.00", idem="order-1-again")

    assert _duplicate(retry) == (409, "duplicate_reference", {"kind": "order", "reference": "PO-1", "hold_id": hold})
    assert retry.json()["error"]["message"] == (
        f"Order reference 'PO-1' was booked already (hold_id {hold}); it books once, so nothing was booked this time.")
    assert _line(app, line) == (0, 40_000, 60_000)  # 400.00 held once: 600.00 left
    assert _count(app, Hold, Hold.order_reference == "PO-1") == 1
    replayed = storefront.authorize(buyer, "PO-1", "400.00", idem="order-1")  # the same key still replays
    assert (replayed.status_code, replayed.headers.get("Idempotent-Replayed"), replayed.json()["hold_id"]) == (
        201, "true", hold)
    # A different amount under the same reference is the same order booked again: refused too.
    assert _duplicate(storefront.authorize(buyer, "PO-1", "10.00"))[1] == "duplicate_reference"
    assert _line(app, line) == (0, 40_000, 60_000)


def test_another_client_may_use_the_same_order_reference(api):
    app, http = api
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    first = _client(app, http, "checkout", "storefront-a").authorize(buyer, "PO-1", "400.00")
    other = _client(app, http, "checkout", "storefront-b").authorize(buyer, "PO-1", "300.00")

    assert (first.status_code, other.status_code) == (201, 201)
    assert other.json()["hold_id"] != first.json()["hold_id"]
    assert _line(app, line) == (0, 70_000, 30_000)  # 400.00 + 300.00 held


def test_a_declined_orders_reference_can_be_authorized_again_once_there_is_headroom(api):
    app, http = api
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    storefront = _client(app, http, "checkout", "storefront-a")
    big = storefront.authorize(buyer, "PO-1", "800.00").json()["hold_id"]  # 200.00 left

    declined = storefront.authorize(buyer, "PO-2", "300.00")
    assert (declined.status_code, declined.json()["decline_code"]) == (200, "limit_exceeded")
    assert _count(app, BusinessReference, BusinessReference.reference == "PO-2") == 0
    storefront.post(f"/v1/checkout/authorizations/{big}/void")  # 1,000.00 free again

    again = storefront.authorize(buyer, "PO-2", "300.00")

    assert again.status_code == 201, again.text
    assert _line(app, line) == (0, 30_000, 70_000)
    assert _duplicate(storefront.authorize(buyer, "PO-2", "300.00")) == (
        409, "duplicate_reference", {"kind": "order", "reference": "PO-2", "hold_id": again.json()["hold_id"]})


def test_a_shipment_reference_captures_once_whatever_hold_the_retry_names(api):
    app, http = api
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    storefront = _client(app, http, "checkout", "storefront-a")
    hold = storefront.authorize(buyer, "PO-1", "500.00").json()["hold_id"]
    other_hold = storefront.authorize(buyer, "PO-2", "100.00").json()["hold_id"]
    assert storefront.capture(hold, "200.00", "SHIP-42").status_code == 200

    retry = storefront.capture(hold, "200.00", "SHIP-42")
    on_another_hold = storefront.capture(other_hold, "100.00", "SHIP-42")

    details = {"kind": "shipment", "reference": "SHIP-42", "hold_id": hold}
    assert _duplicate(retry) == _duplicate(on_another_hold) == (409, "duplicate_reference", details)
    read = storefront.hold(hold)
    assert (read["captured"], read["remaining"]) == ("200.00", "300.00")
    assert storefront.hold(other_hold)["captured"] == "0.00"
    assert _line(app, line) == (20_000, 40_000, 40_000)  # posted 200.00; held 300.00 + 100.00
    assert _count(app, LedgerTransfer, LedgerTransfer.kind == "post") == 1


def test_a_refused_capture_leaves_its_shipment_reference_free(api):
    app, http = api
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    storefront = _client(app, http, "checkout", "storefront-a")
    hold = storefront.authorize(buyer, "PO-1", "500.00").json()["hold_id"]

    too_much = storefront.capture(hold, "500.01", "SHIP-7")
    within = storefront.capture(hold, "500.00", "SHIP-7")

    assert _duplicate(too_much)[:2] == (409, "capture_exceeds_hold")
    assert (within.status_code, within.json()["captured"]) == (200, "500.00")
    assert _line(app, line) == (50_000, 0, 50_000)


def test_another_client_may_capture_under_the_same_shipment_reference(api):
    app, http = api
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    first, second = (_client(app, http, "checkout", name) for name in ("storefront-a", "storefront-b"))
    hold_a = first.authorize(buyer, "PO-1", "500.00").json()["hold_id"]
    hold_b = second.authorize(buyer, "PO-9", "300.00").json()["hold_id"]

    assert first.capture(hold_a, "200.00", "SHIP-42").status_code == 200
    assert second.capture(hold_b, "300.00", "SHIP-42").status_code == 200
    assert _line(app, line) == (50_000, 30_000, 20_000)  # posted 200.00 + 300.00; 300.00 still held on a


def test_a_refund_reference_refunds_once_and_a_refund_without_one_is_not_checked(api):
    app, http = api
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    storefront = _client(app, http, "checkout", "storefront-a")
    admin = _client(app, http, "admin", "back-office")
    hold = storefront.authorize(buyer, "PO-1", "500.00").json()["hold_id"]
    storefront.capture(hold, "500.00", "SHIP-1")
    assert storefront.refund(hold, "100.00", "CN-7").status_code == 200  # posted 500.00 -> 400.00

    retry = storefront.refund(hold, "100.00", "CN-7")

    assert _duplicate(retry) == (409, "duplicate_reference", {"kind": "refund", "reference": "CN-7", "hold_id": hold})
    assert storefront.hold(hold)["refunded"] == "100.00"
    assert _line(app, line) == (40_000, 0, 60_000)
    # No reference, nothing to check: two refunds of 10.00 both book.
    assert [storefront.refund(hold, "10.00").status_code for _ in range(2)] == [200, 200]
    # The back office is another client: its CN-7 on the same hold books.
    assert admin.refund(hold, "30.00", "CN-7").status_code == 200
    assert storefront.hold(hold)["refunded"] == "150.00"  # 100.00 + 10.00 + 10.00 + 30.00
    assert _line(app, line) == (35_000, 0, 65_000)


def test_a_payment_reference_repays_once_and_a_retry_is_told_the_repayment(api):
    app, http = api
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    _, other_line = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    storefront = _client(app, http, "checkout", "storefront-a")
    payments = _client(app, http, "payments", "payment-system")
    finance = _client(app, http, "finance", "finance-team")
    hold = storefront.authorize(buyer, "PO-1", "500.00").json()["hold_id"]
    storefront.capture(hold, "500.00", "SHIP-1")
    first = payments.repay(line, "200.00", "PAY-99")  # posted 500.00 -> 300.00
    assert first.status_code == 201
    repayment = first.json()["repayment_id"]

    retry = payments.repay(line, "200.00", "PAY-99")
    on_another_line = payments.repay(other_line, "1.00", "PAY-99")

    details = {"kind": "payment", "reference": "PAY-99", "repayment_id": repayment}
    assert _duplicate(retry) == _duplicate(on_another_line) == (409, "duplicate_reference", details)
    assert _line(app, line) == (30_000, 0, 70_000)
    assert _count(app, LedgerTransfer, LedgerTransfer.kind == "repay") == 1
    # The finance team is another client: its PAY-99 books.
    booked = finance.repay(line, "100.00", "PAY-99")
    assert (booked.status_code, booked.json()["balances"]["posted"]) == (201, "200.00")
    assert _line(app, line) == (20_000, 0, 80_000)


def test_a_payout_of_credit_balance_books_once(api):
    app, http = api
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    storefront = _client(app, http, "checkout", "storefront-a")
    payments = _client(app, http, "payments", "payment-system")
    hold = storefront.authorize(buyer, "PO-1", "100.00").json()["hold_id"]
    storefront.capture(hold, "100.00", "SHIP-1")
    assert payments.repay(line, "250.00", "PAY-1").json()["credit_balance"] == "150.00"  # 100.00 owed

    def payout(amount: str) -> httpx.Response:
        return payments.post(f"/v1/credit-lines/{line}/credit-balance/refunds", {"amount": amount, "reference": "OUT-7"})

    first = payout("60.00")
    assert (first.status_code, first.json()["credit_balance"]) == (200, "90.00")
    retry = payout("60.00")
    assert _duplicate(retry) == (409, "duplicate_reference", {"kind": "payout", "reference": "OUT-7", "line_id": line})
    left = http.get(f"/v1/credit-lines/{line}/credit-balance", headers=auth(payments.key)).json()
    assert left["credit_balance"] == "90.00"  # 150.00 - 60.00, once


def test_an_early_settlement_is_a_payment_and_its_reference_books_once(api):
    app, http = api
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=1_000_000)
    make_score(app.state.engine, buyer, 0.003)  # grade B: up to 12 installments
    storefront = _client(app, http, "checkout", "storefront-a")
    payments = _client(app, http, "payments", "payment-system")
    hold = storefront.authorize(buyer, "PO-1", "3000.00").json()["hold_id"]
    receivable = storefront.capture(hold, "3000.00", "SHIP-1").json()["receivable_id"]
    plan = storefront.post(f"/v1/receivables/{receivable}/installment-plans", {"count": 3})
    assert plan.status_code == 201, plan.text
    due = http.get(f"/v1/receivables/{receivable}/early-settlement", headers=auth(payments.key)).json()
    first = payments.post(f"/v1/receivables/{receivable}/early-settlements",
                          {"amount": due["amount_due"], "reference": "PAY-EARLY"})
    assert first.status_code == 201, first.text
    retry = payments.post(f"/v1/receivables/{receivable}/early-settlements",
                          {"amount": due["amount_due"], "reference": "PAY-EARLY"})
    assert _duplicate(retry) == (409, "duplicate_reference", {"kind": "payment", "reference": "PAY-EARLY",
                                                             "repayment_id": first.json()["repayment_id"]})
    # and a repayment cannot reuse it either
    assert _duplicate(payments.repay(line, "1.00", "PAY-EARLY"))[1] == "duplicate_reference"


SHIPPERS = 8


def test_eight_concurrent_captures_of_one_shipment_reference_book_exactly_one(store_settings):
    # On PostgreSQL the seven late claims wait on the reference's key until the first commits,
    # then conflict; on SQLite the write lock takes them in turn.
    app = build_app(store_settings)
    with LiveServer(app) as server:
        key = make_key(app, "checkout", "checkout-frontend")
        buyer, line = make_buyer_with_line(app.state.engine, limit_minor=100_000)
        with httpx.Client(base_url=server.url, timeout=60) as http:
            held = http.post("/v1/checkout/authorizations",
                             json={"buyer_id": buyer, "order_reference": "PO-1", "amount": "800.00"},
                             headers=auth(key) | {"Idempotency-Key": "order"})
        hold = held.json()["hold_id"]
        start = threading.Barrier(SHIPPERS)

        def ship(i: int) -> httpx.Response:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                start.wait()
                return http.post(f"/v1/checkout/authorizations/{hold}/captures",
                                 json={"amount": "100.00", "shipment_reference": "SHIP-42"},
                                 headers=auth(key) | {"Idempotency-Key": f"ship-{i}"})

        with ThreadPoolExecutor(max_workers=SHIPPERS) as pool:
            responses = list(pool.map(ship, range(SHIPPERS)))

    outcomes = Counter((r.status_code, r.json().get("error", {}).get("code")) for r in responses)
    assert outcomes == Counter({(200, None): 1, (409, "duplicate_reference"): SHIPPERS - 1}), outcomes
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["details"]["hold_id"] == hold
    assert _line(app, line) == (10_000, 70_000, 20_000)  # 100.00 captured once; 700.00 still held
    assert _count(app, LedgerTransfer, LedgerTransfer.kind == "post") == 1
