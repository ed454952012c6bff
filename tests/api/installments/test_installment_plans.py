"""Installment plans over HTTP: the quote before acceptance, the plan, refusals, early settlement.

Every amount is worked out by hand from the default policy (1 % a month for every month after
the first, rounded half up; at most 12 installments for grade A, 6 for D, none for G or an
unscored buyer; at least 500.00 to split; the unused fee refunded on early settlement).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from credit import clock
from credit.ledger import reconcile
from tests.api.checkout.factories import make_buyer_with_line, make_score
from tests.api.conftest import ROLES, auth, build_app, make_key

SHIPPED = datetime(2027, 1, 20, 9, 0)    # net 30: due 2027-02-19 09:00
ACCEPTED = datetime(2027, 1, 31, 9, 0)
PD = {"A": 0.001, "D": 0.015, "G": 0.10}  # on the master scale: A < 0.25 %, D 1-2 %, G 8-16 %


class Api:
    """A client on one store, a key per role, and the clock standing still."""

    def __init__(self, client: TestClient, keys: dict[str, str], now: clock.FixedClock) -> None:
        self.client, self.keys, self.now = client, keys, now
        self.engine = client.app.state.engine

    def get(self, path: str, role: str = "checkout"):  # noqa: ANN201
        return self.client.get(path, headers=auth(self.keys[role]))

    def post(self, path: str, body: dict, idem: str, role: str = "checkout"):  # noqa: ANN201
        return self.client.post(path, json=body, headers=auth(self.keys[role]) | {"Idempotency-Key": idem})

    def shipped(self, amount: str, *, grade: str | None = "A", order: str = "PO-1") -> tuple[int, int]:
        """A buyer (scored in ``grade``) whose order of ``amount`` on net 30 shipped at SHIPPED: (line, receivable)."""
        self.now.set(SHIPPED)
        buyer, line = make_buyer_with_line(self.engine, limit_minor=20_000_000)  # 200,000.00
        if grade is not None:
            make_score(self.engine, buyer, PD[grade])
        hold = self.post("/v1/checkout/authorizations", {"buyer_id": buyer, "order_reference": order,
                                                          "amount": amount}, idem=f"a-{order}-{buyer}")
        assert hold.status_code == 201, hold.text
        captured = self.post(f"/v1/checkout/authorizations/{hold.json()['hold_id']}/captures",
                             {"amount": amount, "shipment_reference": f"SHIP-{order}"}, idem=f"c-{order}-{buyer}")
        assert captured.status_code == 200, captured.text
        self.now.set(ACCEPTED)
        return line, captured.json()["receivable_id"]


@pytest.fixture
def api(store_settings) -> Iterator[Api]:  # noqa: ANN001
    app = build_app(store_settings)
    with clock.frozen(SHIPPED) as now, TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, {role: make_key(app, role) for role in ROLES}, now)


def _error(response) -> tuple[int, str, str]:  # noqa: ANN001
    return response.status_code, response.json()["error"]["code"], response.json()["error"]["message"]


def test_the_quote_shows_the_schedule_and_accepting_it_books_the_installments(api):
    line, receivable = api.shipped("100000.01")

    quoted = api.get(f"/v1/receivables/{receivable}/installment-quote?count=3")

    assert quoted.status_code == 200, quoted.text
    # fee = 0.01 x 10,000,001 x 2 = 200,000.02 -> 200,000 minor: 666.66 + 666.66 + 666.68;
    # principal 3,333,333 + 3,333,333 + 3,333,335 minor; due 28 Feb, 31 Mar, 30 Apr
    assert quoted.json() == {
        "receivable_id": receivable, "line_id": line, "grade": "A", "count": 3, "max_count": 12,
        "amount": "100000.01", "fee": "2000.00", "total": "102000.01", "monthly_fee_rate": "0.01",
        "early_repayment": "refund_unused_fee", "installments": [
            {"number": 1, "due_at": "2027-02-28T09:00:00Z", "principal": "33333.33", "fee": "666.66",
             "total": "33999.99"},
            {"number": 2, "due_at": "2027-03-31T09:00:00Z", "principal": "33333.33", "fee": "666.66",
             "total": "33999.99"},
            {"number": 3, "due_at": "2027-04-30T09:00:00Z", "principal": "33333.35", "fee": "666.68",
             "total": "34000.03"}]}

    plan = api.post(f"/v1/receivables/{receivable}/installment-plans", {"count": 3}, idem="plan-1")

    assert plan.status_code == 201, plan.text
    out = plan.json()
    ids = [item["receivable_id"] for item in out["installments"]]
    assert len(set(ids)) == 3 and receivable not in ids
    assert [{k: v for k, v in item.items() if k != "receivable_id"} for item in out["installments"]] == [
        dict(item, status="open") for item in quoted.json()["installments"]]
    assert (out["receivable_id"], out["line_id"], out["status"], out["count"]) == (receivable, line, "rescheduled", 3)
    assert (out["amount"], out["fee"], out["total"]) == ("100000.01", "2000.00", "102000.01")
    # exposure did not move: the installments owe what the receivable owed
    assert out["balances"] == {"limit": "200000.00", "posted": "100000.01", "pending": "0.00",
                               "available": "99999.99"}
    with Session(api.engine) as session:
        assert reconcile(session).ok

    replay = api.post(f"/v1/receivables/{receivable}/installment-plans", {"count": 3}, idem="plan-1")
    assert (replay.status_code, replay.headers["Idempotent-Replayed"], replay.content) == (201, "true", plan.content)
    again = api.post(f"/v1/receivables/{receivable}/installment-plans", {"count": 2}, idem="plan-2")
    assert _error(again)[:2] == (409, "installment_plan_exists")
    assert again.json()["error"]["details"]["installment_ids"] == ids


def test_early_settlement_is_quoted_then_booked_with_the_unused_fee_waived(api):
    line, receivable = api.shipped("100000.01")
    plan = api.post(f"/v1/receivables/{receivable}/installment-plans", {"count": 3}, idem="plan").json()
    ids = [item["receivable_id"] for item in plan["installments"]]
    api.now.set(datetime(2027, 2, 1, 12, 0))  # nothing due yet: all three unused

    quoted = api.get(f"/v1/receivables/{receivable}/early-settlement", role="analyst")

    assert quoted.status_code == 200, quoted.text
    terms = quoted.json()
    assert (terms["principal"], terms["fee"], terms["fee_waived"], terms["fee_returned"], terms["amount_due"]) == (
        "100000.01", "0.00", "2000.00", "0.00", "100000.01")
    assert [(i["receivable_id"], i["used"], i["fee_waived"], i["total"]) for i in terms["installments"]] == [
        (ids[0], False, "666.66", "33333.33"), (ids[1], False, "666.66", "33333.33"),
        (ids[2], False, "666.68", "33333.35")]

    path = f"/v1/receivables/{receivable}/early-settlements"
    assert api.post(path, {"amount": "100000.01", "reference": "PAY-END"}, idem="s-0").status_code == 403
    short = api.post(path, {"amount": "100000.00", "reference": "PAY-END"}, idem="s-1", role="finance")
    assert _error(short) == (409, "settlement_amount_short",
                             f"Settling the plan of receivable {receivable} takes 100000.01; 100000.00 is less.")
    assert short.json()["error"]["details"]["amount_due"] == "100000.01"

    booked = api.post(path, {"amount": "100000.01", "reference": "PAY-END"}, idem="s-2", role="finance")

    assert booked.status_code == 201, booked.text
    out = booked.json()
    assert out["settlement"] == terms and (out["amount"], out["reference"]) == ("100000.01", "PAY-END")
    assert out["allocations"] == [{"receivable_id": ids[0], "part": "principal", "amount": "33333.33"},
                                  {"receivable_id": ids[1], "part": "principal", "amount": "33333.33"},
                                  {"receivable_id": ids[2], "part": "principal", "amount": "33333.35"}]
    assert (out["credit_balance"], out["balances"]["posted"], out["balances"]["available"]) == (
        "0.00", "0.00", "200000.00")
    done = api.get(f"/v1/receivables/{receivable}/early-settlement", role="finance")
    assert _error(done)[:2] == (409, "plan_not_settleable")


@pytest.mark.parametrize("grade, count, message", [
    ("G", 2, "Installments are not offered to a buyer graded G."),
    (None, 2, "Installments are not offered to a buyer not graded yet."),
    ("D", 7, "A plan of 7 installments is not offered to a buyer graded D; allowed: 2 to 6."),
])
def test_a_plan_the_policy_does_not_offer_the_grade_is_refused_with_422(api, grade, count, message):
    _, receivable = api.shipped("1000.00", grade=grade)
    for answer in (api.get(f"/v1/receivables/{receivable}/installment-quote?count={count}"),
                   api.post(f"/v1/receivables/{receivable}/installment-plans", {"count": count}, idem="p")):
        assert _error(answer) == (422, "installments_not_allowed", message)


def test_grade_d_gets_six_installments(api):
    _, receivable = api.shipped("600.00", grade="D")
    quoted = api.get(f"/v1/receivables/{receivable}/installment-quote?count=6").json()
    # 60,000 in 6: 10,000 each; fee 0.01 x 60,000 x 5 = 3,000: 500 each
    assert (quoted["grade"], quoted["max_count"], quoted["fee"]) == ("D", 6, "30.00")
    assert {(i["principal"], i["fee"]) for i in quoted["installments"]} == {("100.00", "5.00")}


def test_an_amount_below_the_minimum_is_refused_and_a_count_outside_2_to_12_fails_validation(api):
    _, receivable = api.shipped("499.99")
    assert _error(api.get(f"/v1/receivables/{receivable}/installment-quote?count=2")) == (
        422, "installments_not_allowed", "Installments need at least 500.00 to split; 499.99 is less.")
    for count in (1, 13):
        assert _error(api.get(f"/v1/receivables/{receivable}/installment-quote?count={count}"))[:2] == (
            422, "validation_failed")
        assert _error(api.post(f"/v1/receivables/{receivable}/installment-plans", {"count": count},
                               idem=f"p{count}"))[:2] == (422, "validation_failed")
    assert _error(api.get(f"/v1/receivables/{receivable}/installment-quote"))[:2] == (422, "validation_failed")


def test_another_checkout_key_sees_no_receivable_and_an_analyst_may_not_plan(api):
    _, receivable = api.shipped("1000.00")
    api.keys["stranger"] = make_key(api.client.app, "checkout", name="another-marketplace")
    stranger = api.get(f"/v1/receivables/{receivable}/installment-quote?count=2", role="stranger")
    assert _error(stranger) == (404, "receivable_not_found", f"Receivable {receivable} does not exist.")
    assert _error(api.get("/v1/receivables/987654/installment-quote?count=2", role="admin"))[:2] == (
        404, "receivable_not_found")
    assert api.get(f"/v1/receivables/{receivable}/installment-quote?count=2", role="finance").status_code == 200
    assert api.get(f"/v1/receivables/{receivable}/installment-quote?count=2", role="analyst").status_code == 403
    assert api.post(f"/v1/receivables/{receivable}/installment-plans", {"count": 2}, idem="p",
                    role="analyst").status_code == 403


def test_a_receivable_past_its_due_time_is_not_split(api):
    _, receivable = api.shipped("1000.00")
    api.now.set(datetime(2027, 2, 21, 9, 0))  # due 19 February: two days past due
    refused = api.post(f"/v1/receivables/{receivable}/installment-plans", {"count": 2}, idem="late")
    assert _error(refused)[:2] == (409, "receivable_not_reschedulable")
    assert "is overdue" in _error(refused)[2]
    assert _error(api.get(f"/v1/receivables/{receivable}/early-settlement", role="admin"))[:2] == (
        409, "no_installment_plan")
