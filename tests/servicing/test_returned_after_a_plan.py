"""A payment returned after its receivable was split into installments: what it paid is owed again.

The returned money was paid on the split receivable before the split, so it is owed again there,
from that receivable's own due date (the plan took only what was still owed at acceptance). It
must then be payable, and written off with the rest if the buyer defaults. Amounts by hand,
default policy: the merchant pays the terms fee, a plan costs 1 % a month after the first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from credit import clock, ledger
from credit.servicing import installments, repayments
from credit.servicing.errors import PlanNotSettleable
from credit.servicing.run import run_day
from tests.ledger.factories import make_line
from tests.servicing.book import POLICY, live_exposure, order, receivable, ship

T0 = datetime(2027, 1, 10, 9, 0)


def _receive(session, line_id, amount, reference, now):  # noqa: ANN001, ANN202
    return repayments.receive(session, line_id=line_id, amount_minor=amount, reference=reference,
                              received_by="payments-system", policy=POLICY, now=now)


@pytest.fixture
def split_then_returned(session: Session):  # noqa: ANN201
    """100,000 shipped at T0 (due T0 + 30), 40,000 paid, the 60,000 left split in two, then the 40,000 returned."""
    line = make_line(session, limit_minor=500_000)
    parent = ship(session, order(session, line, 100_000, reference="PO-1", now=T0), 100_000, reference="S-1",
                  now=T0)
    paid = _receive(session, line, 40_000, "PAY-1", T0 + timedelta(days=1))
    plan = installments.accept(session, parent, 2, POLICY, "A", T0 + timedelta(days=2))
    repayments.return_repayment(session, paid.repayment_id, reason="insufficient_funds", policy=POLICY,
                                now=T0 + timedelta(days=3))
    r = receivable(session, parent)
    # owed again on the split receivable: 100,000 - 60,000 rescheduled - 0 paid
    assert (r.status, r.rescheduled_minor, r.paid_principal_minor) == ("rescheduled", 60_000, 0)
    assert ledger.balances(session, line).posted_minor == 100_000 == live_exposure(session, line)
    yield session, line, parent, plan


def test_what_a_returned_payment_had_paid_before_the_split_can_be_paid_again(split_then_returned):
    # Was: a repayment skipped the split receivable (status rescheduled), so its 40,000 could never
    # be paid, while standing counted it past due from T0 + 30 and blocked the buyer for good.
    session, line, parent, plan = split_then_returned
    receipt = _receive(session, line, 40_000, "PAY-2", T0 + timedelta(days=4))
    # due T0 + 30, before the first installment (T0 + 2 days + 1 month): paid first
    assert [(a.receivable_id, a.part, a.amount_minor) for a in receipt.allocations] == [(parent, "principal", 40_000)]
    assert receivable(session, parent).paid_principal_minor == 40_000
    assert [receivable(session, i).paid_principal_minor for i in plan] == [0, 0]
    assert ledger.balances(session, line).posted_minor == 60_000 == live_exposure(session, line)


def test_what_a_returned_payment_had_paid_before_the_split_is_charged_off_at_default(split_then_returned):
    # Was: the charge-off took only the installments (60,000) and closing the line failed with
    # 40,000 still posted: the daily job stopped for the whole book.
    session, line, parent, plan = split_then_returned
    as_of = (T0 + timedelta(days=30 + 90)).date()  # the split receivable 90 days past due at the day's end
    with clock.frozen(T0 + timedelta(days=121)):
        report = run_day(session, as_of, POLICY)
    assert report.amounts_minor.get("charge_off") == 100_000
    assert (receivable(session, parent).status, receivable(session, parent).charged_off_minor) == ("charged_off", 40_000)
    assert [receivable(session, i).charged_off_minor for i in plan] == [30_000, 30_000]
    line_now = ledger.get_line(session, line)
    assert (line_now.status, line_now.balances.posted_minor) == ("closed", 0)
    assert ledger.reconcile(session).ok


def test_a_plan_whose_split_receivable_was_charged_off_is_in_collections_not_unknown(split_then_returned):
    # The charge-off moves the split receivable itself to charged_off (its returned 40,000 is loss too):
    # settling its plan early is refused because the plan is in collections, not "not split".
    session, _, parent, plan = split_then_returned
    with clock.frozen(T0 + timedelta(days=121)):
        run_day(session, (T0 + timedelta(days=120)).date(), POLICY)
    with pytest.raises(PlanNotSettleable, match=r"in collections \(installments \[\d+, \d+\] defaulted or charged off"):
        installments.early_settlement_quote(session, parent, POLICY, T0 + timedelta(days=122))
