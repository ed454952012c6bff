"""The financing journal: payout, money received split principal / fee / surplus, an order's fee accruing per day.

Amounts are worked out by hand in each test (minor units; the default policy's order-financing
minimum fee rate is 0.005).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from credit.financing import journal, lifecycle
from credit.financing.errors import AlreadyPaidOut, ExceedsOwed, FinancingClosed, NotPaidOut
from credit.financing.exposure import firm_exposure
from credit.financing.journal import Entry
from credit.financing.tables import FinancingEntry
from credit.ledger import open_line
from credit.policy.loading import default_policy
from tests.financing.journal_factories import book_loan, book_order_financing

POLICY = default_policy()
NOW = datetime(2026, 3, 1, 9)


def _receive(session, financing, amount, on, source, kind="collection"):
    return lifecycle.receive(session, financing.financing_id, amount, kind=kind, source=source, booked_on=on,
                             actor="test", now=datetime.combine(on, NOW.time()), policy=POLICY)


def test_an_order_advance_accrues_its_fee_per_day_outstanding_and_settles_with_the_surplus_released(session):
    f = book_order_financing(session, advance_minor=10_000_000, annual_rate="0.100000")
    journal.pay_out(session, f.financing_id, reference="PAY-1", value_date=date(2026, 3, 1), actor="payments", now=NOW)
    assert (f.status, f.paid_out_minor, f.value_date) == ("paid_out", 10_000_000, date(2026, 3, 1))

    # 30 days later 40,000.00 arrives: the fee so far is 0.1 x 10,000,000 x 30 / 365 = 82,191.78 -> 82,192;
    # principal goes first, so the fee stays owed
    _receive(session, f, 4_000_000, date(2026, 3, 31), "payment:1")
    owed = journal.amounts(f)
    assert (owed.outstanding, owed.fee_owed, f.fee_charged_minor, f.status) == (6_000_000, 82_192, 82_192, "paid_out")

    # 30 more days: principal-days 10,000,000 x 60 - 4,000,000 x 30 = 480,000,000, fee 0.1 x 480,000,000 / 365
    # = 131,506.85 -> 131,507 (above the minimum 0.005 x 10,000,000 = 50,000). 62,000.00 pays 60,000.00 principal,
    # 1,315.07 fee, and 684.93 goes back to the supplier.
    _receive(session, f, 6_200_000, date(2026, 4, 30), "payment:2")
    owed = journal.amounts(f)
    assert (owed.outstanding, owed.fee_owed, f.fee_charged_minor, f.fee_collected_minor, f.released_minor) == (
        0, 0, 131_507, 131_507, 68_493)
    assert f.status == "settled" and f.closed_at is not None
    sums = dict(session.execute(select(FinancingEntry.kind + ":" + FinancingEntry.part, func.sum(
        FinancingEntry.amount_minor)).where(FinancingEntry.financing_id == f.financing_id)
        .group_by(FinancingEntry.kind, FinancingEntry.part)).all())
    assert sums == {"payout:principal": 10_000_000, "collection:principal": 10_000_000, "fee:fee": 131_507,
                    "collection:fee": 131_507, "release:surplus": 68_493}


def test_an_advance_repaid_the_next_day_still_pays_the_minimum_fee(session):
    f = book_order_financing(session, advance_minor=10_000_000)
    journal.pay_out(session, f.financing_id, reference="PAY-2", value_date=date(2026, 3, 1), actor="payments", now=NOW)
    # one day accrues 0.1 x 10,000,000 / 365 = 2,739.73 -> 2,740, below the minimum 50,000: the minimum is charged
    _receive(session, f, 10_050_000, date(2026, 3, 2), "api:REPAY-1")
    assert (f.fee_charged_minor, f.fee_collected_minor, f.released_minor, f.status) == (50_000, 50_000, 0, "settled")


def test_money_before_the_payout_or_after_settlement_is_refused_and_a_loan_takes_no_surplus(session):
    f = book_order_financing(session, advance_minor=1_000_000)
    with pytest.raises(NotPaidOut):
        _receive(session, f, 100, date(2026, 3, 2), "api:early")
    journal.pay_out(session, f.financing_id, reference="PAY-3", value_date=date(2026, 3, 1), actor="payments", now=NOW)
    with pytest.raises(AlreadyPaidOut, match="PAY-3"):
        journal.pay_out(session, f.financing_id, reference="PAY-4", value_date=date(2026, 3, 1), actor="p", now=NOW)
    _receive(session, f, 1_005_000, date(2026, 3, 2), "api:all")  # 10,000.00 + the 50.00 minimum fee
    with pytest.raises(FinancingClosed, match="settled"):
        _receive(session, f, 1, date(2026, 3, 3), "api:late")

    loan = book_loan(session, amount_minor=500_000, fee_minor=25_000, booked_at=NOW)
    journal.pay_out(session, loan.financing_id, reference="LOAN-1", value_date=date(2026, 3, 1), actor="p", now=NOW)
    assert loan.fee_charged_minor == 25_000  # a loan's flat fee is charged with the payout
    with pytest.raises(ExceedsOwed, match="5250.01 is more than the 5250.00 owed"):
        _receive(session, loan, 525_001, date(2026, 3, 5), "api:too-much")
    _receive(session, loan, 525_000, date(2026, 3, 5), "api:payoff")
    assert (loan.collected_minor, loan.fee_collected_minor, loan.status) == (500_000, 25_000, "settled")


def test_the_journal_is_append_only_and_the_database_refuses_overpaid_principal(session):
    f = book_order_financing(session, advance_minor=1_000_000)
    journal.pay_out(session, f.financing_id, reference="PAY-5", value_date=date(2026, 3, 1), actor="payments", now=NOW)
    with pytest.raises(IntegrityError), session.begin_nested():
        journal.post(session, f, [Entry("collection", "principal", 1_000_001, "bug:1")], booked_on=date(2026, 3, 2),
                     actor="t", now=NOW)
    with pytest.raises(IntegrityError), session.begin_nested():  # a source books once
        journal.post(session, f, [Entry("collection", "principal", 1, "payout:PAY-5")], booked_on=date(2026, 3, 2),
                     actor="t", now=NOW)
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text("UPDATE financing_entries SET amount_minor = 1"))
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text("DELETE FROM financing_entries"))


def test_one_exposure_counts_approved_advances_whole_then_what_is_outstanding_and_a_line_at_its_limit(session):
    f = book_order_financing(session, advance_minor=3_000_000)
    g = book_order_financing(session, advance_minor=2_000_000, buyer_id=f.buyer_id, supplier_id=f.supplier_id)
    open_line(session, firm_id=f.buyer_id, limit_minor=5_000_000, currency="EUR", now=NOW)
    journal.pay_out(session, g.financing_id, reference="PAY-6", value_date=date(2026, 3, 1), actor="payments", now=NOW)
    _receive(session, g, 500_000, date(2026, 3, 10), "api:part")

    buyer, supplier = firm_exposure(session, f.buyer_id), firm_exposure(session, f.supplier_id)
    # approved 30,000.00 whole + 20,000.00 paid out less 5,000.00 collected; the line counts at its 50,000.00 limit
    assert (buyer.line, buyer.order_as_buyer, buyer.as_debtor, buyer.as_supplier) == (
        5_000_000, 4_500_000, 9_500_000, 0)
    assert (supplier.order_as_supplier, supplier.as_supplier, supplier.as_debtor) == (4_500_000, 4_500_000, 0)
    journal.cancel(session, f.financing_id, actor="finance", now=NOW)
    assert firm_exposure(session, f.supplier_id).as_supplier == 1_500_000


def test_money_that_pays_only_fee_still_books_under_its_bare_source_so_a_job_sees_it_booked(session):
    # found by the demo: a loan's principal repaid, the next sale's withholding paid fee only under "payment:X:fee",
    # and the next day's job, looking for "payment:X", booked it again
    loan = book_loan(session, amount_minor=100_000, fee_minor=5_000, booked_at=NOW)
    journal.pay_out(session, loan.financing_id, reference="LOAN-2", value_date=date(2026, 3, 1), actor="p", now=NOW)
    _receive(session, loan, 100_000, date(2026, 3, 5), "payment:1")  # principal only
    _receive(session, loan, 3_000, date(2026, 3, 6), "payment:2")  # fee only
    assert "payment:2" in journal.booked_sources(session, loan.financing_id)
    assert (loan.fee_collected_minor, journal.amounts(loan).fee_owed) == (3_000, 2_000)
