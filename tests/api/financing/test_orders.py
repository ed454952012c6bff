"""Order financing: a quote worked out by hand, a booking, and what is refused."""

from __future__ import annotations

from sqlalchemy.orm import Session

from credit.audit import replay
from tests.api.conftest import auth
from tests.api.financing.factories import make_order, make_scored_firm

QUOTES, REQUESTS = "/v1/financing/orders/quotes", "/v1/financing/orders/requests"
_RECORD = {"supplier_sale_count_365d": 20.0, "supplier_cancellation_rate_365d": 0.02,
           "supplier_return_rate_365d": 0.01, "supplier_dispute_rate_365d": 0.0}


def _parties(engine) -> tuple[int, int]:  # noqa: ANN001
    return (make_scored_firm(engine, 0.003, roles="buyer"),  # grade B
            make_scored_firm(engine, 0.003, roles="supplier", **_RECORD))  # grade B, a clean record


def test_a_confirmed_order_is_quoted_by_hand_and_booked_once(financing_client, financing_app, financing_keys):
    client, key = financing_client, financing_keys["checkout"]
    buyer, supplier = _parties(financing_app.state.engine)
    order = make_order(financing_app.state.engine, buyer, supplier, 1_200_000)
    body = {"order_id": order, "supplier_id": supplier, "buyer_id": buyer, "amount": "10000.00", "tenor_days": 60}
    quoted = client.post(QUOTES, json=body, headers=auth(key))
    assert quoted.status_code == 200, quoted.text
    quote = quoted.json()
    # rate(B, B) = 0.85, no record adjustment -> 8,500.00; PD = 1 - 0.997^2 = 0.005991;
    # fee rate = (0.005991 x 0.45 + 0.08) x 60 / 365 = 0.013594 -> 8,500.00 x 0.013594 = 115.55
    assert (quote["status"], quote["buyer_grade"], quote["supplier_grade"]) == ("quoted", "B", "B")
    assert (quote["advance_rate"], quote["advance"], quote["fee_rate"], quote["fee"]) == (
        "0.85", "8500.00", "0.013594", "115.55")

    booked = client.post(REQUESTS, json=body, headers=auth(key) | {"Idempotency-Key": "o-1"})
    assert booked.status_code == 201 and booked.json()["financing_id"] is not None, booked.text
    again = client.post(REQUESTS, json=body, headers=auth(key) | {"Idempotency-Key": "o-2"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "order_already_financed"
    with Session(financing_app.state.engine) as session:
        assert replay(session, quote["decision_id"]).same and replay(session, booked.json()["decision_id"]).same


def test_an_unconfirmed_order_or_one_of_other_parties_is_not_financed(financing_client, financing_app, financing_keys):
    client, key = financing_client, financing_keys["finance"]
    buyer, supplier = _parties(financing_app.state.engine)
    order = make_order(financing_app.state.engine, buyer, supplier, 1_200_000, confirmed=False)
    body = {"order_id": order, "supplier_id": supplier, "buyer_id": buyer, "amount": "10000.00", "tenor_days": 60}
    declined = client.post(REQUESTS, json=body, headers=auth(key) | {"Idempotency-Key": "u-1"})
    assert declined.status_code == 200 and declined.json()["status"] == "declined", declined.text
    assert declined.json()["reason_codes"][0]["code"] == "po_not_confirmed"
    mismatch = client.post(QUOTES, json=body | {"buyer_id": supplier}, headers=auth(key))
    assert mismatch.status_code == 409 and mismatch.json()["error"]["code"] == "order_parties_mismatch"
    too_much = client.post(QUOTES, json=body | {"amount": "12000.01"}, headers=auth(key))
    assert too_much.status_code == 409 and too_much.json()["error"]["code"] == "amount_above_order"
    long = client.post(QUOTES, json=body | {"tenor_days": 121}, headers=auth(key))
    assert "tenor_too_long" in [r["code"] for r in long.json()["reason_codes"]]
