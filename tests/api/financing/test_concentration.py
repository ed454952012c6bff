"""One exposure over HTTP: a credit line and every financing count under one debtor's and one supplier's cap.

Default policy: debtor concentration cap B 120,000,000; supplier cap D 100,000,000, F 20,000,000;
receivables cap B 80,000,000. A line counts at its limit. Every amount is worked out by hand.
The concurrent tests send 32 requests at once to a real server, on SQLite and PostgreSQL: bookings
against one debtor's cap, against one supplier's cap, and bookings racing a raise of the debtor's line.
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
from credit.audit import replay
from credit.financing.exposure import firm_exposure
from credit.financing.tables import Financing
from credit.ledger import open_line
from credit.ledger.tables import CreditLine
from tests.api.conftest import LiveServer, auth, make_key
from tests.api.financing.factories import SERVED, make_invoice, make_order, make_scored_firm

RECEIVABLES = "/v1/financing/receivables"
ORDERS = "/v1/financing/orders"
_RECORD = {"supplier_sale_count_365d": 20.0, "supplier_cancellation_rate_365d": 0.02,
           "supplier_return_rate_365d": 0.01, "supplier_dispute_rate_365d": 0.0}  # no adjustment
THREADS = 32


def _debtor(engine, *, line_minor: int | None = None, **features: float) -> int:  # noqa: ANN001
    """A grade-B buyer (PD 0.003, return rate 0.01: reserve 0.02, advance rate 0.88), with a line if asked."""
    firm = make_scored_firm(engine, 0.003, roles="buyer", buyer_return_rate_365d=0.01, **features)
    if line_minor is not None:
        with Session(engine) as session, session.begin():
            open_line(session, firm_id=firm, limit_minor=line_minor, currency="EUR")
    return firm


def _codes(body: dict, field: str = "reason_codes") -> list[str]:
    return [reason["code"] for reason in body[field]]


def _post(client, path, body, key, idem=None):  # noqa: ANN001, ANN202
    return client.post(path, json=body, headers=auth(key) | ({"Idempotency-Key": idem} if idem else {}))


def test_a_debtor_whose_line_fills_most_of_its_cap_gets_only_the_rest(financing_client, financing_app,
                                                                       financing_keys):
    client, key, engine = financing_client, financing_keys["checkout"], financing_app.state.engine
    debtor = _debtor(engine, line_minor=100_000_000)  # 1,000,000.00 of line: 20,000,000 left under the cap
    supplier = make_scored_firm(engine, 0.01, roles="supplier")  # D
    large = make_invoice(engine, supplier, debtor, 25_000_000)  # 250,000.00, due in 20 days
    # 0.88 x 25,000,000 = 22,000,000 (under the receivables cap 80,000,000) -> cut to 120,000,000 - 100,000,000
    # = 20,000,000; tenor 30, fee rate 0.005042 (as in test_receivables) -> 20,000,000 x 0.005042 = 100,840
    quoted = _post(client, f"{RECEIVABLES}/quotes", {"invoice_id": large}, key)
    assert quoted.status_code == 200, quoted.text
    assert (quoted.json()["status"], quoted.json()["advance"], quoted.json()["fee"]) == (
        "quoted", "200000.00", "1008.40")
    assert _codes(quoted.json()) == ["dilution_reserve", "debtor_concentration_cap"]
    booked = _post(client, f"{RECEIVABLES}/requests", {"invoice_id": large}, key, "large")
    assert booked.status_code == 201 and booked.json()["advance"] == "200000.00", booked.text

    small = make_invoice(engine, supplier, debtor, 1_000_000)
    declined = _post(client, f"{RECEIVABLES}/requests", {"invoice_id": small}, key, "small")
    assert declined.status_code == 200, declined.text
    body = declined.json()
    assert (body["status"], body["advance"], body["eligibility_reasons"]) == ("declined", "0.00", [])
    assert _codes(body) == ["advance_below_minimum", "dilution_reserve", "debtor_concentration_cap"]
    with Session(engine) as session:
        exposure = firm_exposure(session, debtor)
        assert (exposure.line, exposure.receivable_as_debtor, exposure.as_debtor) == (
            100_000_000, 20_000_000, 120_000_000)
        for decided in (quoted, booked, declined):
            assert replay(session, decided.json()["decision_id"]).same


def test_a_creditor_near_its_supplier_cap_is_advanced_only_the_rest(financing_client, financing_app, financing_keys):
    client, key, engine = financing_client, financing_keys["checkout"], financing_app.state.engine
    creditor = make_scored_firm(engine, 0.05, roles="supplier")  # F: supplier cap 20,000,000
    first, second = _debtor(engine), _debtor(engine)
    # 0.88 x 21,000,000 = 18,480,000 fits; then 0.88 x 2,500,000 = 2,200,000 > 20,000,000 - 18,480,000 = 1,520,000
    assert _post(client, f"{RECEIVABLES}/requests", {"invoice_id": make_invoice(engine, creditor, first, 21_000_000)},
                 key, "r1").json()["advance"] == "184800.00"
    cut = _post(client, f"{RECEIVABLES}/requests",
                {"invoice_id": make_invoice(engine, creditor, second, 2_500_000)}, key, "r2")
    assert cut.status_code == 201, cut.text
    assert (cut.json()["advance"], _codes(cut.json())) == ("15200.00", ["dilution_reserve",
                                                                       "supplier_concentration_cap"])


def test_a_line_is_opened_and_raised_only_within_what_the_firms_financings_leave(financing_client, financing_app,
                                                                               financing_keys):
    client, engine = financing_client, financing_app.state.engine
    checkout, finance = financing_keys["checkout"], financing_keys["finance"]
    debtor = _debtor(engine, buyer_gmv_365d=600_000_000.0)
    supplier = make_scored_firm(engine, 0.01, roles="supplier")
    # it owes a financed invoice: 0.88 x 100,000,000 = 88,000,000, cut to the receivables cap 80,000,000
    financed = _post(client, f"{RECEIVABLES}/requests",
                     {"invoice_id": make_invoice(engine, supplier, debtor, 100_000_000)}, checkout, "inv")
    assert financed.status_code == 201 and financed.json()["advance"] == "800000.00", financed.text

    # capacity 2 x 600,000,000 / 12 = 100,000,000; grade cap 75,000,000; EL cap 100,000 / (0.003 x 0.45)
    # = 74,074,074 binds; the debtor cap leaves 120,000,000 - 80,000,000 = 40,000,000 -> referred (> 25,000,000)
    applied = _post(client, "/v1/credit-lines/applications", {"buyer_id": debtor}, checkout, "apply")
    assert applied.status_code == 201, applied.text
    assert (applied.json()["status"], applied.json()["limit"]) == ("referred", "400000.00")
    assert _codes(applied.json()) == ["limit_by_expected_loss", "limit_by_concentration", "refer_above_amount"]

    # meanwhile an order it buys is financed: rate(B, B) 0.85 x 1,000,000 = 850,000 -> it owes 80,850,000
    order_supplier = make_scored_firm(engine, 0.003, roles="supplier", **_RECORD)
    order = make_order(engine, debtor, order_supplier, 1_000_000)
    advanced = _post(client, f"{ORDERS}/requests", {"order_id": order, "supplier_id": order_supplier,
                                                    "buyer_id": debtor, "amount": "10000.00", "tenor_days": 60},
                     checkout, "order")
    assert advanced.status_code == 201 and advanced.json()["advance"] == "8500.00", advanced.text

    review = f"/v1/credit-lines/applications/{applied.json()['decision_id']}/review"
    refused = _post(client, review, {"action": "approve", "reason": "Known customer"}, finance, "rev-1")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "concentration_cap_exceeded"
    assert refused.json()["error"]["details"] == {"limit": "400000.00", "cap": "1200000.00",
                                                  "financings_owed": "808500.00", "max_limit": "391500.00"}
    reviewed = _post(client, review, {"action": "change_limit", "limit": "391500.00", "reason": "Within the cap"},
                     finance, "rev-2")
    assert reviewed.status_code == 200, reviewed.text
    line = reviewed.json()["line_id"]
    assert (reviewed.json()["status"], reviewed.json()["review"]["limit"]) == ("reviewed", "391500.00")

    raised = _post(client, f"/v1/credit-lines/{line}/limit", {"limit": "391500.01", "reason": "More"}, finance, "l1")
    assert raised.status_code == 409 and raised.json()["error"]["code"] == "concentration_cap_exceeded", raised.text
    lowered = _post(client, f"/v1/credit-lines/{line}/limit", {"limit": "300000.00", "reason": "Less"}, finance, "l2")
    assert lowered.status_code == 200 and lowered.json()["limit"] == "300000.00", lowered.text

    with Session(engine) as session:
        assert firm_exposure(session, debtor).as_debtor == 30_000_000 + 80_850_000
        for decided in (financed, applied, advanced, lowered):
            assert replay(session, decided.json()["decision_id"]).same
        assert replay(session, reviewed.json()["review"]["decision_id"]).same


def _race(app, path: str, bodies: list[dict], key: str) -> list[httpx.Response]:  # noqa: ANN001
    """Post every body at once from its own thread to a real server, each with its own Idempotency-Key."""
    start = threading.Barrier(len(bodies))
    with LiveServer(app) as server:
        def post(i: int) -> httpx.Response:
            with httpx.Client(base_url=server.url, timeout=120) as http:
                start.wait()
                return http.post(path, json=bodies[i], headers=auth(key) | {"Idempotency-Key": f"race-{i}"})

        with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
            return list(pool.map(post, range(len(bodies))))


def _outcomes(responses: list[httpx.Response]) -> Counter:
    assert all(response.status_code in (200, 201) for response in responses), [r.text for r in responses]
    return Counter((r.status_code, r.json()["status"], r.json()["advance"]) for r in responses)


@pytest.fixture
def served_app(store_settings):  # noqa: ANN001, ANN201
    app = create_app(store_settings)
    app.state.serving_model = SERVED
    with TestClient(app):  # runs the app's startup: migrations
        pass
    return app


def test_32_concurrent_receivable_requests_against_one_debtors_cap(served_app):
    app, engine = served_app, served_app.state.engine
    key = make_key(app, "checkout")
    debtor = _debtor(engine, line_minor=100_000_000)  # 20,000,000 left under the cap of 120,000,000
    supplier = make_scored_firm(engine, 0.01, roles="supplier")
    invoices = [make_invoice(engine, supplier, debtor, 1_000_000) for _ in range(THREADS)]  # 10,000.00 each

    responses = _race(app, f"{RECEIVABLES}/requests", [{"invoice_id": invoice} for invoice in invoices], key)

    # 0.88 x 1,000,000 = 880,000 each: 22 fit (19,360,000), the 23rd gets the last 640,000, 9 get nothing
    assert _outcomes(responses) == Counter({(201, "booked", "8800.00"): 22, (201, "booked", "6400.00"): 1,
                                            (200, "declined", "0.00"): 9})
    for response in responses:
        if response.json()["advance"] != "8800.00":
            assert "debtor_concentration_cap" in _codes(response.json()), response.text
    with Session(engine) as session:
        booked = session.scalar(select(func.sum(Financing.advance_minor)).where(Financing.buyer_id == debtor))
        assert booked == 20_000_000
        assert firm_exposure(session, debtor).as_debtor == 120_000_000
        assert all(replay(session, r.json()["decision_id"]).same for r in responses)


def test_32_concurrent_order_financing_requests_against_one_suppliers_cap(served_app):
    app, engine = served_app, served_app.state.engine
    key = make_key(app, "checkout")
    buyer = _debtor(engine)  # B
    supplier = make_scored_firm(engine, 0.05, roles="supplier", **_RECORD)  # F: supplier cap 20,000,000
    orders = [make_order(engine, buyer, supplier, 2_000_000) for _ in range(THREADS)]
    bodies = [{"order_id": order, "supplier_id": supplier, "buyer_id": buyer, "amount": "20000.00", "tenor_days": 60}
              for order in orders]

    responses = _race(app, f"{ORDERS}/requests", bodies, key)

    # rate(B, F) 0.60 x 2,000,000 = 1,200,000 each: 16 fit (19,200,000), the 17th gets the last 800,000
    # (above the minimum 100,000), 15 get nothing; the buyer's caps (50,000,000 and 120,000,000) never bind
    assert _outcomes(responses) == Counter({(201, "booked", "12000.00"): 16, (201, "booked", "8000.00"): 1,
                                            (200, "declined", "0.00"): 15})
    for response in responses:
        if response.json()["advance"] != "12000.00":
            assert "supplier_concentration_cap" in _codes(response.json()), response.text
    with Session(engine) as session:
        booked = session.scalar(select(func.sum(Financing.advance_minor)).where(Financing.supplier_id == supplier))
        assert booked == 20_000_000
        assert firm_exposure(session, supplier).as_supplier == 20_000_000
        assert all(replay(session, r.json()["decision_id"]).same for r in responses)


def test_a_line_raise_racing_31_receivable_requests_never_takes_the_debtor_past_its_cap(served_app):
    app, engine = served_app, served_app.state.engine
    checkout, finance = make_key(app, "checkout"), make_key(app, "finance")
    debtor = _debtor(engine, line_minor=90_000_000)
    with Session(engine) as session:
        line = session.scalar(select(CreditLine.line_id).where(CreditLine.firm_id == debtor))
    supplier = make_scored_firm(engine, 0.01, roles="supplier")
    with TestClient(app) as client:  # 0.88 x 22,159,091 = 19,500,000.08 -> 19,500,000 owed before the race
        first = _post(client, f"{RECEIVABLES}/requests",
                      {"invoice_id": make_invoice(engine, supplier, debtor, 22_159_091)}, checkout, "first")
        assert first.json()["advance"] == "195000.00", first.text
    # left under the cap: 120,000,000 - 90,000,000 - 19,500,000 = 10,500,000. The raise to 100,000,000 fits
    # only before any other advance (it needs 19,500,000 owed at most); every booking of 880,000 fits only
    # while the line is 90,000,000
    invoices = [make_invoice(engine, supplier, debtor, 1_000_000) for _ in range(THREADS - 1)]
    requests = [(f"{RECEIVABLES}/requests", {"invoice_id": invoice}, checkout) for invoice in invoices]
    requests.insert(THREADS // 2, (f"/v1/credit-lines/{line}/limit", {"limit": "1000000.00", "reason": "Raise"},
                                   finance))
    start = threading.Barrier(THREADS)
    with LiveServer(app) as server:
        def post(i: int) -> httpx.Response:
            path, body, key = requests[i]
            with httpx.Client(base_url=server.url, timeout=120) as http:
                start.wait()
                return http.post(path, json=body, headers=auth(key) | {"Idempotency-Key": f"mixed-{i}"})

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            responses = list(pool.map(post, range(THREADS)))

    raised = responses.pop(THREADS // 2)
    assert raised.status_code in (200, 409), raised.text
    if raised.status_code == 200:  # first: 500,000 left, one advance gets it
        expected = Counter({(201, "booked", "5000.00"): 1, (200, "declined", "0.00"): 30})
    else:  # after a booking: 11 x 880,000 = 9,680,000, one more gets the last 820,000
        assert raised.json()["error"]["code"] == "concentration_cap_exceeded"
        expected = Counter({(201, "booked", "8800.00"): 11, (201, "booked", "8200.00"): 1,
                            (200, "declined", "0.00"): 19})
    assert _outcomes(responses) == expected
    with Session(engine) as session:
        exposure = firm_exposure(session, debtor)
        assert exposure.line == (100_000_000 if raised.status_code == 200 else 90_000_000)
        assert exposure.as_debtor == 120_000_000
