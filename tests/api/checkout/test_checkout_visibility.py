"""Who sees which hold: a checkout key its own, the back office every one; another's is a missing one."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from credit.ledger import balances, get_hold
from tests.api.checkout.factories import make_buyer_with_line
from tests.api.conftest import auth, make_key

MISSING = 987_654


@pytest.fixture
def storefronts(client, app):  # noqa: ANN001, ANN201
    """Two storefronts with checkout keys of their own; the first holds 400.00 on a 1,000.00 line."""
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    first, second = make_key(app, "checkout", "storefront-a"), make_key(app, "checkout", "storefront-b")
    held = client.post("/v1/checkout/authorizations",
                       json={"buyer_id": buyer, "order_reference": "PO-1", "amount": "400.00"},
                       headers=auth(first) | {"Idempotency-Key": "hold"})
    assert held.status_code == 201, held.text
    return {"first": first, "second": second, "line": line, "hold": held.json()["hold_id"]}


_MOVES = {"capture": ("captures", {"amount": "1.00", "shipment_reference": "S"}), "void": ("void", None),
          "refund": ("refunds", {"amount": "1.00"})}


def _call(client, key, operation, hold_id, idem):  # noqa: ANN001, ANN202
    headers = auth(key) | {"Idempotency-Key": idem}
    if operation == "read":
        return client.get(f"/v1/checkout/authorizations/{hold_id}", headers=headers)
    action, body = _MOVES[operation]
    return client.post(f"/v1/checkout/authorizations/{hold_id}/{action}", json=body, headers=headers)


@pytest.mark.parametrize("operation", ["read", "capture", "void", "refund"])
def test_another_storefronts_hold_is_answered_exactly_like_a_missing_one(client, app, storefronts, operation):
    hold = storefronts["hold"]
    theirs = _call(client, storefronts["second"], operation, hold, "theirs")
    missing = _call(client, storefronts["second"], operation, MISSING, "missing")

    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == {"error": {"code": "hold_not_found", "message": f"Hold {hold} does not exist.",
                                       "details": {"hold_id": hold}}}
    assert missing.json() == {"error": {"code": "hold_not_found", "message": f"Hold {MISSING} does not exist.",
                                        "details": {"hold_id": MISSING}}}
    with Session(app.state.engine) as session:
        untouched = get_hold(session, hold)
        assert (untouched.status, untouched.captured_minor, untouched.released_minor) == ("pending", 0, 0)
        line = balances(session, storefronts["line"])
        assert (line.pending_minor, line.posted_minor) == (40_000, 0)


def test_the_storefront_that_authorized_settles_its_hold(client, storefronts):
    hold = storefronts["hold"]
    read = _call(client, storefronts["first"], "read", hold, "read")
    assert (read.status_code, read.json()["remaining"]) == (200, "400.00")
    captured = _call(client, storefronts["first"], "capture", hold, "capture")
    assert (captured.status_code, captured.json()["captured"]) == (200, "1.00")
    voided = _call(client, storefronts["first"], "void", hold, "void")
    assert (voided.status_code, voided.json()["released"]) == (200, "399.00")


def test_a_key_issued_again_to_the_same_storefront_keeps_its_holds(client, app, storefronts):
    reissued = make_key(app, "checkout", "storefront-a")
    response = _call(client, reissued, "capture", storefronts["hold"], "capture")
    assert (response.status_code, response.json()["captured"]) == (200, "1.00")


@pytest.mark.parametrize("role", ["finance", "analyst", "admin"])
def test_the_back_office_reads_every_hold(client, keys, storefronts, role):
    response = _call(client, keys[role], "read", storefronts["hold"], "read")
    assert (response.status_code, response.json()["amount"]) == (200, "400.00")


def test_an_admin_may_settle_a_storefronts_hold(client, keys, storefronts):
    response = _call(client, keys["admin"], "void", storefronts["hold"], "void")
    assert (response.status_code, response.json()["released"]) == (200, "400.00")


def test_the_payment_system_books_a_repayment_on_any_buyers_line(client, keys, storefronts):
    _call(client, storefronts["first"], "capture", storefronts["hold"], "capture")
    repaid = client.post(f"/v1/credit-lines/{storefronts['line']}/repayments",
                         json={"amount": "1.00", "reference": "P"},
                         headers=auth(keys["payments"]) | {"Idempotency-Key": "repay"})
    assert (repaid.status_code, repaid.json()["balances"]["posted"]) == (201, "0.00")
