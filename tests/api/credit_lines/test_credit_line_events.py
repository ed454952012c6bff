"""Applications, reviews and line changes over HTTP each write their event, with what the API answered."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.api.conftest import auth
from tests.api.credit_lines.buyers import buyers, clean
from tests.events.recorded import written


def _post(client, key, path, body, idem):  # noqa: ANN001, ANN202
    return client.post(path, json=body, headers=auth(key) | {"Idempotency-Key": idem})


def _events(app) -> list:  # noqa: ANN001
    with Session(app.state.engine) as session:
        return written(session)


def test_an_approval_opens_the_line_and_each_change_by_finance_is_announced(market_client, market_app, market_keys):
    client, finance = market_client, market_keys["finance"]
    # a clean buyer asking for 2,000.00: below the review amount, approved at once, cap 50 % = 1,000.00
    buyer = next(b for b in buyers(market_app.state.engine) if clean(b) and b.grade not in ("F", "G")
                 and b.gmv_365d >= 1_200_000)
    applied = _post(client, market_keys["checkout"], "/v1/credit-lines/applications",
                    {"buyer_id": buyer.firm_id, "requested_limit": "2000.00"}, "apply").json()
    line = applied["line_id"]
    _post(client, finance, f"/v1/credit-lines/{line}/freeze", {"reason": "payment promise missed"}, "f1")
    _post(client, finance, f"/v1/credit-lines/{line}/freeze", {"reason": "again"}, "f2")  # frozen already
    _post(client, finance, f"/v1/credit-lines/{line}/unfreeze", {"reason": "paid"}, "u1")
    raised = _post(client, finance, f"/v1/credit-lines/{line}/limit", {"limit": "3000.00", "reason": "good payer"},
                   "l1")
    assert raised.status_code == 200, raised.text

    events = _events(market_app)
    assert [e.type for e in events] == ["credit_line.opened", "application.decided", "credit_line.frozen",
                                        "credit_line.unfrozen", "credit_line.changed"]
    opened, decided, frozen, unfrozen, changed = events
    assert {(e.firm_id) for e in events} == {buyer.firm_id}
    assert (decided.object_type, decided.object_id) == ("application", applied["decision_id"])
    assert decided.data == {
        "decision_id": applied["decision_id"], "buyer_id": buyer.firm_id, "status": "approved", "outcome": "approve",
        "grade": applied["grade"], "pd": applied["pd"], "currency": "EUR", "limit": "2000.00",
        "per_order_cap": "1000.00", "proposed_limit": None, "requested_limit": "2000.00",
        "reason_codes": [r["code"] for r in applied["reason_codes"]],
        "next_actions": [a["code"] for a in applied["next_actions"]], "line_id": line, "review": None}
    assert (opened.object_id, opened.data["limit"], opened.data["per_order_cap"]) == (str(line), "2000.00", "1000.00")
    assert (frozen.data["status"], frozen.data["frozen_by"]) == ("frozen", "finance")
    assert unfrozen.data["status"] == "active"
    # the new limit and the cap that goes with it (50 %): one change, one event
    assert (changed.data["limit"], changed.data["per_order_cap"], changed.data["available"]) == (
        "3000.00", "1500.00", "3000.00")


def test_a_referral_reviewed_by_finance_is_announced_decided_then_reviewed(market_client, market_app, market_keys):
    client = market_client
    buyer = max((b for b in buyers(market_app.state.engine) if clean(b)), key=lambda b: b.gmv_365d)
    applied = _post(client, market_keys["checkout"], "/v1/credit-lines/applications", {"buyer_id": buyer.firm_id},
                    "apply").json()
    assert applied["status"] == "referred"
    reviewed = _post(client, market_keys["finance"], f"/v1/credit-lines/applications/{applied['decision_id']}/review",
                     {"action": "change_limit", "limit": "5000.00", "reason": "start small"}, "review").json()

    decided, opened, review = _events(market_app)
    assert (decided.type, decided.data["status"], decided.data["outcome"], decided.data["line_id"],
            decided.data["next_actions"]) == ("application.decided", "referred", "refer", None,
                                              ["await_finance_review"])
    assert decided.data["limit"] == decided.data["proposed_limit"] == applied["limit"]
    assert (opened.type, opened.object_id, opened.data["limit"], opened.data["per_order_cap"]) == (
        "credit_line.opened", str(reviewed["line_id"]), "5000.00", "2500.00")
    assert (review.type, review.object_id, review.firm_id) == (
        "application.reviewed", applied["decision_id"], buyer.firm_id)
    assert (review.data["status"], review.data["line_id"]) == ("reviewed", reviewed["line_id"])
    # the event says what the API says: the limit granted, the proposal kept, nothing left to wait for
    assert (review.data["limit"], review.data["per_order_cap"], review.data["proposed_limit"],
            review.data["next_actions"]) == ("5000.00", "2500.00", applied["limit"], [])
    assert review.data["review"] == {
        "decision_id": reviewed["review"]["decision_id"], "outcome": "approve", "limit": "5000.00",
        "per_order_cap": "2500.00", "reason_codes": ["finance_changed_limit"]}


def test_a_declined_application_is_announced_and_opens_nothing(market_client, market_app, market_keys):
    buyer = next(b for b in buyers(market_app.state.engine)
                 if b.overdue_invoices and b.verified and not b.defaulted and b.tenure_days >= 180 and b.grade != "H")
    declined = _post(market_client, market_keys["admin"], "/v1/credit-lines/applications",
                     {"buyer_id": buyer.firm_id, "requested_limit": "10000.00"}, "apply").json()
    [decided] = _events(market_app)
    assert (decided.type, decided.object_id, decided.data["status"], decided.data["limit"],
            decided.data["requested_limit"], decided.data["reason_codes"][0]) == (
        "application.decided", declined["decision_id"], "declined", "0.00", "10000.00", "overdue_now")
