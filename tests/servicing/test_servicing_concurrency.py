"""32 clients at once on one line over HTTP: half ship orders (captures), half send repayments.

A real uvicorn serves the app (in this process, and as two worker processes) on a SQLite file
and on PostgreSQL, at a fixed clock. The line starts with twelve authorized orders and four
shipped ones (booked straight in the store, earlier). Then 32 client threads, released
together, each with its own Idempotency-Key:

- 16 capture with the checkout key: eight orders shipped whole (5,000.00) by one client each,
  and four orders each claimed by two clients shipping 3,000.00 of its 5,000.00, so exactly
  one of each pair gets 409 ``capture_exceeds_hold`` (the documented refusal);
- 16 book repayments of 1,500.00 with the payment system's key (role ``payments``): twelve paid
  oldest due first, four naming one of the shipped orders' receivables.

No answer may be a 5xx. Afterwards the book's invariants (:mod:`tests.servicing.invariants`)
hold, the receivables and the money received are exactly what the successful answers say,
and each repayment's allocations in the journal are the ones its answer reported.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.orm import Session

from api.kit.auth import create_api_key
from credit import clock, ledger
from credit.policy import default_policy
from credit.servicing import receivables
from credit.settings import Settings
from tests.api.checkout.factories import make_buyer_with_line
from tests.api.checkout.server import ServerProcess
from tests.api.conftest import LiveServer, auth, build_app
from tests.servicing import invariants

T0 = datetime(2027, 6, 14, 10, 0)
"""The servers' clock: the orders were authorized and the first four shipped in the days before."""
CHECKOUT = "checkout-frontend"
THREADS = 32


def _prepare(engine) -> tuple[int, list[int], list[int]]:  # noqa: ANN001
    """A line (limit 100,000.00) with 12 orders of 5,000.00 authorized and 4 of 2,000.00 shipped, oldest due first."""
    _, line = make_buyer_with_line(engine, limit_minor=10_000_000)
    with Session(engine) as session, session.begin():
        holds = [ledger.authorize(session, line, 500_000, order_reference=f"PO-{i}", authorized_by=CHECKOUT,
                                  terms_days=30, now=T0 - timedelta(days=2)).hold_id for i in range(12)]
        shipped = []
        for i in range(4):  # shipped 10, 9, 8, 7 days ago: the first is due first
            when = T0 - timedelta(days=10 - i)
            hold = ledger.authorize(session, line, 200_000, order_reference=f"PO-SHIPPED-{i}", authorized_by=CHECKOUT,
                                    terms_days=30, now=when).hold_id
            shipped.append(receivables.book_capture(session, hold_id=hold, amount_minor=200_000,
                                                    shipment_reference=f"SHIP-EARLIER-{i}", authorized_by=None,
                                                    policy=default_policy(), now=when)[1])
    return line, holds, shipped


def _requests(line: int, holds: list[int], shipped: list[int]) -> list[tuple[str, str, dict]]:
    """The 32 requests, captures and repayments interleaved: (kind, path, body)."""
    captures = [(f"/v1/checkout/authorizations/{holds[i]}/captures", {"amount": "5000.00"}) for i in range(8)]
    for i in range(8, 12):  # two clients race for each of these orders' 5,000.00
        captures += [(f"/v1/checkout/authorizations/{holds[i]}/captures", {"amount": "3000.00"})] * 2
    payments = [(f"/v1/credit-lines/{line}/repayments", {"amount": "1500.00"}) for _ in range(12)]
    payments += [(f"/v1/credit-lines/{line}/repayments", {"amount": "1500.00", "receivable_ids": [rid]})
                 for rid in shipped]
    requests = []
    for i, ((capture_path, capture), (payment_path, payment)) in enumerate(zip(captures, payments, strict=True)):
        requests.append(("capture", capture_path, capture | {"shipment_reference": f"SHIP-{i}"}))
        requests.append(("repayment", payment_path, payment | {"reference": f"PAY-{i}"}))
    return requests


def _storm(url: str, workers: int | None, requests: list[tuple[str, str, dict]],
           keys: dict[str, str]) -> list[httpx.Response]:
    """Serve the app at T0 (in this process, or as ``workers`` processes) and send every request at once."""
    start = threading.Barrier(len(requests))
    with ExitStack() as stack:
        if workers is None:
            stack.enter_context(clock.frozen(T0))
            server = stack.enter_context(LiveServer(build_app(Settings(database_url=url))))
        else:
            process = ServerProcess(url, workers=workers)
            process.env["CREDIT_NOW"] = T0.isoformat()
            server = stack.enter_context(process)

        def send(i: int) -> httpx.Response:
            kind, path, body = requests[i]
            with httpx.Client(base_url=server.url, timeout=60) as http:
                start.wait()
                return http.post(path, json=body, headers=auth(keys[kind]) | {"Idempotency-Key": f"{kind}-{i}"})

        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            return list(pool.map(send, range(len(requests))))


def _minor(amount: str) -> int:
    return int(Decimal(amount) * 100)


@pytest.mark.parametrize("workers", [None, 2], ids=["in-process", "two-workers"])
def test_32_concurrent_captures_and_repayments_on_one_line_keep_the_book_whole(store, workers):
    url = store.url.render_as_string(hide_password=False)
    engine = store
    with Session(engine) as session, session.begin():
        _, checkout_key = create_api_key(session, CHECKOUT, "checkout")
        _, payments_key = create_api_key(session, "payment-system", "payments")
    line, holds, shipped = _prepare(engine)
    requests = _requests(line, holds, shipped)
    responses = _storm(url, workers, requests, {"capture": checkout_key, "repayment": payments_key})

    answers = [(kind, r.status_code, r.json().get("error", {}).get("code"))
               for (kind, _, _), r in zip(requests, responses, strict=True)]
    assert Counter(answers) == Counter({("capture", 200, None): 12, ("capture", 409, "capture_exceeds_hold"): 4,
                                        ("repayment", 201, None): 16}), answers
    captured = [(r.json()["receivable_id"], _minor(body["amount"]))
                for (kind, _, body), r in zip(requests, responses, strict=True) if kind == "capture" and r.status_code == 200]
    paid = [r.json() for (kind, _, _), r in zip(requests, responses, strict=True) if kind == "repayment"]
    # 8 x 5,000.00 + 4 x 3,000.00 shipped now; 16 x 1,500.00 received
    assert sum(amount for _, amount in captured) == 5_200_000
    assert sum(_minor(p["amount"]) for p in paid) == 2_400_000

    with Session(engine) as session:
        book = invariants.receivables(session)
        exposure = invariants.assert_exposure(session, [line])[line]
        invariants.assert_allocations(session)
        money = invariants.assert_money_received(session, line)
        invariants.assert_credit_and_returns(session)

        # the receivables are the four shipped earlier and one per successful capture, for its amount
        assert sorted(book) == sorted(shipped + [rid for rid, _ in captured])
        assert {rid: book[rid].principal for rid, _ in captured} == dict(captured)
        assert invariants.hold_transfers(session)[holds[8]]["post"] == 300_000
        # every successful repayment is received; its money went where its answer said, and what it
        # left as credit paid later captures (or is still credit)
        booked = invariants.repayments(session)
        assert sorted(booked) == sorted(p["repayment_id"] for p in paid)
        for p in paid:
            journal = invariants.allocations_by_reason(session, p["repayment_id"])
            answered = {(a["receivable_id"], a["part"]): _minor(a["amount"]) for a in p["allocations"]}
            assert journal["payment"] == answered, p
            assert set(journal) <= {"payment", "credit"}, journal
            later = sum(journal["credit"].values()) if "credit" in journal else 0
            assert booked[p["repayment_id"]].credit == 150_000 - sum(answered.values()) - later, p
        assert money.received == 2_400_000 and money.refunded == 0
        # the default policy has the merchant pay the terms fee: only principal is owed, so what was
        # allocated is principal repaid: 800,000 shipped earlier + 5,200,000 now - allocated
        assert exposure == 6_000_000 - money.allocated
        line_now = invariants.line_row(session, line)
        assert (line_now.posted_minor, line_now.pending_minor) == (exposure, 4 * 200_000)


def test_refunds_and_repayments_at_once_on_one_line_neither_deadlock_nor_lock_the_database(store):
    # A refund reads the order's receivables before it writes: on SQLite it must take the write
    # lock first (two workers: "database is locked"), and on PostgreSQL its lock on the order
    # must not block a repayment's foreign-key checks on it (a deadlock).
    url = store.url.render_as_string(hide_password=False)
    with Session(store) as session, session.begin():
        _, checkout_key = create_api_key(session, CHECKOUT, "checkout")
        _, payments_key = create_api_key(session, "payment-system", "payments")
    _, line = make_buyer_with_line(store, limit_minor=10_000_000)
    with Session(store) as session, session.begin():
        holds = []
        for i in range(16):  # 2,000.00 shipped 20, 19, ... 5 days ago
            when = T0 - timedelta(days=20 - i)
            holds.append(ledger.authorize(session, line, 200_000, order_reference=f"PO-{i}", authorized_by=CHECKOUT,
                                          terms_days=30, now=when).hold_id)
            receivables.book_capture(session, hold_id=holds[-1], amount_minor=200_000, shipment_reference=f"SHIP-{i}",
                                     authorized_by=None, policy=default_policy(), now=when)
    requests = []
    for i, hold in enumerate(holds):
        requests.append(("refund", f"/v1/checkout/authorizations/{hold}/refunds", {"amount": "500.00", "reference": f"CN-{i}"}))
        requests.append(("repayment", f"/v1/credit-lines/{line}/repayments", {"amount": "700.00", "reference": f"PAY-{i}"}))

    responses = _storm(url, 2, requests, {"refund": checkout_key, "repayment": payments_key})

    answers = Counter((kind, r.status_code) for (kind, _, _), r in zip(requests, responses, strict=True))
    assert answers == Counter({("refund", 200): 16, ("repayment", 201): 16}), [r.text for r in responses]
    with Session(store) as session:
        exposure = invariants.assert_exposure(session, [line])[line]
        invariants.assert_allocations(session)
        money = invariants.assert_money_received(session, line)
        invariants.assert_credit_and_returns(session)
        # 16 x 2,000.00 shipped, 16 x 500.00 refunded, 16 x 700.00 received (and not refunded to the buyer)
        transfers = invariants.hold_transfers(session)
        assert sum(transfers[hold]["refund"] for hold in holds) == 800_000
        assert money.received == 1_120_000 and money.refunded == 0
        assert exposure == 3_200_000 - 800_000 - money.allocated
