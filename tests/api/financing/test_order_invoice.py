"""The invoice of an order financed already carries that advance: a receivables quote sees it as financed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from credit import clock
from credit.financing.tables import Financing
from credit.store.tables import Invoice
from tests.api.conftest import auth
from tests.api.financing.factories import make_order, make_scored_firm

_RECORD = {"supplier_sale_count_365d": 20.0, "supplier_cancellation_rate_365d": 0.02,
           "supplier_return_rate_365d": 0.01, "supplier_dispute_rate_365d": 0.0}


def _invoice_of(engine, order_id: int, buyer: int, supplier: int, invoice_id: int) -> int:  # noqa: ANN001
    now = clock.now()
    with Session(engine) as session, session.begin():
        session.execute(insert(Invoice).values(
            invoice_id=invoice_id, order_id=order_id, supplier_id=supplier, buyer_id=buyer,
            issued_at=now - timedelta(days=1), due_at=now + timedelta(days=29), amount_minor=1_200_000))
    return invoice_id


def test_the_invoice_of_an_order_financed_is_already_financed_unless_the_order_financing_was_cancelled(
        financing_client, financing_app, financing_keys):
    client, key, engine = financing_client, financing_keys["checkout"], financing_app.state.engine
    buyer = make_scored_firm(engine, 0.003, roles="buyer", buyer_return_rate_365d=0.01)
    supplier = make_scored_firm(engine, 0.003, roles="supplier", **_RECORD)
    order = make_order(engine, buyer, supplier, 1_200_000)
    booked = client.post("/v1/financing/orders/requests", headers=auth(key) | {"Idempotency-Key": "oi-1"}, json={
        "order_id": order, "supplier_id": supplier, "buyer_id": buyer, "amount": "10000.00", "tenor_days": 60})
    assert booked.status_code == 201, booked.text
    invoice = _invoice_of(engine, order, buyer, supplier, 91_001)

    quoted = client.post("/v1/financing/receivables/quotes", json={"invoice_id": invoice}, headers=auth(key))
    assert quoted.status_code == 200, quoted.text
    assert (quoted.json()["outcome"], quoted.json()["advance"]) == ("decline", "0.00")
    assert [r["code"] for r in quoted.json()["eligibility_reasons"]] == ["invoice_already_financed"]
    request = client.post("/v1/financing/receivables/requests", json={"invoice_id": invoice},
                          headers=auth(key) | {"Idempotency-Key": "oi-2"})
    assert request.status_code == 200 and request.json()["financing_id"] is None, request.text

    with Session(engine) as session, session.begin():  # the order financing is cancelled, never paid out
        session.execute(update(Financing).where(Financing.financing_id == booked.json()["financing_id"])
                        .values(status="cancelled"))
    again = client.post("/v1/financing/receivables/quotes", json={"invoice_id": invoice}, headers=auth(key))
    assert again.json()["outcome"] == "approve", again.text
