"""32 clients at once accept one seller's loan offer against its supplier concentration cap (both stores).

A real uvicorn serves the app (in this process, and as two worker processes) at a fixed clock.
The seller has the worked offer of 12,500.00 (:func:`tests.financing.loan_factories.seller_with_history`)
and, booked since, an approved order advance of 1,489,000.00 made to it: grade C's supplier cap
of 1,500,000.00 leaves 11,000.00. Then 32 client threads, released together, each with its own
Idempotency-Key, accept the offer: 16 for 12,000.00 (over the headroom) and 16 for 10,000.00.

No answer may be a 5xx. Exactly one acceptance books a loan, of 10,000.00; every other is 409,
``offer_already_accepted`` or ``supplier_concentration_cap`` (never a 12,000.00 booking); the
seller's exposure as supplier is within its cap, and the offer is accepted once.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime

import httpx
import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from api.kit.auth import create_api_key
from credit import clock
from credit.financing.exposure import firm_exposure
from credit.financing.offers import run_offers
from credit.financing.tables import Financing, LoanOffer
from credit.policy import default_policy
from credit.settings import Settings
from credit.store.tables import Order
from tests.api.checkout.server import ServerProcess
from tests.api.conftest import LiveServer, auth, build_app
from tests.financing import loan_factories as factories
from tests.financing.loan_factories import AS_OF, seller_with_history

T0 = datetime(2027, 3, 16, 10)
THREADS = 32
CAP = 150_000_000  # grade C's concentration.per_supplier_minor


def _prepare(engine) -> tuple[int, int]:  # noqa: ANN001
    with Session(engine) as session, session.begin():
        seller, _ = seller_with_history(session)
        buyer = factories.firm(session)
        with clock.frozen(datetime(2027, 3, 16, 0, 30)):
            run_offers(session, AS_OF, default_policy())
        offer = session.execute(select(LoanOffer.offer_id).where(LoanOffer.firm_id == seller)).scalar_one()
        session.execute(insert(Order).values(order_id=990_100, buyer_id=buyer, supplier_id=seller,
                                             created_at=datetime(2027, 3, 10), amount_minor=160_000_000,
                                             category="parts", payment_terms="net30"))
        session.add(Financing(kind="order", decision_id="order-advance", supplier_id=seller, buyer_id=buyer,
                              order_id=990_100, face_minor=160_000_000, advance_minor=148_900_000, fee_minor=0,
                              tenor_days=30, status="approved", actor="test", created_at=T0, updated_at=T0))
    return seller, offer


@pytest.mark.parametrize("workers", [None, 2], ids=["in-process", "two-workers"])
def test_32_concurrent_acceptances_of_one_offer_keep_the_supplier_cap(store, workers):
    url = store.url.render_as_string(hide_password=False)
    with Session(store) as session, session.begin():
        _, key = create_api_key(session, "marketplace", "checkout")
    seller, offer = _prepare(store)
    amounts = ["12000.00", "10000.00"] * (THREADS // 2)
    start = threading.Barrier(THREADS)
    with ExitStack() as stack:
        if workers is None:
            stack.enter_context(clock.frozen(T0))
            server = stack.enter_context(LiveServer(build_app(Settings(database_url=url))))
        else:
            process = ServerProcess(url, workers=workers)
            process.env["CREDIT_NOW"] = T0.isoformat()
            server = stack.enter_context(process)

        def send(i: int) -> httpx.Response:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                start.wait()
                return http.post(f"/v1/loan-offers/{offer}/acceptances", json={"amount": amounts[i]},
                                 headers=auth(key) | {"Idempotency-Key": f"accept-{i}"})

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            responses = list(pool.map(send, range(THREADS)))

    answers = [(amount, r.status_code, r.json().get("error", {}).get("code") if r.status_code >= 400 else None)
               for amount, r in zip(amounts, responses, strict=True)]
    assert all(status < 500 for _, status, _ in answers), answers
    booked = [(amount, r.json()) for amount, r in zip(amounts, responses, strict=True) if r.status_code == 201]
    assert [(amount, loan["amount"], loan["fee"]) for amount, loan in booked] == [("10000.00", "10000.00", "600.00")]
    refused = Counter((amount, code) for amount, status, code in answers if status != 201)
    assert all(status == 409 for _, status, _ in answers if status != 201)
    assert set(refused) <= {("12000.00", "supplier_concentration_cap"), ("12000.00", "offer_already_accepted"),
                            ("10000.00", "offer_already_accepted")}, refused
    assert sum(refused.values()) == THREADS - 1
    with Session(store) as session:
        loans = session.execute(select(Financing).where(Financing.kind == "loan")).scalars().all()
        assert [(f.supplier_id, f.paid_out_minor, f.status) for f in loans] == [(seller, 1_000_000, "paid_out")]
        assert session.get(LoanOffer, offer).status == "accepted"
        exposure = firm_exposure(session, seller)
        assert exposure.as_supplier == 148_900_000 + 1_000_000 <= CAP
