"""The finance team freezes, unfreezes and re-limits an open line; each change is an audited decision."""

from __future__ import annotations

from sqlalchemy.orm import Session

from credit.audit import get_decision, replay
from tests.api.conftest import auth
from tests.api.credit_lines.buyers import buyers, clean


def _post(client, key, path, body, idem):  # noqa: ANN001, ANN202
    return client.post(path, json=body, headers=auth(key) | {"Idempotency-Key": idem})


def _approved_line(client, app, keys) -> tuple[int, int, str]:  # noqa: ANN001
    # a clean buyer asking for 2,000.00: below the review amount, so approved at once
    buyer = next(b for b in buyers(app.state.engine) if clean(b) and b.grade not in ("F", "G")
                 and b.gmv_365d >= 1_200_000)
    applied = _post(client, keys["checkout"], "/v1/credit-lines/applications",
                    {"buyer_id": buyer.firm_id, "requested_limit": "2000.00"}, "apply")
    assert applied.status_code == 201, applied.text
    body = applied.json()
    assert (body["status"], body["limit"], body["per_order_cap"]) == ("approved", "2000.00", "1000.00")
    return buyer.firm_id, body["line_id"], body["decision_id"]


def test_an_approved_application_opens_the_line_at_once(market_client, market_app, market_keys):
    firm, line, _ = _approved_line(market_client, market_app, market_keys)
    credit = market_client.get(f"/v1/firms/{firm}/credit", headers=auth(market_keys["finance"])).json()
    assert (credit["line_id"], credit["limit"], credit["available"], credit["per_order_cap"]) == (
        line, "2000.00", "2000.00", "1000.00")
    again = _post(market_client, market_keys["checkout"], "/v1/credit-lines/applications", {"buyer_id": firm}, "again")
    assert again.status_code == 409 and again.json()["error"]["code"] == "line_exists"


def test_freeze_unfreeze_and_a_new_limit_each_need_a_reason_and_are_audited(market_client, market_app, market_keys):
    client, finance = market_client, market_keys["finance"]
    firm, line, application = _approved_line(client, market_app, market_keys)
    blank = _post(client, finance, f"/v1/credit-lines/{line}/freeze", {"reason": "   "}, "f0")
    assert blank.status_code == 422
    assert _post(client, market_keys["checkout"], f"/v1/credit-lines/{line}/freeze", {"reason": "x"}, "f1") \
        .status_code == 403

    frozen = _post(client, finance, f"/v1/credit-lines/{line}/freeze", {"reason": "payment promise missed"}, "f2")
    assert frozen.status_code == 200, frozen.text
    assert (frozen.json()["status"], frozen.json()["limit"]) == ("frozen", "2000.00")
    assert [r["code"] for r in frozen.json()["reason_codes"]] == ["frozen_by_finance"]
    declined = client.post("/v1/checkout/authorizations", json={
        "buyer_id": firm, "order_reference": "PO-9", "amount": "10.00"},
        headers=auth(market_keys["checkout"]) | {"Idempotency-Key": "a1"})
    assert declined.json()["decline_code"] == "line_frozen"

    unfrozen = _post(client, finance, f"/v1/credit-lines/{line}/unfreeze", {"reason": "paid"}, "u1")
    assert unfrozen.json()["status"] == "active"

    raised = _post(client, finance, f"/v1/credit-lines/{line}/limit", {"limit": "3000.00", "reason": "good payer"}, "l1")
    assert raised.status_code == 200, raised.text
    assert (raised.json()["limit"], raised.json()["available"], raised.json()["per_order_cap"]) == (
        "3000.00", "3000.00", "1500.00")
    too_small = _post(client, finance, f"/v1/credit-lines/{line}/limit", {"limit": "500.00", "reason": "x"}, "l2")
    assert too_small.status_code == 422 and too_small.json()["error"]["code"] == "limit_out_of_policy"
    missing = _post(client, finance, "/v1/credit-lines/999999/freeze", {"reason": "x"}, "f3")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "line_not_found"

    with Session(market_app.state.engine) as session:
        change = get_decision(session, raised.json()["decision_id"])
        assert (change.kind, change.parent_decision_id, change.amount_minor) == ("line_change", 
                                                                                 unfrozen.json()["decision_id"], 300_000)
        assert get_decision(session, frozen.json()["decision_id"]).parent_decision_id == application
        for decision_id in (frozen.json()["decision_id"], unfrozen.json()["decision_id"], change.decision_id):
            assert replay(session, decision_id).same
