"""Servicing end to end at a fixed clock: the API for the buyers' traffic, the daily job for every day.

Two buyers graded B (PD 0.3 %), each with a 10,000.00 line, from Monday 2027-01-04 10:00 UTC,
under the shipped policy (merchant pays the terms fee; late fee at 7 days past due = 25.00 +
1 % of the principal owed, rounded half up; reminders at -3, 0, 7, 15 and 30 days; freeze at
30; default and charge-off at 90; installment fee 1 % a month on the amount, for count - 1
months). Every amount below is worked out by hand.

Buyer X (net 30):
  order PO-X 6,000.00; SHIP-X1 2,500.00 on 01-04 10:00 (due 02-03 10:00), SHIP-X2 3,500.00 on
  01-05 10:00 (due 02-04 10:00); pays 1,000.00 on 01-20: oldest due first, all to X1 (owes 1,500.00).
  X1: reminders on 01-31 (-3), 02-03 (0), 02-10 (7), 02-18 (15), 03-05 (30);
      late fee on 02-10: 25.00 + 1 % x 1,500.00 = 40.00.
  X2: reminders on 02-01, 02-04, 02-11, 02-19, 03-06; late fee on 02-11: 25.00 + 35.00 = 60.00.
  The checkout declines X from 02-04 10:00 (in arrears: X1 a whole day past due); the line is
  frozen on 03-05 (X1 30 days past due). On 03-08 X pays 5,100.00 = 1,540.00 + 3,560.00: the line
  is cured, unfrozen at once, and the next pre-check is approved.
Buyer Y (installments):
  order PO-Y 3,000.00 shipped at once on 01-04 10:00, split into 3 installments at acceptance:
  fee 1 % x 3,000.00 x 2 = 60.00; each 1,000.00 + 20.00, due 02-04, 03-04 and 04-04 10:00.
  Y pays installment 1 (1,020.00) on 02-01 and nothing more. I2 late fee on 03-11 and I3 on
  04-11: 25.00 + 1 % x 1,000.00 = 35.00 each; frozen on 04-03 (I2 30 days past due); on 06-02
  I2 is 90 days past due (03-04 + 90 days): default and charge-off of 2,000.00 principal, the line
  closed. On 06-15 Y pays 500.00: I2's late fee 35.00, fee 20.00, then 445.00 principal, a
  recovery: realised loss 2,000.00 - 445.00 = 1,555.00.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from credit import clock, ledger
from credit.policy import default_policy
from credit.servicing.amounts import RECEIVABLES
from credit.servicing.run import end_of_day, run_day
from credit.servicing.tables import Receivable, ServicingAction
from tests.api.checkout.factories import make_buyer_with_line, make_score
from tests.api.conftest import auth, build_app, make_key, store_settings  # noqa: F401 - a fixture

START = datetime(2027, 1, 4, 10, 0)
LAST_DAY = date(2027, 6, 15)


def _d(month: int, day: int) -> date:
    return date(2027, month, day)


class Book:
    """The buyers' calls through the API, at the clock's moment."""

    def __init__(self, client: TestClient, keys: dict[str, str]) -> None:
        self.client, self.keys, self.calls = client, keys, 0

    def post(self, role: str, path: str, body: dict, expect: int = 201) -> dict:
        self.calls += 1
        answer = self.client.post(path, json=body, headers=auth(self.keys[role]) | {"Idempotency-Key": f"k{self.calls}"})
        assert answer.status_code == expect, answer.text
        return answer.json()

    def precheck(self, buyer: int, amount: str) -> dict:
        return self.post("checkout", "/v1/checkout/prechecks", {"buyer_id": buyer, "amount": amount}, expect=200)


@pytest.fixture
def world(store_settings):  # noqa: ANN001
    with clock.frozen(START) as fixed:
        app = build_app(store_settings)
        with TestClient(app, raise_server_exceptions=False) as client:
            engine = app.state.engine
            x, x_line = make_buyer_with_line(engine, limit_minor=1_000_000)
            y, y_line = make_buyer_with_line(engine, limit_minor=1_000_000)
            for buyer in (x, y):
                make_score(engine, buyer, 0.003)
            keys = {role: make_key(app, role) for role in ("checkout", "payments")}
            yield fixed, app, Book(client, keys), (x, x_line), (y, y_line)


def _receivable(app, receivable_id: int) -> Receivable:  # noqa: ANN001
    with app.state.sessionmaker() as session:
        return session.get(Receivable, receivable_id)


def _actions(app, receivable_id: int | None = None, line_id: int | None = None) -> list[tuple]:  # noqa: ANN001
    with app.state.sessionmaker() as session:
        query = select(ServicingAction.step_key, ServicingAction.as_of, ServicingAction.amount_minor)
        if receivable_id is not None:
            query = query.where(ServicingAction.receivable_id == receivable_id)
        if line_id is not None:
            query = query.where(ServicingAction.line_id == line_id, ServicingAction.receivable_id.is_(None))
        return [tuple(row) for row in session.execute(query.order_by(ServicingAction.as_of, ServicingAction.step_key))]


def _run_days(fixed, app, first: date, last: date) -> None:  # noqa: ANN001
    day = first
    while day <= last:
        fixed.set(end_of_day(day))
        with app.state.sessionmaker() as session, session.begin():
            run_day(session, day, default_policy())
        day += timedelta(days=1)


def _at(fixed, day: date, hour: int = 10) -> None:  # noqa: ANN001
    fixed.set(datetime.combine(day, datetime.min.time()) + timedelta(hours=hour))


def test_two_buyers_from_first_shipment_to_cure_and_to_charge_off_and_recovery(world):
    fixed, app, book, (x, x_line), (y, y_line) = world

    # --- 01-04: X's order and first shipment; Y's order, shipment and installment plan
    hold_x = book.post("checkout", "/v1/checkout/authorizations",
                       {"buyer_id": x, "order_reference": "PO-X", "amount": "6000.00", "terms_days": 30})
    assert hold_x["terms_days"] == 30
    x1 = book.post("checkout", f"/v1/checkout/authorizations/{hold_x['hold_id']}/captures",
                   {"amount": "2500.00", "shipment_reference": "SHIP-X1"}, expect=200)["receivable_id"]
    hold_y = book.post("checkout", "/v1/checkout/authorizations",
                       {"buyer_id": y, "order_reference": "PO-Y", "amount": "3000.00"})
    y0 = book.post("checkout", f"/v1/checkout/authorizations/{hold_y['hold_id']}/captures",
                   {"amount": "3000.00", "shipment_reference": "SHIP-Y1"}, expect=200)["receivable_id"]
    plan = book.post("checkout", f"/v1/receivables/{y0}/installment-plans", {"count": 3})
    assert (plan["fee"], plan["total"]) == ("60.00", "3060.00")
    assert [(i["principal"], i["fee"], i["due_at"][:16]) for i in plan["installments"]] == [
        ("1000.00", "20.00", "2027-02-04T10:00"), ("1000.00", "20.00", "2027-03-04T10:00"),
        ("1000.00", "20.00", "2027-04-04T10:00")]
    i1, i2, i3 = (i["receivable_id"] for i in plan["installments"])
    _run_days(fixed, app, _d(1, 4), _d(1, 4))

    _at(fixed, _d(1, 5))
    x2 = book.post("checkout", f"/v1/checkout/authorizations/{hold_x['hold_id']}/captures",
                   {"amount": "3500.00", "shipment_reference": "SHIP-X2"}, expect=200)["receivable_id"]
    assert _receivable(app, x2).due_at == datetime(2027, 2, 4, 10, 0)
    _run_days(fixed, app, _d(1, 5), _d(1, 19))

    # --- 01-20: X pays 1,000.00, all to X1 (due first)
    _at(fixed, _d(1, 20))
    paid = book.post("payments", f"/v1/credit-lines/{x_line}/repayments", {"amount": "1000.00", "reference": "PAY-X1"})
    assert [(a["receivable_id"], a["part"], a["amount"]) for a in paid["allocations"]] == [(x1, "principal", "1000.00")]
    assert paid["balances"]["posted"] == "5000.00"
    _run_days(fixed, app, _d(1, 20), _d(1, 31))

    # --- 02-01: Y pays installment 1
    _at(fixed, _d(2, 1))
    paid = book.post("payments", f"/v1/credit-lines/{y_line}/repayments", {"amount": "1020.00", "reference": "PAY-Y1"})
    assert [(a["receivable_id"], a["part"], a["amount"]) for a in paid["allocations"]] == [
        (i1, "fee", "20.00"), (i1, "principal", "1000.00")]
    _run_days(fixed, app, _d(2, 1), _d(2, 3))

    # --- 02-04 10:00: X1 is a whole day past due: the checkout declines X (in arrears)
    _at(fixed, _d(2, 4))
    assert book.precheck(x, "10.00")["decline_code"] == "in_arrears"
    _run_days(fixed, app, _d(2, 4), _d(3, 5))

    assert _actions(app, x1) == [
        ("reminder:-3", _d(1, 31), None), ("reminder:0", _d(2, 3), None), ("late_fee:7", _d(2, 10), 4_000),
        ("reminder:7", _d(2, 10), None), ("reminder:15", _d(2, 18), None), ("reminder:30", _d(3, 5), None)]
    assert [a for a in _actions(app, x2) if a[0].startswith("late_fee")] == [("late_fee:7", _d(2, 11), 6_000)]
    assert [a[0] for a in _actions(app, line_id=x_line)] == ["freeze:30"]
    _at(fixed, _d(3, 6))
    assert book.precheck(x, "10.00")["decline_code"] == "line_frozen"
    _run_days(fixed, app, _d(3, 6), _d(3, 7))

    # --- 03-08: X pays everything owed: 1,500.00 + 40.00 + 3,500.00 + 60.00; cured and unfrozen at once
    _at(fixed, _d(3, 8))
    paid = book.post("payments", f"/v1/credit-lines/{x_line}/repayments", {"amount": "5100.00", "reference": "PAY-X2"})
    assert [(a["receivable_id"], a["part"], a["amount"]) for a in paid["allocations"]] == [
        (x1, "late_fee", "40.00"), (x1, "principal", "1500.00"), (x2, "late_fee", "60.00"),
        (x2, "principal", "3500.00")]
    assert paid["line_unfrozen"] is True and paid["credit_balance"] == "0.00"
    assert paid["balances"] == {"limit": "10000.00", "posted": "0.00", "pending": "0.00", "available": "10000.00"}
    assert book.precheck(x, "10.00")["approved"] is True
    assert (_receivable(app, x1).status, _receivable(app, x2).status) == ("paid", "paid")

    # --- Y misses installments 2 and 3: late fees, freeze at 30, default and charge-off at 90
    _run_days(fixed, app, _d(3, 8), _d(6, 14))
    assert [a for a in _actions(app, i2) if a[0].startswith("late_fee")] == [("late_fee:7", _d(3, 11), 3_500)]
    assert [a for a in _actions(app, i3) if a[0].startswith("late_fee")] == [("late_fee:7", _d(4, 11), 3_500)]
    assert [(a[0], a[1]) for a in _actions(app, line_id=y_line)] == [
        ("freeze:30", _d(4, 3)), ("charge_off:90", _d(6, 2)), ("default:90", _d(6, 2))]
    assert [a[0] for a in _actions(app, line_id=x_line)] == ["freeze:30"]  # the repayment lifted it, not the job
    with app.state.sessionmaker() as session:
        charged = session.execute(select(func.sum(RECEIVABLES.c.charged_off_minor))
                                  .where(RECEIVABLES.c.line_id == y_line)).scalar_one()
        closed = ledger.get_line(session, y_line)
    assert charged == 200_000
    assert (closed.status, closed.balances.posted_minor, closed.balances.pending_minor) == ("closed", 0, 0)
    assert (_receivable(app, i2).status, _receivable(app, i3).status) == ("charged_off", "charged_off")

    # --- 06-15: Y pays 500.00: a recovery on I2 (late fee, fee, then principal)
    _at(fixed, _d(6, 15))
    paid = book.post("payments", f"/v1/credit-lines/{y_line}/repayments", {"amount": "500.00", "reference": "PAY-Y2"})
    assert [(a["receivable_id"], a["part"], a["amount"]) for a in paid["allocations"]] == [
        (i2, "late_fee", "35.00"), (i2, "fee", "20.00"), (i2, "principal", "445.00")]
    assert paid["balances"]["posted"] == "0.00"
    recovered = _receivable(app, i2)
    assert (recovered.charged_off_minor, recovered.recovered_minor) == (100_000, 44_500)
    with app.state.sessionmaker() as session:
        loss = session.execute(select(func.sum(RECEIVABLES.c.charged_off_minor - RECEIVABLES.c.recovered_minor))
                               .where(RECEIVABLES.c.line_id == y_line)).scalar_one()
    assert loss == 155_500
    _run_days(fixed, app, _d(6, 15), LAST_DAY)
