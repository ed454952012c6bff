"""Order financing end to end at a fixed clock: to settlement, to recourse and recovery, to write-off.

Every amount is worked out by hand here. The advances accrue at a yearly 12 %: the fee to a
day is 0.12 x principal-days / 365, rounded half up, at least 0.5 % of the advance once the
principal is repaid (the policy's ``min_fee_rate``); the recourse and write-off days are the
policy's 30 and 120.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from credit import clock
from credit.audit import replay
from credit.audit.tables import DecisionRecord
from credit.financing import journal, lifecycle
from credit.financing.errors import FinancingClosed
from credit.financing.orders import COUNTS, run_day
from credit.financing.tables import Financing, FinancingEntry
from credit.policy import default_policy
from tests.financing.factories import (
    book_order_financing,
    book_receivable_financing,
    cancel_order,
    make_order,
    make_parties,
    pay_invoice,
    ship_and_invoice,
)

POLICY = default_policy()
T0 = datetime(2027, 3, 1, 9, 0)


def _entries(session: Session, financing_id: int) -> dict[tuple[str, str], int]:
    sums: dict[tuple[str, str], int] = defaultdict(int)
    for kind, part, amount in session.execute(select(FinancingEntry.kind, FinancingEntry.part,
                                                     FinancingEntry.amount_minor)
                                              .where(FinancingEntry.financing_id == financing_id)):
        sums[(kind, part)] += amount
    return dict(sums)


def _decisions(session: Session) -> list[DecisionRecord]:
    return list(session.execute(select(DecisionRecord).where(DecisionRecord.kind == "order_financing_step")
                                .order_by(DecisionRecord.created_at)).scalars())


def _run(session: Session, day: date, **expected: int) -> dict[str, int]:
    """Run the day at its end (18:00); the counts are those expected, every other count 0."""
    with clock.frozen(datetime.combine(day, datetime.min.time()).replace(hour=18)):
        counts = run_day(session, day, POLICY)
    assert {k: v for k, v in counts.items() if k != "financings"} == {k: expected.get(k, 0) for k in COUNTS
                                                                      if k != "financings"}
    return counts


def _rerun_books_nothing(session: Session, day: date) -> None:
    entries = session.scalar(select(func.count()).select_from(FinancingEntry))
    decisions = len(_decisions(session))
    _run(session, day)
    assert session.scalar(select(func.count()).select_from(FinancingEntry)) == entries
    assert len(_decisions(session)) == decisions


def test_an_order_advance_is_invoiced_paid_in_two_payments_settled_and_the_surplus_released(session):
    with clock.frozen(T0):
        buyer, supplier = make_parties(session)
        order = make_order(session, buyer, supplier, 1_200_000, at=T0)  # 12,000.00
        financing_id = book_order_financing(session, order, 1_000_000, annual_rate="0.12", tenor_days=60,
                                            booked_on=T0.date(), now=T0)
        journal.pay_out(session, financing_id, reference="PAY-1", value_date=date(2027, 3, 1), actor="payments",
                        now=T0)
    f = session.get(Financing, financing_id)
    assert (f.status, f.paid_out_minor, f.due_on) == ("paid_out", 1_000_000, date(2027, 4, 30))

    _run(session, date(2027, 3, 9))  # not shipped yet: nothing to do
    invoice = ship_and_invoice(session, order, 1_200_000, at=datetime(2027, 3, 10, 10, 0))
    _run(session, date(2027, 3, 10), invoiced=1)
    session.refresh(f)
    assert (f.status, f.invoice_id) == ("invoiced", invoice)
    _rerun_books_nothing(session, date(2027, 3, 10))

    pay_invoice(session, invoice, 400_000, at=datetime(2027, 3, 21, 14, 0))
    pay_invoice(session, invoice, 800_000, at=datetime(2027, 4, 10, 8, 30))
    # the job runs on 25 March: the first payment is booked on its own day, 21 March (20 days out)
    _run(session, date(2027, 3, 25), collections=1, collected_minor=400_000)
    session.refresh(f)
    # principal-days to 21 March: 1,000,000 x 20 = 20,000,000; fee 0.12 x 20,000,000 / 365 = 6,575.34 -> 6,575;
    # the 400,000 repays principal first: 600,000 outstanding, the fee 6,575 still owed
    assert _entries(session, financing_id) == {("payout", "principal"): 1_000_000, ("fee", "fee"): 6_575,
                                               ("collection", "principal"): 400_000}
    amounts = journal.amounts(f)
    assert (amounts.outstanding, amounts.fee_owed, f.status) == (600_000, 6_575, "invoiced")

    # 10 April, 20 days later: principal-days 1,000,000 x 40 - 400,000 x 20 = 32,000,000;
    # fee 0.12 x 32,000,000 / 365 = 10,520.55 -> 10,521 (above the minimum 0.005 x 1,000,000 = 5,000),
    # 3,946 more charged; the 800,000 pays 600,000 principal, 10,521 fee, and 189,479 goes to the supplier
    _run(session, date(2027, 4, 10), collections=1, collected_minor=800_000, settled=1)
    session.refresh(f)
    assert _entries(session, financing_id) == {
        ("payout", "principal"): 1_000_000, ("fee", "fee"): 10_521, ("collection", "principal"): 1_000_000,
        ("collection", "fee"): 10_521, ("release", "surplus"): 189_479}
    assert (f.status, f.collected_minor, f.fee_collected_minor, f.released_minor) == (
        "settled", 1_000_000, 10_521, 189_479)
    assert f.closed_at is not None and journal.amounts(f).owed == 0
    booked = session.execute(select(FinancingEntry.source, FinancingEntry.booked_on).where(
        FinancingEntry.financing_id == financing_id, FinancingEntry.kind == "collection",
        FinancingEntry.part == "principal").order_by(FinancingEntry.booked_on)).all()
    assert [day for _, day in booked] == [date(2027, 3, 21), date(2027, 4, 10)]
    _rerun_books_nothing(session, date(2027, 4, 10))
    assert _decisions(session) == []  # settled without a judgement


def test_an_order_cancelled_before_shipment_goes_to_recourse_and_the_supplier_repays(session):
    with clock.frozen(T0):
        buyer, supplier = make_parties(session)
        order = make_order(session, buyer, supplier, 600_000, at=T0)
        financing_id = book_order_financing(session, order, 500_000, annual_rate="0.12", tenor_days=60,
                                            booked_on=T0.date(), now=T0)
        journal.pay_out(session, financing_id, reference="PAY-2", value_date=date(2027, 3, 1), actor="payments",
                        now=T0)
    cancel_order(session, order, at=datetime(2027, 3, 15, 11, 0))
    _run(session, date(2027, 3, 14))  # cancelled after the end of the 14th: not known yet
    # 15 March: fee accrued 0.12 x 500,000 x 14 / 365 = 2,301.37 -> 2,301; the supplier owes 502,301
    _run(session, date(2027, 3, 15), recourse=1, decisions=1)
    f = session.get(Financing, financing_id)
    session.refresh(f)
    assert f.status == "recourse"
    [decision] = _decisions(session)
    assert (decision.reason_codes, decision.amount_minor, decision.firm_id) == (
        ["recourse_order_cancelled"], 502_301, supplier)
    assert decision.next_actions == ["repay_advance"] and decision.amounts == {"recourse_minor": 502_301}
    assert replay(session, decision.decision_id).same
    _rerun_books_nothing(session, date(2027, 3, 15))
    _run(session, date(2027, 3, 16))  # under recourse: no second decision on a later day

    with clock.frozen(datetime(2027, 3, 20, 12, 0)) as at:
        # 20 March: fee to date 0.12 x 500,000 x 19 / 365 = 3,123.29 -> 3,123; 300,000 repays principal
        lifecycle.receive(session, financing_id, 300_000, kind="recovery", source="api:REC-1",
                          booked_on=date(2027, 3, 20), actor="finance", now=at.now(), policy=POLICY)
        amounts = journal.amounts(f)
        assert (amounts.outstanding, amounts.fee_charged, amounts.fee_owed) == (200_000, 3_123, 3_123)
        # 30 March: principal-days 500,000 x 29 - 300,000 x 10 = 11,500,000; fee 0.12 x 11,500,000 / 365
        # = 3,780.82 -> 3,781 (the minimum 2,500 is less); owed 200,000 + 3,781 = 203,781, repaid in full
        lifecycle.receive(session, financing_id, 203_781, kind="recovery", source="api:REC-2",
                          booked_on=date(2027, 3, 30), actor="finance", now=at.now(), policy=POLICY)
    session.refresh(f)
    assert _entries(session, financing_id) == {("payout", "principal"): 500_000, ("fee", "fee"): 3_781,
                                               ("recovery", "principal"): 500_000, ("recovery", "fee"): 3_781}
    assert (f.status, f.recovered_minor, f.fee_recovered_minor, f.released_minor) == ("settled", 500_000, 3_781, 0)
    with pytest.raises(FinancingClosed):
        lifecycle.receive(session, financing_id, 1, kind="recovery", source="api:REC-3",
                          booked_on=date(2027, 3, 31), actor="finance", now=T0, policy=POLICY)


def test_an_advance_past_due_goes_to_recourse_then_is_written_off(session):
    with clock.frozen(T0):
        buyer, supplier = make_parties(session)
        order = make_order(session, buyer, supplier, 400_000, at=T0)
        financing_id = book_order_financing(session, order, 300_000, annual_rate="0.12", tenor_days=30,
                                            booked_on=T0.date(), now=T0)
        journal.pay_out(session, financing_id, reference="PAY-3", value_date=date(2027, 3, 1), actor="payments",
                        now=T0)
    invoice = ship_and_invoice(session, order, 400_000, at=datetime(2027, 3, 5, 9, 0))
    _run(session, date(2027, 3, 5), invoiced=1)
    pay_invoice(session, invoice, 100_000, at=datetime(2027, 3, 31, 16, 0))
    # 29 April: 29 days past the due date 31 March, not yet 30. The payment of 31 March is booked:
    # fee 0.12 x 300,000 x 30 / 365 = 2,958.90 -> 2,959; 100,000 repays principal, 200,000 outstanding
    _run(session, date(2027, 4, 29), collections=1, collected_minor=100_000)
    f = session.get(Financing, financing_id)
    session.refresh(f)
    assert (f.status, journal.amounts(f).outstanding, f.fee_charged_minor) == ("invoiced", 200_000, 2_959)

    # 30 April, 30 days past due: principal-days 300,000 x 60 - 100,000 x 30 = 15,000,000, fee 0.12 x 15,000,000
    # / 365 = 4,931.51 -> 4,932 (2,959 charged + 1,973 accrued); the supplier owes 200,000 + 4,932 = 204,932
    _run(session, date(2027, 4, 30), recourse=1, decisions=1)
    session.refresh(f)
    [recourse] = _decisions(session)
    assert f.status == "recourse"
    assert (recourse.reason_codes, recourse.amounts) == (["recourse_past_due"], {"recourse_minor": 204_932})
    assert f.fee_charged_minor == 2_959  # a judgement books no money

    with clock.frozen(datetime(2027, 5, 10, 12, 0)) as at:
        # 10 May: principal-days 15,000,000 + 200,000 x 10 = 17,000,000 -> fee 5,588.97... -> 5,589;
        # the supplier's 50,000 repays principal: 150,000 outstanding
        lifecycle.receive(session, financing_id, 50_000, kind="recovery", source="api:REC-4",
                          booked_on=date(2027, 5, 10), actor="finance", now=at.now(), policy=POLICY)
    assert (journal.amounts(f).outstanding, journal.amounts(f).fee_owed) == (150_000, 5_589)

    _run(session, date(2027, 8, 27))  # 119 days under recourse
    # 28 August, 120 days after 30 April: principal-days 17,000,000 + 150,000 x 110 = 33,500,000;
    # fee 0.12 x 33,500,000 / 365 = 11,013.70 -> 11,014; written off: 150,000 principal + 11,014 fee
    _run(session, date(2027, 8, 28), written_off=1, written_off_minor=161_014, decisions=1)
    session.refresh(f)
    assert _entries(session, financing_id) == {
        ("payout", "principal"): 300_000, ("fee", "fee"): 11_014, ("collection", "principal"): 100_000,
        ("recovery", "principal"): 50_000, ("write_off", "principal"): 150_000, ("write_off", "fee"): 11_014}
    assert (f.status, f.written_off_minor, f.fee_written_off_minor) == ("written_off", 150_000, 11_014)
    assert journal.amounts(f).owed == 0 and f.closed_at is not None
    recourse_again, write_off = _decisions(session)
    assert recourse_again.decision_id == recourse.decision_id
    assert (write_off.reason_codes, write_off.amount_minor) == (["written_off_after_recourse"], 161_014)
    assert write_off.amounts == {"write_off_principal_minor": 150_000, "write_off_fee_minor": 11_014}
    entry_decisions = set(session.execute(select(FinancingEntry.decision_id).where(
        FinancingEntry.financing_id == financing_id, FinancingEntry.kind == "write_off")).scalars())
    assert entry_decisions == {write_off.decision_id}
    assert all(replay(session, d.decision_id).same for d in _decisions(session))
    _rerun_books_nothing(session, date(2027, 8, 28))


def test_an_invoice_already_financed_as_a_receivable_is_not_taken_and_the_advance_waits_for_recourse(session):
    with clock.frozen(T0):
        buyer, supplier = make_parties(session)
        order = make_order(session, buyer, supplier, 400_000, at=T0)
        financing_id = book_order_financing(session, order, 300_000, annual_rate="0.12", tenor_days=30,
                                            booked_on=T0.date(), now=T0)
        journal.pay_out(session, financing_id, reference="PAY-4", value_date=date(2027, 3, 1), actor="payments",
                        now=T0)
    invoice = ship_and_invoice(session, order, 400_000, at=datetime(2027, 3, 5, 9, 0))
    receivable = book_receivable_financing(session, invoice, 350_000, now=datetime(2027, 3, 5, 10, 0))
    pay_invoice(session, invoice, 400_000, at=datetime(2027, 3, 20, 9, 0))  # the receivable's money, not ours
    _run(session, date(2027, 3, 5), double_financed=1, decisions=1)
    _run(session, date(2027, 3, 6))  # noted once
    _run(session, date(2027, 3, 25))
    f = session.get(Financing, financing_id)
    session.refresh(f)
    assert (f.status, f.invoice_id, f.collected_minor) == ("paid_out", None, 0)
    assert session.get(Financing, receivable).invoice_id == invoice
    [noted] = _decisions(session)
    assert (noted.reason_codes, noted.next_actions) == (["order_invoice_financed_elsewhere"], ["contact_finance"])
    # 30 April, 30 days past the due date 31 March: fee 0.12 x 300,000 x 60 / 365 = 5,917.81 -> 5,918
    _run(session, date(2027, 4, 30), recourse=1, decisions=1)
    session.refresh(f)
    assert f.status == "recourse" and _decisions(session)[-1].amounts == {"recourse_minor": 305_918}
    assert all(replay(session, d.decision_id).same for d in _decisions(session))


def test_an_order_cancelled_before_the_payout_cancels_its_financing(session):
    with clock.frozen(T0):
        buyer, supplier = make_parties(session)
        order = make_order(session, buyer, supplier, 400_000, at=T0)
        financing_id = book_order_financing(session, order, 300_000, annual_rate="0.12", tenor_days=30,
                                            booked_on=T0.date(), now=T0)
    cancel_order(session, order, at=datetime(2027, 3, 2, 9, 0))
    _run(session, date(2027, 3, 2), cancelled=1, decisions=1)
    f = session.get(Financing, financing_id)
    session.refresh(f)
    assert (f.status, f.paid_out_minor) == ("cancelled", 0)
    assert _decisions(session)[0].reason_codes == ["order_cancelled_before_payout"]
    _rerun_books_nothing(session, date(2027, 3, 2))


def test_run_day_refuses_a_datetime(session):
    with pytest.raises(TypeError, match="as_of"):
        run_day(session, T0, POLICY)
