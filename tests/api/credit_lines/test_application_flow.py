"""A buyer of the simulated marketplace from application to repayment: referred, approved by finance, then
checkout credit over the line it opened, with balances worked out by hand at every step."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.audit import DecisionRecord, replay
from credit.ledger import reconcile
from credit.policy import default_policy
from tests.api.conftest import auth
from tests.api.credit_lines.buyers import buyers, clean


def _post(client, key, path, body=None, idem=None):  # noqa: ANN001, ANN202
    headers = auth(key) | ({"Idempotency-Key": idem} if idem else {})
    return client.post(path, json=body, headers=headers)


def _balances(limit: str, posted: str, pending: str, available: str) -> dict[str, str]:
    return {"limit": limit, "posted": posted, "pending": pending, "available": available}


def test_a_large_buyer_is_referred_approved_by_finance_and_buys_on_its_line(market_client, market_app, market_keys):
    client, checkout, finance = market_client, market_keys["checkout"], market_keys["finance"]
    # the clean buyer (no knock-out) with the largest purchases: its limit is above the review amount
    buyer = max((b for b in buyers(market_app.state.engine) if clean(b)), key=lambda b: b.gmv_365d)
    policy = default_policy()
    # limit = min(capacity = 2 x GMV / 12, grade cap, expected-loss cap = 1000.00 / (PD x 0.45)), to 100.00
    capacity = Decimal(2) * Decimal(repr(buyer.gmv_365d)) / 12
    expected_loss_cap = Decimal(100_000) / (Decimal(repr(buyer.pd)) * Decimal("0.45"))
    grade_cap = policy.credit_line.limit.grade_caps_minor[buyer.grade]
    limit = min(int(capacity.to_integral_value(ROUND_FLOOR)), grade_cap,
                int(expected_loss_cap.to_integral_value(ROUND_FLOOR)), 100_000_000)
    limit -= limit % 10_000
    assert limit > 25_000_000, "the simulated marketplace should have a buyer above the review amount"

    applied = _post(client, checkout, "/v1/credit-lines/applications", {"buyer_id": buyer.firm_id}, idem="apply-1")
    assert applied.status_code == 201, applied.text
    application = applied.json()
    assert (application["status"], application["outcome"], application["grade"]) == ("referred", "refer", buyer.grade)
    assert application["limit"] == f"{Decimal(limit) / 100:.2f}"
    # min(50% of the limit rounded down to 100.00, 200,000.00): the limit depends on the day the history ends
    cap = min(limit // 2 - limit // 2 % 10_000, 20_000_000)
    assert application["per_order_cap"] == f"{Decimal(cap) / 100:.2f}"
    assert "refer_above_amount" in [reason["code"] for reason in application["reason_codes"]]
    assert application["next_actions"] == [{"code": "await_finance_review",
                                           "message": "Wait for the finance team's review"}]
    assert application["proposed_limit"] == application["limit"]
    assert application["line_id"] is None and application["model_version"] == "1"
    assert application["policy_version"] == policy.version
    assert application["pd"] == str(Decimal(repr(buyer.pd)).quantize(Decimal("0.000001")))  # 6 places, half even
    application_id = application["decision_id"]

    queue = client.get("/v1/credit-lines/applications?status=referred", headers=auth(finance))
    assert [item["decision_id"] for item in queue.json()["items"]] == [application_id]
    assert client.get("/v1/credit-lines/applications?status=referred", headers=auth(checkout)).status_code == 403

    # the marketplace cannot approve its own application
    refused = _post(client, checkout, f"/v1/credit-lines/applications/{application_id}/review",
                    {"action": "approve", "reason": "looks fine"}, idem="review-checkout")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"

    reviewed = _post(client, finance, f"/v1/credit-lines/applications/{application_id}/review",
                     {"action": "change_limit", "limit": "5000.00", "reason": "start small: new to credit"},
                     idem="review-1")
    assert reviewed.status_code == 200, reviewed.text
    after = reviewed.json()
    assert after["status"] == "reviewed" and after["line_id"] is not None
    assert after["review"]["outcome"] == "approve" and after["review"]["limit"] == "5000.00"
    assert after["review"]["per_order_cap"] == "2500.00"  # 50% of 5,000.00
    assert [r["code"] for r in after["review"]["reason_codes"]] == ["finance_changed_limit"]
    # the application shows what stands now: the granted limit and cap, nothing more to wait for
    assert (after["limit"], after["per_order_cap"], after["next_actions"]) == ("5000.00", "2500.00", [])
    assert after["proposed_limit"] == f"{Decimal(limit) / 100:.2f}"
    read = client.get(f"/v1/credit-lines/applications/{application_id}", headers=auth(checkout)).json()
    assert read == after
    listed = client.get("/v1/credit-lines/applications?status=reviewed", headers=auth(finance)).json()["items"]
    assert listed == [after]
    line = after["line_id"]
    assert client.get("/v1/credit-lines/applications?status=referred", headers=auth(finance)).json()["items"] == []

    twice = _post(client, finance, f"/v1/credit-lines/applications/{application_id}/review",
                  {"action": "decline", "reason": "changed my mind"}, idem="review-2")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "application_not_referred"

    credit = client.get(f"/v1/firms/{buyer.firm_id}/credit", headers=auth(checkout)).json()
    assert (credit["line_id"], credit["line_status"], credit["limit"], credit["available"], credit["per_order_cap"]) \
        == (line, "active", "5000.00", "5000.00", "2500.00")
    assert credit["score"]["grade"] == buyer.grade and credit["score"]["model_version"] == "1"

    # checkout credit on the new line: 5,000.00 limit, 2,500.00 per order
    pre = _post(client, checkout, "/v1/checkout/prechecks", {"buyer_id": buyer.firm_id, "amount": "2000.00"})
    assert pre.json()["approved"] is True
    assert pre.json()["balances"] == _balances("5000.00", "0.00", "0.00", "5000.00")
    too_big = _post(client, checkout, "/v1/checkout/prechecks", {"buyer_id": buyer.firm_id, "amount": "2500.01"})
    assert too_big.json()["decline_code"] == "per_order_cap_exceeded"

    held = _post(client, checkout, "/v1/checkout/authorizations",
                 {"buyer_id": buyer.firm_id, "order_reference": "PO-77", "amount": "2000.00"}, idem="auth-1")
    assert held.status_code == 201, held.text
    hold = held.json()["hold_id"]
    assert held.json()["balances"] == _balances("5000.00", "0.00", "2000.00", "3000.00")

    captured = _post(client, checkout, f"/v1/checkout/authorizations/{hold}/captures",
                     {"amount": "1200.00", "shipment_reference": "SHIP-77-1"}, idem="cap-1")
    assert captured.json()["balances"] == _balances("5000.00", "1200.00", "800.00", "3000.00")

    voided = _post(client, checkout, f"/v1/checkout/authorizations/{hold}/void", idem="void-1")
    assert voided.json()["balances"] == _balances("5000.00", "1200.00", "0.00", "3800.00")

    refunded = _post(client, checkout, f"/v1/checkout/authorizations/{hold}/refunds", {"amount": "200.00"},
                     idem="refund-1")
    assert refunded.json()["balances"] == _balances("5000.00", "1000.00", "0.00", "4000.00")

    repaid = _post(client, market_keys["payments"], f"/v1/credit-lines/{line}/repayments",
                   {"amount": "1000.00", "reference": "PAY-77"}, idem="repay-1")
    assert repaid.json()["balances"] == _balances("5000.00", "0.00", "0.00", "5000.00")

    credit = client.get(f"/v1/firms/{buyer.firm_id}/credit", headers=auth(finance)).json()
    assert (credit["posted"], credit["pending"], credit["available"]) == ("0.00", "0.00", "5000.00")

    with Session(market_app.state.engine) as session:
        assert reconcile(session).ok
        kinds = dict(session.execute(select(DecisionRecord.decision_id, DecisionRecord.kind)).all())
        assert sorted(kinds.values()) == ["checkout", "credit_line_application", "credit_line_review"]
        for decision_id in kinds:
            assert replay(session, decision_id).same, decision_id


def test_a_referral_declined_by_finance_shows_no_limit_and_points_to_the_finance_team(market_client, market_app,
                                                                                     market_keys):
    client, checkout, finance = market_client, market_keys["checkout"], market_keys["finance"]
    referred = None
    for buyer in sorted((b for b in buyers(market_app.state.engine) if clean(b)), key=lambda b: -b.gmv_365d):
        applied = _post(client, checkout, "/v1/credit-lines/applications", {"buyer_id": buyer.firm_id},
                        idem=f"apply-{buyer.firm_id}")
        if applied.json().get("status") == "referred":
            referred = applied.json()
            break
    assert referred is not None, "the simulated marketplace should have a buyer the policy refers"
    declined = _post(client, finance, f"/v1/credit-lines/applications/{referred['decision_id']}/review",
                     {"action": "decline", "reason": "too concentrated on one supplier"}, idem="review-decline")
    assert declined.status_code == 200, declined.text
    after = declined.json()
    assert (after["status"], after["review"]["outcome"], after["line_id"]) == ("reviewed", "decline", None)
    assert (after["limit"], after["per_order_cap"], after["proposed_limit"]) == ("0.00", "0.00", referred["limit"])
    assert after["next_actions"] == [{"code": "contact_finance", "message": "Contact the finance team"}]


def test_a_buyer_overdue_now_is_declined_with_the_knock_out_and_what_to_do(market_client, market_app, market_keys):
    buyer = next(b for b in buyers(market_app.state.engine)
                 if b.overdue_invoices and b.verified and not b.defaulted and b.tenure_days >= 180 and b.grade != "H")
    declined = _post(market_client, market_keys["admin"], "/v1/credit-lines/applications",
                     {"buyer_id": buyer.firm_id, "requested_limit": "10000.00"}, idem="apply-overdue")
    assert declined.status_code == 201, declined.text
    body = declined.json()
    assert (body["status"], body["outcome"], body["limit"], body["per_order_cap"], body["line_id"]) == (
        "declined", "decline", "0.00", "0.00", None)
    assert body["reason_codes"][0] == {"code": "overdue_now", "text": "Invoices past due now"}
    assert body["next_actions"][0] == {"code": "pay_overdue_invoices", "message": "Pay the invoices past due"}
    assert body["requested_limit"] == "10000.00" and body["proposed_limit"] is None
    credit = market_client.get(f"/v1/firms/{buyer.firm_id}/credit", headers=auth(market_keys["analyst"])).json()
    assert credit["line_status"] == "none" and credit["days_past_due"] > 0
    with Session(market_app.state.engine) as session:
        assert replay(session, body["decision_id"]).same
