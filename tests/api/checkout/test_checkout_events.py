"""Checkout over HTTP, read back from GET /v1/events: each approval, decline, capture, refund and void once, in order.

A buyer with a 1,000.00 line: 400.00 authorized, then 700.00 declined (600.00 available), 250.00
of the hold captured, 50.00 of it refunded, the rest (150.00) voided.
"""

from __future__ import annotations

from tests.api.checkout.factories import make_buyer_with_line
from tests.api.conftest import auth


def _post(client, key, path, body=None, idem="k"):  # noqa: ANN001, ANN202
    return client.post(path, json=body, headers=auth(key) | {"Idempotency-Key": idem})


def test_every_checkout_change_is_one_event_in_the_feed_with_its_numbers(client, app, keys):
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    checkout = keys["checkout"]
    approved = _post(client, checkout, "/v1/checkout/authorizations",
                     {"buyer_id": buyer, "order_reference": "PO-1", "amount": "400.00"}, idem="a1")
    assert approved.status_code == 201, approved.text
    hold = approved.json()["hold_id"]
    declined = _post(client, checkout, "/v1/checkout/authorizations",
                     {"buyer_id": buyer, "order_reference": "PO-2", "amount": "700.00"}, idem="a2")
    assert declined.json()["decline_code"] == "limit_exceeded", declined.text
    again = _post(client, checkout, "/v1/checkout/authorizations",  # the same request again: the stored answer
                  {"buyer_id": buyer, "order_reference": "PO-2", "amount": "700.00"}, idem="a2")
    assert again.json() == declined.json()
    base = f"/v1/checkout/authorizations/{hold}"
    assert _post(client, checkout, f"{base}/captures", {"amount": "250.00", "shipment_reference": "S-1"},
                 idem="c1").status_code == 200
    assert _post(client, checkout, f"{base}/refunds", {"amount": "50.00", "reference": "CN-1"},
                 idem="r1").status_code == 200
    assert _post(client, checkout, f"{base}/void", idem="v1").status_code == 200
    refused = _post(client, checkout, f"{base}/void", idem="v2")  # a refused request changes nothing
    assert refused.status_code == 409

    feed = client.get("/v1/events", headers=auth(keys["analyst"]))
    assert feed.status_code == 200, feed.text
    events = feed.json()["items"]
    assert [e["type"] for e in events] == [
        "credit_line.opened", "authorization.approved", "authorization.declined", "authorization.captured",
        "authorization.refunded", "authorization.voided"]
    opened, approve, decline, capture, refund, void = (e["data"] for e in events)
    assert (opened["object"], opened["id"], opened["firm_id"], opened["limit"]) == (
        "credit_line", str(line), buyer, "1000.00")
    assert {(e["data"]["object"], e["data"]["id"], e["data"]["firm_id"]) for e in (events[1], *events[3:])} == {
        ("authorization", str(hold), buyer)}
    assert (approve["status"], approve["amount"], approve["remaining"], approve["order_reference"]) == (
        "pending", "400.00", "400.00", "PO-1")
    assert decline == {
        "object": "authorization", "id": declined.json()["decision_id"], "firm_id": buyer,
        "decision_id": declined.json()["decision_id"], "buyer_id": buyer, "line_id": line, "order_reference": "PO-2",
        "status": "declined", "currency": "EUR", "amount": "700.00", "decline_code": "limit_exceeded",
        "next_actions": [a["code"] for a in declined.json()["next_actions"]]}
    assert (capture["captured"], capture["remaining"], capture["capture"]) == (
        "250.00", "150.00", {"amount": "250.00", "reference": "S-1"})
    assert (refund["refunded"], refund["refund"]) == ("50.00", {"amount": "50.00", "reference": "CN-1"})
    assert (void["status"], void["released"], void["remaining"]) == ("closed", "150.00", "0.00")
