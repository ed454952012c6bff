"""Refused checkout requests: each a 4xx with a machine code, never a 500, and nothing booked."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from credit.ledger import balances
from tests.api.checkout.factories import make_buyer_with_line
from tests.api.conftest import auth


def _authorize(client, key, buyer, amount="400.00", idem="a"):  # noqa: ANN001, ANN202
    return client.post("/v1/checkout/authorizations",
                       json={"buyer_id": buyer, "order_reference": f"PO-{idem}", "amount": amount},
                       headers=auth(key) | {"Idempotency-Key": idem})


@pytest.fixture
def hold(client, app, keys):  # noqa: ANN001, ANN201
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    response = _authorize(client, keys["checkout"], buyer)
    return {"buyer": buyer, "line": line, "hold": response.json()["hold_id"]}


def _code(response) -> tuple[int, str]:  # noqa: ANN001
    return response.status_code, response.json()["error"]["code"]


def test_capturing_more_than_the_hold_still_reserves_is_a_conflict(client, keys, hold):
    response = client.post(f"/v1/checkout/authorizations/{hold['hold']}/captures",
                           json={"amount": "400.01", "shipment_reference": "S"},
                           headers=auth(keys["checkout"]) | {"Idempotency-Key": "over"})
    assert _code(response) == (409, "capture_exceeds_hold")
    assert response.json()["error"]["details"]["remaining"] == "400.00"


def test_capturing_a_voided_hold_is_a_conflict(client, keys, hold):
    headers = auth(keys["checkout"])
    client.post(f"/v1/checkout/authorizations/{hold['hold']}/void", headers=headers | {"Idempotency-Key": "v"})
    response = client.post(f"/v1/checkout/authorizations/{hold['hold']}/captures",
                           json={"amount": "1.00", "shipment_reference": "S"}, headers=headers | {"Idempotency-Key": "c"})
    assert _code(response) == (409, "hold_not_pending")
    again = client.post(f"/v1/checkout/authorizations/{hold['hold']}/void", headers=headers | {"Idempotency-Key": "v2"})
    assert _code(again) == (409, "hold_not_pending")


def test_refunding_more_than_was_captured_is_a_conflict(client, keys, hold):
    response = client.post(f"/v1/checkout/authorizations/{hold['hold']}/refunds", json={"amount": "1.00"},
                           headers=auth(keys["checkout"]) | {"Idempotency-Key": "r"})
    assert _code(response) == (409, "refund_exceeds_captured")


@pytest.mark.parametrize("method, path, body", [
    ("get", "/v1/checkout/authorizations/999999", None),
    ("post", "/v1/checkout/authorizations/999999/captures", {"amount": "1.00", "shipment_reference": "S"}),
    ("post", "/v1/checkout/authorizations/999999/void", None),
    ("post", "/v1/checkout/authorizations/999999/refunds", {"amount": "1.00"}),
])
def test_an_unknown_hold_is_not_found(client, keys, method, path, body):
    headers = auth(keys["checkout"]) | {"Idempotency-Key": "x"}
    response = client.get(path, headers=headers) if method == "get" else client.post(path, json=body, headers=headers)
    assert _code(response) == (404, "hold_not_found")


def test_repaying_an_unknown_line_is_not_found(client, keys):
    response = client.post("/v1/credit-lines/999999/repayments", json={"amount": "1.00", "reference": "P"},
                           headers=auth(keys["finance"]) | {"Idempotency-Key": "p"})
    assert _code(response) == (404, "line_not_found")


@pytest.mark.parametrize("body", [
    {"buyer_id": 1, "order_reference": "PO", "amount": 12.5},
    {"buyer_id": 1, "order_reference": "PO", "amount": "-1.00"},
    {"buyer_id": 1, "order_reference": "PO", "amount": "1.001"},
    {"buyer_id": 1, "order_reference": "PO", "amount": "0"},
    {"buyer_id": 0, "order_reference": "PO", "amount": "1.00"},
    {"buyer_id": 1, "order_reference": "", "amount": "1.00"},
    {"buyer_id": 1, "order_reference": "x" * 101, "amount": "1.00"},
    {"buyer_id": 1, "order_reference": "PO", "amount": "1.00", "extra": True},
    {"buyer_id": 1, "amount": "1.00"},
])
def test_an_invalid_authorization_body_is_422(client, keys, body):
    response = client.post("/v1/checkout/authorizations", json=body,
                           headers=auth(keys["checkout"]) | {"Idempotency-Key": "bad"})
    assert _code(response) == (422, "validation_failed")


def test_an_authorization_without_an_idempotency_key_is_refused(client, app, keys):
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    response = client.post("/v1/checkout/authorizations",
                           json={"buyer_id": buyer, "order_reference": "PO", "amount": "1.00"},
                           headers=auth(keys["checkout"]))
    assert _code(response) == (400, "idempotency_key_required")
    with Session(app.state.engine) as session:
        assert balances(session, line).pending_minor == 0


def test_reusing_a_key_for_another_order_is_refused(client, app, keys):
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    _authorize(client, keys["checkout"], buyer, amount="1.00", idem="k")
    response = _authorize(client, keys["checkout"], buyer, amount="2.00", idem="k")
    assert _code(response) == (422, "idempotency_key_reused")
