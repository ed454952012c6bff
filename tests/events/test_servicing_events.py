"""The daily servicing job and repayments announce receivables due soon, overdue and paid, and each dunning step.

One buyer (line 10,000.00) owes 1,234.56 shipped on 2027-03-01 10:00 on net 30: due 2027-03-31
10:00. The job for day D judges at D + 1 00:00 (so the receivable is -3 days past due on
03-28, 0 on 03-31, 1 whole day past due and overdue on 04-01). Policy: reminders at -3, 0, 7,
15, 30 days; late fee at 7 of 25.00 + 1% of 1,234.56 = 37.35; freeze at 30.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from credit import clock
from credit.servicing.repayments import receive, return_repayment
from credit.servicing.run import run_day
from tests.decisions.policies import POLICY
from tests.events.recorded import one, types, written
from tests.servicing.factories import Booked, book_receivable

ISSUED_AT = datetime(2027, 3, 1, 10, 0)
DUE_DAY = date(2027, 3, 31)
DUE_AT = "2027-03-31T10:00:00.000000Z"


def run(engine: Engine, offset: int, *, hour: int = 2) -> None:
    """The job for DUE_DAY + offset, committed, with the clock at the next day ``hour``:00."""
    day = DUE_DAY + timedelta(days=offset)
    with clock.frozen(datetime.combine(day + timedelta(days=1), time(hour))), Session(engine) as session, \
            session.begin():
        run_day(session, day, POLICY)


@pytest.fixture
def booked(store: Engine) -> Booked:
    with Session(store) as session, session.begin():
        return book_receivable(session, principal_minor=123_456, issued_at=ISSUED_AT, held_minor=200_000)


def _owed(principal: str, late_fee: str, total: str) -> dict[str, str]:
    return {"principal": principal, "fee": "0.00", "late_fee": late_fee, "total": total}


def test_a_receivable_is_announced_due_soon_at_the_first_reminder_then_overdue_once(store, booked):
    for offset in (-5, -4, -3, -3, -2, 0, 1, 1, 2):  # -3 and 1 twice: a day run again announces nothing new
        run(store, offset)
    with Session(store) as session:
        due_soon = one(session, "receivable.due_soon")
        overdue = one(session, "receivable.overdue")
        steps = written(session, "dunning.step_taken")
    assert (due_soon.object_type, due_soon.object_id, due_soon.firm_id) == (
        "receivable", str(booked.receivable_id), booked.firm_id)
    assert due_soon.data == {"receivable_id": booked.receivable_id, "line_id": booked.line_id,
                             "hold_id": booked.hold_id, "status": "open", "due_at": DUE_AT, "days_past_due": -3,
                             "currency": "EUR", "owed": _owed("1234.56", "0.00", "1234.56")}
    assert due_soon.occurred_at == datetime(2027, 3, 29, 2)  # booked when the job ran, not at its judging moment
    assert overdue.data | {"owed": None} == {
        "receivable_id": booked.receivable_id, "line_id": booked.line_id, "hold_id": booked.hold_id,
        "status": "overdue", "due_at": DUE_AT, "days_past_due": 1, "currency": "EUR", "owed": None}
    assert overdue.occurred_at == datetime(2027, 4, 2, 2)
    # the reminders at -3 and 0, nothing else yet
    assert [(s.data["step_key"], s.data["as_of"], s.data["days_past_due"]) for s in steps] == [
        ("reminder:-3", "2027-03-28", -3), ("reminder:0", "2027-03-31", 0)]


def test_each_dunning_step_is_announced_with_its_amount_and_the_freeze_on_the_line(store, booked):
    for offset in (-3, 0, 7, 7, 15, 30, 30):
        run(store, offset)
    with Session(store) as session:
        steps = written(session, "dunning.step_taken")
        frozen = one(session, "credit_line.frozen")
    assert [(s.data["subject"], s.data["step"], s.data["step_key"], s.data["amount"]) for s in steps] == [
        (f"receivable:{booked.receivable_id}", "reminder", "reminder:-3", None),
        (f"receivable:{booked.receivable_id}", "reminder", "reminder:0", None),
        (f"receivable:{booked.receivable_id}", "reminder", "reminder:7", None),
        (f"receivable:{booked.receivable_id}", "late_fee", "late_fee:7", "37.35"),
        (f"receivable:{booked.receivable_id}", "reminder", "reminder:15", None),
        (f"receivable:{booked.receivable_id}", "reminder", "reminder:30", None),
        (f"line:{booked.line_id}", "freeze", "freeze:30", None),
    ]
    late_fee = steps[3]
    assert (late_fee.object_type, late_fee.firm_id) == ("dunning_step", booked.firm_id)
    assert late_fee.object_id == str(late_fee.data["action_id"])
    assert (late_fee.data["reason_code"], late_fee.data["days_past_due"], late_fee.data["receivable_id"],
            late_fee.data["line_id"], late_fee.data["currency"]) == (
        "late_fee_charged", 7, booked.receivable_id, booked.line_id, "EUR")
    assert steps[-1].data["receivable_id"] is None
    assert (frozen.data["status"], frozen.data["frozen_by"], frozen.data["posted"]) == ("frozen", "servicing",
                                                                                        "1234.56")


def test_paying_in_full_announces_paid_and_the_cure_unfreezes_the_line(store, booked):
    for offset in (-3, 0, 7, 30):
        run(store, offset)
    # owed 1,234.56 + 37.35 late fee = 1,271.91; paid on day 31, 14:00
    with clock.frozen(datetime(2027, 5, 1, 14)), Session(store) as session, session.begin():
        receive(session, line_id=booked.line_id, amount_minor=127_191, reference="PAY-1", received_by="payments",
                policy=POLICY, now=clock.now())
    with Session(store) as session:
        paid = one(session, "receivable.paid")
        unfrozen = one(session, "credit_line.unfrozen")
    assert paid.data == {"receivable_id": booked.receivable_id, "line_id": booked.line_id, "hold_id": booked.hold_id,
                         "status": "paid", "due_at": DUE_AT, "days_past_due": 31, "currency": "EUR",
                         "owed": _owed("0.00", "0.00", "0.00")}
    assert paid.occurred_at == datetime(2027, 5, 1, 14)
    # the order's other 765.44 (2,000.00 held - 1,234.56 shipped) is still held: 10,000.00 - 765.44 = 9,234.56
    assert (unfrozen.data["status"], unfrozen.data["posted"], unfrozen.data["pending"],
            unfrozen.data["available"]) == ("active", "0.00", "765.44", "9234.56")


def test_a_returned_payment_reopens_the_receivable_and_its_next_payment_is_announced_again(store, booked):
    with clock.frozen(datetime(2027, 3, 20, 9)), Session(store) as session, session.begin():
        receipt = receive(session, line_id=booked.line_id, amount_minor=123_456, reference="PAY-1",
                          received_by="payments", policy=POLICY, now=clock.now())
    with clock.frozen(datetime(2027, 4, 5, 9)), Session(store) as session, session.begin():
        return_repayment(session, receipt.repayment_id, reason="insufficient funds", policy=POLICY, now=clock.now())
    with clock.frozen(datetime(2027, 4, 6, 9)), Session(store) as session, session.begin():
        receive(session, line_id=booked.line_id, amount_minor=123_456, reference="PAY-2", received_by="payments",
                policy=POLICY, now=clock.now())
    with Session(store) as session:
        events = [(e.type, e.data["status"]) for e in written(session, "receivable.paid", "receivable.overdue")]
    # paid early; the return makes it owed again 5 days past due (overdue); paid again
    assert events == [("receivable.paid", "paid"), ("receivable.overdue", "overdue"), ("receivable.paid", "paid")]


def test_a_job_rolled_back_announces_nothing(store, booked):
    day = DUE_DAY + timedelta(days=7)
    with clock.frozen(datetime.combine(day + timedelta(days=1), time(2))), Session(store) as session:
        run_day(session, day, POLICY)
        assert "dunning.step_taken" in types(session)
        session.rollback()
    with Session(store) as session:
        assert [t for t in types(session) if not t.startswith(("credit_line.", "authorization."))] == []
