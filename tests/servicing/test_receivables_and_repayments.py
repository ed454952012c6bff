"""Captures book receivables; repayments pay them oldest due first; refunds, returns and credit balance.

Every amount is worked out by hand from the default policy: net 30 costs 1.5 % (the merchant
pays it), allocation order late fee -> fee -> principal.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from credit import ledger
from credit.servicing import receivables, repayments
from credit.servicing.errors import ExceedsCreditBalance, RepaymentRefunded, TermsNotAllowed
from tests.ledger.factories import make_line
from tests.servicing.book import POLICY, live_exposure, order, receivable, ship

T0 = datetime(2027, 1, 10, 9, 0)


def _receive(session, line_id, amount, reference, now, **kw):  # noqa: ANN001, ANN202
    return repayments.receive(session, line_id=line_id, amount_minor=amount, reference=reference,
                              received_by="payments-system", policy=POLICY, now=now, **kw)


def test_a_capture_books_a_receivable_due_after_its_terms_with_the_merchants_fee(store):
    with Session(store) as session:
        line = make_line(session, limit_minor=500_000)
        hold = order(session, line, 200_000, reference="PO-1", now=T0, terms_days=60)
        rid = ship(session, hold, 123_457, reference="SHIP-1", now=T0 + timedelta(days=1))
        r = receivable(session, rid)
        # net 60 costs 2.5 %: 123,457 x 0.025 = 3,086.425 -> 3,086 (half up), paid by the merchant
        assert (r.principal_minor, r.fee_minor, r.merchant_fee_minor, r.terms_days) == (123_457, 0, 3_086, 60)
        assert r.due_at == T0 + timedelta(days=61)
        assert r.status == "open"
        assert ledger.balances(session, line).posted_minor == 123_457 == live_exposure(session, line)


def test_terms_not_offered_to_the_grade_are_refused_and_the_default_is_taken_when_none_asked():
    assert receivables.choose_terms(POLICY, "A", 90) == 90
    assert receivables.choose_terms(POLICY, "F", None) == 30
    assert receivables.choose_terms(POLICY, None, None) == 30
    with pytest.raises(TermsNotAllowed, match="Net 90 is not offered to a buyer graded F; allowed: net 30"):
        receivables.choose_terms(POLICY, "F", 90)


def test_a_repayment_pays_oldest_due_first_and_the_rest_is_credit_that_pays_the_next_capture(store):
    with Session(store) as session:
        line = make_line(session, limit_minor=500_000)
        late = ship(session, order(session, line, 100_000, reference="PO-1", now=T0), 100_000,
                    reference="S-1", now=T0)                                    # due T0 + 30
        early = ship(session, order(session, line, 50_000, reference="PO-2", now=T0, terms_days=30), 50_000,
                     reference="S-2", now=T0 - timedelta(days=5))               # due T0 + 25: older due
        receipt = _receive(session, line, 70_000, "PAY-1", T0 + timedelta(days=2))
        # 50,000 to the one due first, 20,000 to the next
        assert [(a.receivable_id, a.part, a.amount_minor) for a in receipt.allocations] == [
            (early, "principal", 50_000), (late, "principal", 20_000)]
        assert receivable(session, early).status == "paid"
        assert receivable(session, late).status == "partially_paid"
        assert ledger.balances(session, line).posted_minor == 80_000 == live_exposure(session, line)

        over = _receive(session, line, 100_000, "PAY-2", T0 + timedelta(days=3))
        assert over.allocated_minor == 80_000 and over.credit_balance_minor == 20_000
        assert ledger.balances(session, line).posted_minor == 0

        # the credit balance pays the next capture at once: 30,000 - 20,000 = 10,000 owed
        nxt = ship(session, order(session, line, 30_000, reference="PO-3", now=T0), 30_000, reference="S-3",
                   now=T0 + timedelta(days=4))
        assert receivable(session, nxt).paid_principal_minor == 20_000
        assert repayments.credit_balance(session, line) == 0
        assert ledger.balances(session, line).posted_minor == 10_000 == live_exposure(session, line)


def test_a_named_receivable_is_paid_alone_and_the_rest_waits_as_credit(store):
    with Session(store) as session:
        line = make_line(session, limit_minor=500_000)
        first = ship(session, order(session, line, 40_000, reference="PO-1", now=T0), 40_000, reference="S-1", now=T0)
        second = ship(session, order(session, line, 60_000, reference="PO-2", now=T0), 60_000, reference="S-2",
                      now=T0 + timedelta(days=1))
        receipt = _receive(session, line, 65_000, "PAY-1", T0 + timedelta(days=2), receivable_ids=[second])
        assert [(a.receivable_id, a.amount_minor) for a in receipt.allocations] == [(second, 60_000)]
        assert receipt.credit_balance_minor == 5_000
        assert receivable(session, first).paid_principal_minor == 0


def test_a_refund_of_paid_goods_goes_back_to_the_buyers_credit_balance(store):
    with Session(store) as session:
        line = make_line(session, limit_minor=500_000)
        hold = order(session, line, 100_000, reference="PO-1", now=T0)
        rid = ship(session, hold, 100_000, reference="S-1", now=T0)
        _receive(session, line, 70_000, "PAY-1", T0 + timedelta(days=1))       # owed 30,000
        receivables.book_refund(session, hold_id=hold, amount_minor=45_000, reference="CN-1", authorized_by=None,
                                now=T0 + timedelta(days=2))
        # 30,000 of the refund clears what was owed; 15,000 refunds goods already paid: credit
        r = receivable(session, rid)
        assert (r.refunded_minor, r.paid_principal_minor, r.status) == (45_000, 55_000, "paid")
        assert repayments.credit_balance(session, line) == 15_000
        assert ledger.balances(session, line).posted_minor == 0 == live_exposure(session, line)
        assert ledger.reconcile(session).ok


def test_a_returned_repayment_is_owed_again_and_a_line_it_takes_over_its_limit_freezes(store):
    with Session(store) as session:
        line = make_line(session, limit_minor=100_000)
        rid = ship(session, order(session, line, 80_000, reference="PO-1", now=T0), 80_000, reference="S-1", now=T0)
        paid = _receive(session, line, 80_000, "PAY-1", T0 + timedelta(days=1))
        ship(session, order(session, line, 90_000, reference="PO-2", now=T0), 90_000, reference="S-2",
             now=T0 + timedelta(days=2))                                        # the freed headroom is used
        returned = repayments.return_repayment(session, paid.repayment_id, reason="insufficient_funds",
                                               policy=POLICY, now=T0 + timedelta(days=3))
        # 80,000 + 90,000 posted on a 100,000 limit: 70,000 over, frozen by servicing
        assert returned.balances.posted_minor == 170_000 and returned.balances.available_minor == -70_000
        line_state = ledger.get_line(session, line)
        assert (line_state.status, line_state.frozen_by) == ("frozen", "servicing")
        assert receivable(session, rid).paid_principal_minor == 0
        assert live_exposure(session, line) == 170_000
        # repaid under the limit, the line is cured and unfrozen in the same unit of work
        cured = _receive(session, line, 80_000, "PAY-2", T0 + timedelta(days=4))
        assert cured.unfrozen and ledger.get_line(session, line).status == "active"
        assert ledger.reconcile(session).ok


def test_the_credit_balance_is_refunded_on_request_and_a_refunded_repayment_cannot_bounce(store):
    with Session(store) as session:
        line = make_line(session, limit_minor=100_000)
        ship(session, order(session, line, 10_000, reference="PO-1", now=T0), 10_000, reference="S-1", now=T0)
        receipt = _receive(session, line, 25_000, "PAY-1", T0)
        assert receipt.credit_balance_minor == 15_000
        with pytest.raises(ExceedsCreditBalance):
            repayments.refund_credit(session, line_id=line, amount_minor=15_001, reference="OUT-1", now=T0)
        assert repayments.refund_credit(session, line_id=line, amount_minor=6_000, reference="OUT-1", now=T0) == 9_000
        with pytest.raises(RepaymentRefunded, match="60.00 EUR of it was refunded"):
            repayments.return_repayment(session, receipt.repayment_id, reason="chargeback", policy=POLICY, now=T0)
