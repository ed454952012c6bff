"""Who may call checkout credit: the checkout system and admins move exposure; repayments the payment system,
finance and admins, never the checkout key."""

from __future__ import annotations

import pytest

from tests.api.checkout.factories import make_buyer_with_line
from tests.api.conftest import auth


@pytest.fixture
def line(client, app, keys):  # noqa: ANN001, ANN201
    buyer, line_id = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    held = client.post("/v1/checkout/authorizations",
                       json={"buyer_id": buyer, "order_reference": "PO-1", "amount": "100.00"},
                       headers=auth(keys["checkout"]) | {"Idempotency-Key": "setup"})
    hold = held.json()["hold_id"]  # the checkout key's own hold: it sees it, as the back office does
    client.post(f"/v1/checkout/authorizations/{hold}/captures", json={"amount": "100.00", "shipment_reference": "S"},
                headers=auth(keys["checkout"]) | {"Idempotency-Key": "setup-capture"})
    return {"buyer": buyer, "line": line_id, "hold": hold}


def _requests(line):  # noqa: ANN001, ANN202
    hold, buyer = line["hold"], line["buyer"]
    return {
        "precheck": ("post", "/v1/checkout/prechecks", {"buyer_id": buyer, "amount": "1.00"}),
        "authorize": ("post", "/v1/checkout/authorizations", {"buyer_id": buyer, "order_reference": "PO-2", "amount": "1.00"}),
        "capture": ("post", f"/v1/checkout/authorizations/{hold}/captures", {"amount": "1.00", "shipment_reference": "S"}),
        "void": ("post", f"/v1/checkout/authorizations/{hold}/void", None),
        "refund": ("post", f"/v1/checkout/authorizations/{hold}/refunds", {"amount": "1.00"}),
        "read": ("get", f"/v1/checkout/authorizations/{hold}", None),
        "repay": ("post", f"/v1/credit-lines/{line['line']}/repayments", {"amount": "1.00", "reference": "P"}),
    }


ALLOWED = {
    "precheck": {"checkout", "admin"}, "authorize": {"checkout", "admin"}, "capture": {"checkout", "admin"},
    "void": {"checkout", "admin"}, "refund": {"checkout", "admin"},
    "read": {"checkout", "finance", "analyst", "admin"}, "repay": {"payments", "finance", "admin"},
}


@pytest.mark.parametrize("role", ["checkout", "payments", "finance", "analyst", "admin"])
@pytest.mark.parametrize("operation", sorted(ALLOWED))
def test_each_role_may_call_exactly_its_operations(client, keys, line, role, operation):
    method, path, body = _requests(line)[operation]
    headers = auth(keys[role]) | {"Idempotency-Key": f"{role}-{operation}"}
    response = client.get(path, headers=headers) if method == "get" else client.post(path, json=body, headers=headers)
    if role in ALLOWED[operation]:
        assert response.status_code < 400 or response.json()["error"]["code"] not in ("forbidden", "unauthenticated")
    else:
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"


def test_a_call_without_a_key_is_unauthenticated(client, line):
    response = client.post("/v1/checkout/prechecks", json={"buyer_id": line["buyer"], "amount": "1.00"})
    assert response.status_code == 401


def test_a_checkout_key_cannot_book_a_repayment_and_the_headroom_stays_taken(client, app, keys):
    # Seen: a checkout key booked a 68,700.00 "repayment" for a payment that never existed and
    # freed the buyer's headroom. 70,000.00 limit, 68,700.00 held and captured: 1,300.00 available.
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=7_000_000)
    checkout = auth(keys["checkout"])
    held = client.post("/v1/checkout/authorizations",
                       json={"buyer_id": buyer, "order_reference": "PO-687", "amount": "68700.00"},
                       headers=checkout | {"Idempotency-Key": "hold"})
    client.post(f"/v1/checkout/authorizations/{held.json()['hold_id']}/captures",
                json={"amount": "68700.00", "shipment_reference": "SHIP-687"},
                headers=checkout | {"Idempotency-Key": "capture"})

    refused = client.post(f"/v1/credit-lines/{line}/repayments",
                          json={"amount": "68700.00", "reference": "no-such-payment"},
                          headers=checkout | {"Idempotency-Key": "repay"})

    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    after = client.get(f"/v1/checkout/authorizations/{held.json()['hold_id']}", headers=checkout).json()["balances"]
    assert after == {"limit": "70000.00", "posted": "68700.00", "pending": "0.00", "available": "1300.00"}
