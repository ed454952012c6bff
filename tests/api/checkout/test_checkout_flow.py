"""Checkout credit over HTTP, one order's life from pre-check to repayment, with balances worked out by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from credit import clock
from credit.audit import DecisionRecord, get_decision
from credit.ledger import reconcile
from credit.scoring.tables import ScoreSnapshot
from tests.api.checkout.factories import make_buyer_with_line, make_firm, make_score, make_unpaid_invoice
from tests.api.conftest import auth


def _post(client, key, path, body=None, idem=None):  # noqa: ANN001, ANN202
    headers = auth(key) | ({"Idempotency-Key": idem} if idem else {})
    return client.post(path, json=body, headers=headers)


def _balances(limit: str, posted: str, pending: str, available: str) -> dict[str, str]:
    return {"limit": limit, "posted": posted, "pending": pending, "available": available}


def test_an_order_from_precheck_to_repayment_moves_the_balances_step_by_step(client, app, keys):
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=100_000)  # 1,000.00
    key = keys["checkout"]

    pre = _post(client, key, "/v1/checkout/prechecks", {"buyer_id": buyer, "amount": "400.00"})
    assert pre.status_code == 200, pre.text
    assert pre.json() == {"approved": True, "decline_code": None, "message": None, "next_actions": [],
                          "balances": _balances("1000.00", "0.00", "0.00", "1000.00")}

    auth_ = _post(client, key, "/v1/checkout/authorizations",
                  {"buyer_id": buyer, "order_reference": "PO-1", "amount": "400.00"}, idem="a-1")
    assert auth_.status_code == 201, auth_.text
    approved = auth_.json()
    hold = approved["hold_id"]
    assert approved["status"] == "approved" and approved["line_id"] == line and approved["amount"] == "400.00"
    assert approved["balances"] == _balances("1000.00", "0.00", "400.00", "600.00")
    assert approved["expires_at"].endswith("Z")

    first = _post(client, key, f"/v1/checkout/authorizations/{hold}/captures",
                  {"amount": "150.00", "shipment_reference": "SHIP-1"}, idem="c-1")
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["captured"], first.json()["remaining"]) == ("pending", "150.00", "250.00")
    assert first.json()["balances"] == _balances("1000.00", "150.00", "250.00", "600.00")

    second = _post(client, key, f"/v1/checkout/authorizations/{hold}/captures",
                   {"amount": "100.00", "shipment_reference": "SHIP-2"}, idem="c-2")
    assert second.json()["captured"] == "250.00"
    assert second.json()["balances"] == _balances("1000.00", "250.00", "150.00", "600.00")

    voided = _post(client, key, f"/v1/checkout/authorizations/{hold}/void", idem="v-1")
    assert voided.status_code == 200, voided.text
    assert (voided.json()["status"], voided.json()["released"], voided.json()["remaining"]) == ("closed", "150.00", "0.00")
    assert voided.json()["balances"] == _balances("1000.00", "250.00", "0.00", "750.00")

    refunded = _post(client, key, f"/v1/checkout/authorizations/{hold}/refunds", {"amount": "50.00"}, idem="r-1")
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["refunded"] == "50.00"
    assert refunded.json()["balances"] == _balances("1000.00", "200.00", "0.00", "800.00")

    repaid = _post(client, keys["payments"], f"/v1/credit-lines/{line}/repayments",
                   {"amount": "120.00", "reference": "PAY-1"}, idem="p-1")
    assert repaid.status_code == 201, repaid.text
    # SHIP-1 (150.00) and SHIP-2 (100.00, 50.00 after the refund, which takes the newest first) fall due
    # together; the older booking is paid first: 120.00 of SHIP-1's 150.00.
    assert repaid.json() == {"repayment_id": 1, "line_id": line, "amount": "120.00", "reference": "PAY-1",
                             "allocations": [{"receivable_id": first.json()["receivable_id"], "part": "principal",
                                              "amount": "120.00"}],
                             "credit_balance": "0.00", "line_unfrozen": False,
                             "balances": _balances("1000.00", "80.00", "0.00", "920.00")}

    read = client.get(f"/v1/checkout/authorizations/{hold}", headers=auth(key)).json()
    assert (read["amount"], read["captured"], read["released"], read["refunded"]) == ("400.00", "250.00", "150.00", "50.00")
    assert read["balances"] == _balances("1000.00", "80.00", "0.00", "920.00")
    with Session(app.state.engine) as session:
        assert reconcile(session).ok
        record = get_decision(session, approved["decision_id"])
        assert (record.kind, record.outcome, record.firm_id, record.amount_minor) == ("checkout", "approve", buyer, 40_000)
        assert record.request == {"buyer_id": buyer, "order_reference": "PO-1", "amount": "400.00"}


def test_an_order_over_the_available_limit_is_declined_with_next_actions_and_nothing_held(client, app, keys):
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    body = {"buyer_id": buyer, "order_reference": "PO-big", "amount": "1000.01"}

    declined = _post(client, keys["checkout"], "/v1/checkout/authorizations", body, idem="big")

    assert declined.status_code == 200
    out = declined.json()
    assert (out["status"], out["decline_code"]) == ("declined", "limit_exceeded")
    assert [a["code"] for a in out["next_actions"]] == ["reduce_order_amount", "contact_finance", "pay_upfront"]
    assert out["balances"] == _balances("1000.00", "0.00", "0.00", "1000.00")
    with Session(app.state.engine) as session:
        assert get_decision(session, out["decision_id"]).outcome == "decline"


def test_a_declined_authorization_is_replayed_not_decided_again(client, app, keys):
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    body = {"buyer_id": buyer, "order_reference": "PO-2", "amount": "2000.00"}

    first = _post(client, keys["checkout"], "/v1/checkout/authorizations", body, idem="same")
    again = _post(client, keys["checkout"], "/v1/checkout/authorizations", body, idem="same")

    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content


def test_an_approved_authorization_is_replayed_and_holds_once(client, app, keys):
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    body = {"buyer_id": buyer, "order_reference": "PO-3", "amount": "300.00"}

    first = _post(client, keys["checkout"], "/v1/checkout/authorizations", body, idem="k")
    again = _post(client, keys["checkout"], "/v1/checkout/authorizations", body, idem="k")

    assert (first.status_code, again.status_code) == (201, 201) and again.content == first.content
    hold = client.get(f"/v1/checkout/authorizations/{first.json()['hold_id']}", headers=auth(keys["checkout"])).json()
    assert hold["balances"]["pending"] == "300.00"


def test_a_buyer_without_a_line_is_declined_no_line(client, app, keys):
    with Session(app.state.engine) as session:
        buyer = make_firm(session)
        session.commit()
    out = _post(client, keys["checkout"], "/v1/checkout/authorizations",
                {"buyer_id": buyer, "order_reference": "PO-x", "amount": "10.00"}, idem="nl").json()
    assert (out["status"], out["decline_code"], out["balances"]) == ("declined", "no_line", None)
    assert [action["code"] for action in out["next_actions"]] == ["apply_for_credit_line", "pay_upfront"]
    pre = _post(client, keys["checkout"], "/v1/checkout/prechecks", {"buyer_id": buyer, "amount": "10.00"}).json()
    assert (pre["approved"], pre["decline_code"]) == (False, "no_line")


def test_an_unknown_buyer_is_404_unknown_firm_and_nothing_is_recorded(client, app, keys):
    body = {"buyer_id": 987_654, "order_reference": "PO-typo", "amount": "10.00"}
    unknown = {"code": "unknown_firm", "message": "Firm 987654 does not exist on the marketplace; check the id.",
               "details": {"firm_id": 987_654}}
    authorized = _post(client, keys["checkout"], "/v1/checkout/authorizations", body, idem="typo")
    assert (authorized.status_code, authorized.json()["error"]) == (404, unknown)
    pre = _post(client, keys["checkout"], "/v1/checkout/prechecks", {"buyer_id": 987_654, "amount": "10.00"})
    assert (pre.status_code, pre.json()["error"]) == (404, unknown)
    with Session(app.state.engine) as session:
        assert session.scalar(select(func.count()).select_from(DecisionRecord)) == 0
        buyer = make_firm(session, firm_id=987_654)
        session.commit()
    paths = client.get("/v1/openapi.json").json()["paths"]
    assert "404" in paths["/v1/checkout/prechecks"]["post"]["responses"]
    assert "404" in paths["/v1/checkout/authorizations"]["post"]["responses"]
    # the order reference was not kept: the same order goes through once the firm exists
    again = _post(client, keys["checkout"], "/v1/checkout/authorizations", body, idem="typo-2")
    assert (again.status_code, again.json()["decline_code"]) == (200, "no_line")


def test_a_buyer_with_an_invoice_overdue_is_declined_in_arrears(client, app, keys):
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    make_unpaid_invoice(app.state.engine, buyer, days_overdue=3, amount_minor=50_000, paid_minor=20_000)

    out = _post(client, keys["checkout"], "/v1/checkout/authorizations",
                {"buyer_id": buyer, "order_reference": "PO-4", "amount": "10.00"}, idem="arrears").json()

    assert (out["decline_code"], out["next_actions"][0]["code"]) == ("in_arrears", "pay_overdue_invoices")
    with Session(app.state.engine) as session:
        assert get_decision(session, out["decision_id"]).inputs["days_past_due"] == 3


def test_an_invoice_paid_in_full_or_not_yet_a_day_late_does_not_count_as_arrears(client, app, keys):
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    make_unpaid_invoice(app.state.engine, buyer, days_overdue=30, amount_minor=50_000, paid_minor=50_000)
    make_unpaid_invoice(app.state.engine, buyer, days_overdue=0.5)

    pre = _post(client, keys["checkout"], "/v1/checkout/prechecks", {"buyer_id": buyer, "amount": "10.00"}).json()

    assert pre["approved"] is True


def test_a_buyer_whose_latest_score_is_in_a_too_risky_grade_is_declined(client, app, keys):
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    make_score(app.state.engine, buyer, pd=0.30)  # grade H on the default master scale

    out = _post(client, keys["checkout"], "/v1/checkout/authorizations",
                {"buyer_id": buyer, "order_reference": "PO-5", "amount": "10.00"}, idem="risk").json()

    assert out["decline_code"] == "too_high_risk"
    with Session(app.state.engine) as session:
        record = get_decision(session, out["decision_id"])
        assert (record.grade, record.model_version) == ("H", "7")


def test_an_order_over_the_per_order_cap_is_declined_before_the_limit(client, app, keys):
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000, per_order_cap_minor=20_000)
    out = _post(client, keys["checkout"], "/v1/checkout/authorizations",
                {"buyer_id": buyer, "order_reference": "PO-6", "amount": "5000.00"}, idem="cap").json()
    assert out["decline_code"] == "per_order_cap_exceeded"


@pytest.mark.parametrize(("snapshots", "decline_code", "version"), [
    # (as_of days ago, scored hours ago, pd, version): the newest as-of decides, then the newest run on it
    ([(30, 720, 0.30, "1"), (0, 1, 0.003, "2")], None, "2"),
    ([(30, 720, 0.003, "1"), (0, 1, 0.30, "2")], "too_high_risk", "2"),
    ([(0, 5, 0.003, "1"), (0, 1, 0.30, "2"), (0, 3, 0.003, "3")], "too_high_risk", "2"),
])
def test_the_buyers_latest_score_decides(client, app, keys, snapshots, decline_code, version):
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    now = clock.now()
    with Session(app.state.engine) as session, session.begin():
        session.add_all([ScoreSnapshot(firm_id=buyer, as_of=(now - timedelta(days=days)).date(), model_name="credit-pd",
                                       model_version=v, pd=pd, features={"x": 1}, reason_codes=[],
                                       reason_catalogue_version=1, scored_at=now - timedelta(hours=hours))
                         for days, hours, pd, v in snapshots])
    out = _post(client, keys["checkout"], "/v1/checkout/authorizations",
                {"buyer_id": buyer, "order_reference": "PO-L", "amount": "10.00"}, idem=f"latest-{version}")
    assert out.json().get("decline_code") == decline_code
    with Session(app.state.engine) as session:
        assert get_decision(session, out.json()["decision_id"]).model_version == version
