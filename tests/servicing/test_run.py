"""The daily servicing job on SQLite and PostgreSQL, at fixed clocks, over one buyer's receivable.

The buyer has a 10,000.00 line; an order held for 2,000.00 had 1,234.56 shipped on
2027-03-01 10:00 on net 30, due 2027-03-31 10:00. The job for day D judges the book at
D + 1 at 00:00, so the receivable is 0 days past due on 2027-03-31 and 7 on 2027-04-07.
Policy: reminders at -3, 0, 7, 15, 30; late fee at 7 of 25.00 + 1% of the open principal
(1,234.56 -> 12.3456 rounds half up to 12.35: 37.35); freeze at 30; default and charge-off at 90.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from credit import clock, ledger
from credit.audit import DecisionRecord, replay
from credit.ledger.journal import LINES, TRANSFERS
from credit.servicing.receivables import book_refund
from credit.servicing.repayments import receive
from credit.servicing.run import DayReport, end_of_day, run_day
from credit.servicing.status import line_days_past_due
from credit.servicing.tables import BookAgeing, Receivable, ServicingAction
from credit.store.tables import Base
from tests.decisions.policies import POLICY
from tests.servicing.factories import Booked, book_receivable

ISSUED_AT = datetime(2027, 3, 1, 10, 0)
DUE_DAY = date(2027, 3, 31)
PRINCIPAL = 123_456
HELD = 200_000
LATE_FEE = 3_735  # 2,500 + round_half_up(0.01 x 123,456 = 1,234.56) = 2,500 + 1,235

ACTIONS = ServicingAction.__table__
AGEING = BookAgeing.__table__
RECEIVABLES = Receivable.__table__
SNAPSHOT_TABLES = ("receivables", "repayments", "repayment_allocations", "servicing_actions", "book_ageing",
                   "credit_lines", "holds", "ledger_transfers", "decisions", "policies", "events")
"""Every table the job may write: servicing, the ledger, the audit trail and the events of what it changed."""


def day(offset: int) -> date:
    return DUE_DAY + timedelta(days=offset)


def run(engine: Engine, offset: int, *, hour: int = 2) -> DayReport:
    """``run_day`` for DUE_DAY + offset, committed, with the clock at the next day ``hour``:00."""
    with clock.frozen(datetime.combine(day(offset + 1), time(hour))), Session(engine) as session, session.begin():
        return run_day(session, day(offset), POLICY)


def run_days(engine: Engine, offsets: Iterable[int]) -> list[DayReport]:
    return [run(engine, offset) for offset in offsets]


@pytest.fixture
def booked(store: Engine) -> Booked:
    with Session(store) as session, session.begin():
        return book_receivable(session, principal_minor=PRINCIPAL, issued_at=ISSUED_AT, held_minor=HELD)


def actions(engine: Engine) -> list[tuple[int, str, int | None]]:
    """(day offset from the due date, step key, amount) of every action, in booking order."""
    with engine.connect() as connection:
        rows = connection.execute(select(ACTIONS.c.as_of, ACTIONS.c.step_key, ACTIONS.c.amount_minor)
                                  .order_by(ACTIONS.c.action_id)).all()
    return [((on - DUE_DAY).days, key, amount) for on, key, amount in rows]


def receivable(engine: Engine, receivable_id: int):  # noqa: ANN201
    with engine.connect() as connection:
        return connection.execute(select(RECEIVABLES).where(RECEIVABLES.c.receivable_id == receivable_id)).one()


def ageing(engine: Engine, offset: int) -> tuple:
    with engine.connect() as connection:
        return connection.execute(select(AGEING.c.days_past_due, AGEING.c.bucket, AGEING.c.open_minor,
                                         AGEING.c.overdue_minor, AGEING.c.charged_off_minor)
                                  .where(AGEING.c.as_of == day(offset))).one()


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table the job may write, in primary-key order."""
    with engine.connect() as connection:
        return {name: [tuple(row) for row in connection.execute(
                    select(table).order_by(*table.primary_key.columns))]
                for name, table in Base.metadata.tables.items() if name in SNAPSHOT_TABLES}


# the schedule


def test_reminders_on_the_configured_days_a_late_fee_at_7_and_a_freeze_at_30(store, booked):
    run_days(store, range(-5, 35))

    assert actions(store) == [
        (-3, "reminder:-3", None), (0, "reminder:0", None), (7, "reminder:7", None), (7, "late_fee:7", LATE_FEE),
        (15, "reminder:15", None), (30, "reminder:30", None), (30, "freeze:30", None),
    ]
    with Session(store) as session:
        line = ledger.get_line(session, booked.line_id)
    assert (line.status, line.balances.posted_minor) == ("frozen", PRINCIPAL)


def test_the_late_fee_is_owed_on_the_receivable_and_in_the_ageing(store, booked):
    report = run(store, 7)

    assert report.steps == {"reminder": 1, "late_fee": 1}
    assert report.amounts_minor == {"late_fee": 3_735}
    row = receivable(store, booked.receivable_id)
    assert (row.late_fee_minor, row.status) == (3_735, "overdue")
    # 1,234.56 + 37.35 = 1,271.91 owed, all of it past due
    assert ageing(store, 7) == (7, "1-30", 127_191, 127_191, 0)


def test_the_late_fee_is_on_what_is_still_open_after_a_partial_payment(store, booked):
    with Session(store) as session, session.begin():  # 234.56 paid: 1,000.00 of principal open
        session.execute(update(RECEIVABLES).values(paid_principal_minor=23_456))
        ledger.repay(session, booked.line_id, 23_456, now=ISSUED_AT + timedelta(days=20))

    run(store, 7)

    assert actions(store)[-1] == (7, "late_fee:7", 3_500)  # 2,500 + 1% x 100,000
    assert ageing(store, 7) == (7, "1-30", 103_500, 103_500, 0)


def test_a_receivable_turns_overdue_with_time_alone(store, booked):
    run(store, 0)
    assert receivable(store, booked.receivable_id).status == "open"
    run(store, 1)
    assert receivable(store, booked.receivable_id).status == "overdue"
    assert ageing(store, 0) == (0, "current", PRINCIPAL, 0, 0)
    assert ageing(store, 1) == (1, "1-30", PRINCIPAL, PRINCIPAL, 0)


def test_a_later_day_repeats_no_reminder_and_no_late_fee(store, booked):
    run_days(store, [7, 8, 9, 14])

    assert actions(store) == [(7, "reminder:7", None), (7, "late_fee:7", LATE_FEE)]
    assert receivable(store, booked.receivable_id).late_fee_minor == LATE_FEE


def test_a_day_the_job_missed_is_caught_up_once(store, booked):
    reports = run_days(store, [12, 13])

    assert actions(store) == [(12, "reminder:7", None), (12, "late_fee:7", LATE_FEE)]
    assert reports[1].steps == {}


def test_the_line_freezes_at_30_and_ages_into_31_60(store, booked):
    run_days(store, [29, 30, 31])

    with Session(store) as session:
        line = session.execute(select(LINES)).one()
    assert (line.status, line.frozen_by) == ("frozen", "servicing")
    assert ageing(store, 29)[:2] == (29, "1-30")
    assert ageing(store, 30)[:2] == (30, "1-30")
    assert ageing(store, 31)[:2] == (31, "31-60")
    with Session(store) as session:  # the snapshot's rule is the servicing's one
        assert line_days_past_due(session, booked.line_id, end_of_day(day(31))) == 31


def test_a_line_cured_outside_a_repayment_is_unfrozen_by_the_next_day(store, booked):
    run_days(store, [7, 30])
    with Session(store) as session, session.begin():
        # the late fee paid: a repayment cures nothing while the principal is 31 days past due ...
        receipt = receive(session, line_id=booked.line_id, amount_minor=LATE_FEE, reference="PAY-1",
                          received_by="payments", policy=POLICY, now=datetime(2027, 5, 1, 9))
        assert not receipt.unfrozen
        # ... then the seller takes all the goods back: nothing is owed, and no repayment lifted the freeze
        book_refund(session, hold_id=booked.hold_id, amount_minor=PRINCIPAL, reference="CN-1", authorized_by=None,
                    now=datetime(2027, 5, 1, 10))

    report = run(store, 31)

    assert report.steps == {"unfreeze": 1}
    assert actions(store)[-1] == (31, "unfreeze:30", None)
    with Session(store) as session:
        line = ledger.get_line(session, booked.line_id)
    assert (line.status, line.frozen_by) == ("active", None)
    assert receivable(store, booked.receivable_id).status == "paid"
    assert ageing(store, 31) == (0, "current", 0, 0, 0)


def test_a_repayment_that_cures_the_line_leaves_the_job_nothing_to_do(store, booked):
    run_days(store, [7, 30])
    with Session(store) as session, session.begin():  # 1,234.56 + the late fee 37.35
        receipt = receive(session, line_id=booked.line_id, amount_minor=PRINCIPAL + LATE_FEE, reference="PAY-1",
                          received_by="payments", policy=POLICY, now=datetime(2027, 5, 1, 9))
        assert receipt.unfrozen

    assert run(store, 31).steps == {}
    assert ageing(store, 31) == (0, "current", 0, 0, 0)


def test_a_line_frozen_by_finance_is_left_to_finance(store, booked):
    with Session(store) as session, session.begin():
        ledger.freeze(session, booked.line_id, by="finance")

    run_days(store, [30, 31])

    assert [key for _, key, _ in actions(store)] == ["reminder:30", "late_fee:7"]
    with Session(store) as session:
        assert session.execute(select(LINES.c.status, LINES.c.frozen_by)).one() == ("frozen", "finance")


def test_at_90_days_the_line_defaults_its_receivable_is_charged_off_and_the_line_closes(store, booked):
    run_days(store, [7, 30])
    report = run(store, 90)

    assert report.steps == {"default": 1, "charge_off": 1}
    assert report.amounts_minor == {"default": PRINCIPAL, "charge_off": PRINCIPAL}
    assert actions(store)[-2:] == [(90, "default:90", PRINCIPAL), (90, "charge_off:90", PRINCIPAL)]
    with Session(store) as session:
        line = ledger.get_line(session, booked.line_id)
        transfers = session.execute(select(TRANSFERS.c.kind, TRANSFERS.c.amount_minor)
                                    .order_by(TRANSFERS.c.transfer_id)).all()
        assert ledger.reconcile(session).ok
    assert (line.status, line.balances.posted_minor, line.balances.pending_minor) == ("closed", 0, 0)
    # held 2,000.00, shipped 1,234.56; the 765.44 left on the hold is voided at default
    assert [tuple(t) for t in transfers] == [("hold", HELD), ("post", PRINCIPAL), ("void", HELD - PRINCIPAL),
                                             ("charge_off", PRINCIPAL)]
    row = receivable(store, booked.receivable_id)
    assert (row.status, row.charged_off_minor, row.recovered_minor) == ("charged_off", PRINCIPAL, 0)
    # still owed (collections go on): 1,271.91; realised loss 1,234.56; charged off counts 90+
    assert ageing(store, 90) == (90, "90+", 127_191, 127_191, PRINCIPAL)


def test_a_charged_off_line_is_left_alone_afterwards_and_stays_90_plus(store, booked):
    run_days(store, [90, 91])

    assert [key for offset, key, _ in actions(store) if offset == 91] == []
    assert ageing(store, 91)[:2] == (91, "90+")


def test_a_recovery_after_charge_off_reduces_the_realised_loss_in_the_ageing(store, booked):
    run_days(store, [7, 30, 90])
    with Session(store) as session, session.begin():  # 500.00: the late fee 37.35 first, then 462.65 of principal
        receive(session, line_id=booked.line_id, amount_minor=50_000, reference="PAY-9", received_by="payments",
                policy=POLICY, now=datetime(2027, 6, 30, 9))

    assert run(store, 91).steps == {}

    row = receivable(store, booked.receivable_id)
    assert (row.status, row.charged_off_minor, row.recovered_minor) == ("charged_off", PRINCIPAL, 46_265)
    # owed 1,234.56 - 462.65 = 771.91; realised loss 1,234.56 - 462.65 = 771.91
    assert ageing(store, 91) == (91, "90+", 77_191, 77_191, 77_191)


def test_every_step_is_an_audited_decision_that_replays(store, booked):
    run_days(store, [-3, 7, 30, 90])

    with Session(store) as session:
        records = {r.decision_id: r for r in session.execute(select(DecisionRecord)).scalars()}
        steps = session.execute(select(ACTIONS.c.decision_id, ACTIONS.c.reason_code, ACTIONS.c.subject)).all()
        assert all(replay(session, decision_id).same for decision_id in records)
    assert {r.kind for r in records.values()} == {"dunning"}
    assert {r.actor for r in records.values()} == {"servicing"}
    for decision_id, reason_code, subject in steps:
        assert reason_code in records[decision_id].reason_codes
        assert records[decision_id].request["subject"] == subject
    # one decision per subject and day with steps: -3, 7 (reminder + fee), 30 (receivable; line), 90 (line)
    assert len(records) == 5
    assert sorted(r.amount_minor for r in records.values() if r.amount_minor is not None) == [LATE_FEE, PRINCIPAL]


def test_a_receivable_issued_after_the_day_is_not_serviced_that_day(store, booked):
    with clock.frozen(datetime(2027, 3, 1, 2)), Session(store) as session, session.begin():
        report = run_day(session, date(2027, 2, 28), POLICY)

    assert (report.receivables_checked, report.lines_checked, report.lines_aged) == (0, 0, 0)
    assert actions(store) == []


# idempotency


@pytest.mark.parametrize("last", [-3, 7, 30, 31, 90])
def test_a_second_run_for_the_same_day_changes_nothing(store, booked, last):
    run_days(store, [d for d in (-3, 0, 7, 15, 30, 31, 90) if d < last])
    run(store, last)
    before = snapshot(store)

    again = run(store, last, hour=9)  # later that day: the clock moved, the day did not

    assert snapshot(store) == before
    assert (again.steps, again.amounts_minor, again.decisions, again.ageing_written) == ({}, {}, 0, 0)
    assert before["servicing_actions"] and before["book_ageing"]


def test_the_day_is_judged_at_its_end():
    assert end_of_day(date(2027, 12, 31)) == datetime(2028, 1, 1, 0, 0)


def test_a_datetime_is_not_a_servicing_day(store):
    with Session(store) as session, pytest.raises(TypeError, match="`as_of` must be a date"):
        run_day(session, datetime(2027, 4, 7, 12), POLICY)
