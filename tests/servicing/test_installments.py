"""Installment plans: quotes by grade and amount, acceptance, missed installments, early settlement.

Every amount is worked out by hand from the default policy: installments for an amount of at
least 500.00; at most 12 for grades A-C, 6 for D-E, 3 for F, none for G-H or an unscored buyer;
a fee of 1 % a month for every month after the first, rounded half up; the unused fee refunded
on early settlement (or kept, in an edited policy).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from credit import ledger
from credit.ledger import reconcile
from credit.policy import DEFAULT_POLICY, parse_policy
from credit.servicing import installments, repayments, status
from credit.servicing.errors import (
    InstallmentPlanExists,
    InstallmentsNotAllowed,
    NoInstallmentPlan,
    PlanNotSettleable,
    ReceivableNotFound,
    ReceivableNotReschedulable,
    SettlementShort,
)
from credit.servicing.receivables import book_capture
from tests.ledger.factories import make_line
from tests.servicing.book import POLICY, live_exposure, order, receivable, ship

ACCEPTED = datetime(2027, 1, 31, 9, 0)
SHIPPED = datetime(2027, 1, 20, 9, 0)  # net 30: due 2027-02-19 09:00


def _edited(old: str, new: str):  # noqa: ANN202
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    assert old in text
    return parse_policy(text.replace(old, new), source="edited.yaml")


KEEP_FEE = _edited("early_repayment: refund_unused_fee", "early_repayment: keep_fee")
BUYER_PAYS_TERMS = _edited("fee_payer: merchant", "fee_payer: buyer")


def _schedule(schedule: installments.Schedule) -> list[tuple]:
    return [(i.number, i.due_at, i.principal_minor, i.fee_minor) for i in schedule.installments]


def _receive(session, line_id, amount, reference, now, policy=POLICY, **kw):  # noqa: ANN001, ANN202
    return repayments.receive(session, line_id=line_id, amount_minor=amount, reference=reference,
                              received_by="payments-system", policy=policy, now=now, **kw)


def _shipped(session, amount, *, limit=20_000_000, when=SHIPPED):  # noqa: ANN001, ANN202
    """A line with one order on net 30 captured in full: (line_id, receivable_id)."""
    line = make_line(session, limit_minor=limit)
    return line, ship(session, order(session, line, amount, reference="PO-1", now=when), amount,
                      reference="SHIP-1", now=when)


# -- quotes --------------------------------------------------------------------------------------

def test_a_quote_splits_principal_and_fee_evenly_with_the_remainder_on_the_last_month_by_calendar():
    schedule = installments.quote(POLICY, "A", 10_000_001, 3, ACCEPTED)
    # fee = 0.01 x 10,000,001 x (3 - 1) = 200,000.02 -> 200,000; 200,000 / 3 = 66,666 r 2
    # principal 10,000,001 / 3 = 3,333,333 r 2; due one, two, three calendar months after 31 January
    assert (schedule.amount_minor, schedule.fee_minor, schedule.total_minor) == (10_000_001, 200_000, 10_200_001)
    assert _schedule(schedule) == [
        (1, datetime(2027, 2, 28, 9, 0), 3_333_333, 66_666),
        (2, datetime(2027, 3, 31, 9, 0), 3_333_333, 66_666),
        (3, datetime(2027, 4, 30, 9, 0), 3_333_335, 66_668),
    ]


def test_a_plan_accepted_on_31_january_of_a_leap_year_is_first_due_on_29_february():
    schedule = installments.quote(POLICY, "B", 50_000, 2, datetime(2028, 1, 31, 23, 30))
    # fee = 0.01 x 50,000 x 1 = 500: 250 + 250; principal 25,000 + 25,000
    assert _schedule(schedule) == [(1, datetime(2028, 2, 29, 23, 30), 25_000, 250),
                                   (2, datetime(2028, 3, 31, 23, 30), 25_000, 250)]


def test_a_half_minor_unit_of_fee_rounds_up():
    # fee = 0.01 x 50,050 x 1 = 500.5 -> 501 (half up; half to even would give 500): 250 + 251
    schedule = installments.quote(POLICY, "A", 50_050, 2, ACCEPTED)
    assert [(i.principal_minor, i.fee_minor) for i in schedule.installments] == [(25_025, 250), (25_025, 251)]


def test_twelve_months_are_due_on_each_months_last_day_when_accepted_on_the_31st():
    dues = [i.due_at.date().isoformat() for i in installments.quote(POLICY, "A", 1_200_000, 12, ACCEPTED).installments]
    assert dues == ["2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30", "2027-07-31",
                    "2027-08-31", "2027-09-30", "2027-10-31", "2027-11-30", "2027-12-31", "2028-01-31"]


def test_grade_d_may_split_in_six_but_not_seven():
    assert installments.quote(POLICY, "D", 600_000, 6, ACCEPTED).count == 6
    with pytest.raises(InstallmentsNotAllowed, match="A plan of 7 installments is not offered to a buyer graded D; "
                                                     "allowed: 2 to 6."):
        installments.quote(POLICY, "D", 600_000, 7, ACCEPTED)


@pytest.mark.parametrize("grade, buyer", [("G", "a buyer graded G"), ("H", "a buyer graded H"),
                                          (None, "a buyer not graded yet")])
def test_grades_without_plans_and_unscored_buyers_are_refused(grade, buyer):
    with pytest.raises(InstallmentsNotAllowed, match=f"Installments are not offered to {buyer}.") as refused:
        installments.quote(POLICY, grade, 600_000, 2, ACCEPTED)
    assert (refused.value.code, refused.value.details["max_count"]) == ("installments_not_allowed", 0)


def test_one_installment_is_not_a_plan():
    with pytest.raises(InstallmentsNotAllowed, match="A plan of 1 installments is not offered"):
        installments.quote(POLICY, "A", 600_000, 1, ACCEPTED)


def test_an_amount_below_the_policys_minimum_is_refused():
    assert installments.quote(POLICY, "A", 50_000, 2, ACCEPTED).amount_minor == 50_000
    with pytest.raises(InstallmentsNotAllowed, match=r"Installments need at least 500.00 to split; 499.99 is less."):
        installments.quote(POLICY, "A", 49_999, 2, ACCEPTED)


# -- acceptance ----------------------------------------------------------------------------------

def test_accepting_a_plan_splits_the_receivable_into_installment_receivables_and_exposure_stays(store):
    with Session(store) as session:
        line, parent = _shipped(session, 10_000_001)
        assert ledger.balances(session, line).posted_minor == 10_000_001 == live_exposure(session, line)

        ids = installments.accept(session, parent, 3, POLICY, "A", ACCEPTED)

        rows = [receivable(session, rid) for rid in ids]
        assert [(r.kind, r.parent_id, r.installment_number, r.installment_count, r.terms_days) for r in rows] == [
            ("installment", parent, 1, 3, 30), ("installment", parent, 2, 3, 60), ("installment", parent, 3, 3, 90)]
        assert [(r.due_at, r.principal_minor, r.fee_minor, r.merchant_fee_minor, r.status) for r in rows] == [
            (datetime(2027, 2, 28, 9, 0), 3_333_333, 66_666, 0, "open"),
            (datetime(2027, 3, 31, 9, 0), 3_333_333, 66_666, 0, "open"),
            (datetime(2027, 4, 30, 9, 0), 3_333_335, 66_668, 0, "open")]
        first = receivable(session, parent)
        assert {(r.hold_id, r.line_id, r.firm_id, r.shipment_reference, r.issued_at) for r in rows} == {
            (first.hold_id, line, first.firm_id, "SHIP-1", ACCEPTED)}
        assert (first.status, first.rescheduled_minor) == ("rescheduled", 10_000_001)
        assert ledger.balances(session, line).posted_minor == 10_000_001 == live_exposure(session, line)
        assert reconcile(session).ok


def test_a_partly_paid_receivable_splits_only_the_principal_still_owed(store):
    with Session(store) as session:
        line, parent = _shipped(session, 120_000)
        _receive(session, line, 20_001, "PAY-1", SHIPPED + timedelta(days=2))
        ids = installments.accept(session, parent, 3, POLICY, "C", ACCEPTED)
        # 120,000 - 20,001 = 99,999 -> 33,333 x 3; fee 0.01 x 99,999 x 2 = 1,999.98 -> 2,000 = 666 + 666 + 668
        assert [(receivable(session, r).principal_minor, receivable(session, r).fee_minor) for r in ids] == [
            (33_333, 666), (33_333, 666), (33_333, 668)]
        first = receivable(session, parent)
        assert (first.paid_principal_minor, first.rescheduled_minor, first.status) == (20_001, 99_999, "rescheduled")
        assert ledger.balances(session, line).posted_minor == 99_999 == live_exposure(session, line)


def test_a_credit_balance_pays_the_new_installments_first_due_first(store):
    with Session(store) as session:
        line, parent = _shipped(session, 90_000)
        other = ship(session, order(session, line, 10_000, reference="PO-2", now=SHIPPED), 10_000,
                     reference="SHIP-2", now=SHIPPED)
        # 12,000 names the small receivable: 10,000 pays it, 2,000 waits as credit
        _receive(session, line, 12_000, "PAY-1", SHIPPED + timedelta(days=1), receivable_ids=[other])
        ids = installments.accept(session, parent, 3, POLICY, "A", ACCEPTED)
        # 90,000 in 3: 30,000 each, fee 0.01 x 90,000 x 2 = 1,800 -> 600 each; the 2,000 credit pays
        # installment 1's fee (600) then 1,400 of its principal
        one = receivable(session, ids[0])
        assert (one.paid_fee_minor, one.paid_principal_minor, one.status) == (600, 1_400, "partially_paid")
        assert repayments.credit_balance(session, line) == 0
        assert ledger.balances(session, line).posted_minor == 88_600 == live_exposure(session, line)


def test_a_missed_installment_is_overdue_a_day_after_its_due_date(store):
    with Session(store) as session:
        line, parent = _shipped(session, 150_000)
        ids = installments.accept(session, parent, 3, POLICY, "A", ACCEPTED)
        due = datetime(2027, 2, 28, 9, 0)
        assert status.refresh(session, ids, due + timedelta(hours=23))[ids[0]] == "open"
        assert status.refresh(session, ids, due + timedelta(days=1)) == {ids[0]: "overdue", ids[1]: "open",
                                                                       ids[2]: "open"}
        assert status.line_days_past_due(session, line, due + timedelta(days=5)) == 5


def test_a_receivable_already_split_answers_with_its_plan(store):
    with Session(store) as session:
        _, parent = _shipped(session, 150_000)
        ids = installments.accept(session, parent, 2, POLICY, "A", ACCEPTED)
        with pytest.raises(InstallmentPlanExists, match=re.escape(f"already split into installments {ids}")) as exists:
            installments.accept(session, parent, 3, POLICY, "A", ACCEPTED)
        assert exists.value.details["installment_ids"] == ids
        with pytest.raises(ReceivableNotReschedulable, match="an installment is not split again"):
            installments.accept(session, ids[0], 2, POLICY, "A", ACCEPTED)


def test_a_receivable_past_its_due_time_or_paid_cannot_be_split(store):
    with Session(store) as session:
        line, parent = _shipped(session, 150_000)
        due = SHIPPED + timedelta(days=30)
        with pytest.raises(ReceivableNotReschedulable, match="was due at 2027-02-19 09:00 UTC"):
            installments.accept(session, parent, 2, POLICY, "A", due)
        with pytest.raises(ReceivableNotReschedulable, match="is overdue"):
            installments.plan_quote(session, parent, 2, POLICY, "A", due + timedelta(days=1))
        _receive(session, line, 150_000, "PAY-1", ACCEPTED)
        with pytest.raises(ReceivableNotReschedulable, match="is paid: only an open or partially paid"):
            installments.accept(session, parent, 2, POLICY, "A", ACCEPTED)
        with pytest.raises(ReceivableNotFound):
            installments.accept(session, 987_654, 2, POLICY, "A", ACCEPTED)


def test_a_terms_fee_still_owed_is_paid_before_a_plan(store):
    with Session(store) as session:
        line = make_line(session, limit_minor=500_000)
        hold = order(session, line, 100_000, reference="PO-1", now=SHIPPED)
        _, parent = book_capture(session, hold_id=hold, amount_minor=100_000, shipment_reference="S-1",
                                 authorized_by=None, policy=BUYER_PAYS_TERMS, now=SHIPPED)
        # net 30 costs 1.5 %: 1,500 owed by the buyer
        with pytest.raises(ReceivableNotReschedulable, match="still owes 15.00 in fees: pay them first"):
            installments.accept(session, parent, 2, BUYER_PAYS_TERMS, "A", ACCEPTED)
        _receive(session, line, 1_500, "PAY-FEE", ACCEPTED, policy=BUYER_PAYS_TERMS)
        assert len(installments.accept(session, parent, 2, BUYER_PAYS_TERMS, "A", ACCEPTED)) == 2


def test_no_plan_on_a_frozen_line(store):
    with Session(store) as session:
        line, parent = _shipped(session, 150_000)
        ledger.freeze(session, line, by="finance", now=ACCEPTED)
        with pytest.raises(ReceivableNotReschedulable, match=f"Credit line {line} is frozen"):
            installments.accept(session, parent, 2, POLICY, "A", ACCEPTED)


def test_the_policy_is_checked_on_what_the_receivable_still_owes(store):
    with Session(store) as session:
        line, parent = _shipped(session, 60_000)
        _receive(session, line, 10_001, "PAY-1", SHIPPED + timedelta(days=1))
        with pytest.raises(InstallmentsNotAllowed, match="need at least 500.00 to split; 499.99 is less"):
            installments.accept(session, parent, 2, POLICY, "A", ACCEPTED)
        with pytest.raises(InstallmentsNotAllowed, match="graded G"):
            installments.accept(session, parent, 2, POLICY, "G", ACCEPTED)
        assert receivable(session, parent).status == "partially_paid"


# -- early settlement ----------------------------------------------------------------------------

def _plan_with_one_paid_and_a_fee_paid_ahead(session, policy):  # noqa: ANN001, ANN202
    """150,000 in 3 accepted 31 January (50,000 + 1,000 fee each, due 28 Feb, 31 Mar, 30 Apr);
    installment 1 paid on 20 February, and 500 named to installment 3 (its fee first) on 1 March."""
    line, parent = _shipped(session, 150_000)
    ids = installments.accept(session, parent, 3, policy, "A", ACCEPTED)
    _receive(session, line, 51_000, "PAY-1", datetime(2027, 2, 20), policy=policy, receivable_ids=[ids[0]])
    _receive(session, line, 500, "PAY-2", datetime(2027, 3, 1), policy=policy, receivable_ids=[ids[2]])
    return line, parent, ids


SETTLED = datetime(2027, 4, 2, 10, 0)  # installment 2 (due 31 March) is used and overdue, 3 (30 April) unused


def test_early_settlement_refunds_the_fee_of_installments_not_yet_due(store):
    with Session(store) as session:
        line, parent, ids = _plan_with_one_paid_and_a_fee_paid_ahead(session, POLICY)
        terms = installments.early_settlement_quote(session, parent, POLICY, SETTLED)
        # installment 2: 50,000 + 1,000 (used); installment 3: 50,000, its fee of 1,000 given up:
        # 500 owed waived, 500 paid back to credit
        assert [(i.receivable_id, i.used, i.principal_minor, i.fee_minor, i.fee_waived_minor, i.fee_returned_minor)
                for i in terms.installments] == [(ids[0], True, 0, 0, 0, 0), (ids[1], True, 50_000, 1_000, 0, 0),
                                                 (ids[2], False, 50_000, 0, 500, 500)]
        assert (terms.amount_due_minor, terms.fee_waived_minor, terms.fee_returned_minor) == (101_000, 500, 500)
        assert terms.receivable_ids == [ids[1], ids[2]]

        settled = installments.settle_early(session, parent, policy=POLICY, now=SETTLED, reference="PAY-END",
                                            received_by="payments-system")

        assert settled.receipt.amount_minor == 101_000 and settled.receipt.credit_balance_minor == 500
        assert [receivable(session, r).status for r in ids] == ["paid", "paid", "paid"]
        last = receivable(session, ids[2])
        assert (last.fee_minor, last.paid_fee_minor, last.paid_principal_minor) == (0, 0, 50_000)
        assert repayments.credit_balance(session, line) == 500
        assert ledger.balances(session, line).posted_minor == 0 == live_exposure(session, line)
        assert reconcile(session).ok


def test_early_settlement_keeps_the_fee_when_the_policy_says_so(store):
    with Session(store) as session:
        line, parent, ids = _plan_with_one_paid_and_a_fee_paid_ahead(session, KEEP_FEE)
        terms = installments.early_settlement_quote(session, parent, KEEP_FEE, SETTLED)
        # 51,000 for installment 2, 50,000 + the 500 of fee still owed for installment 3
        assert (terms.amount_due_minor, terms.fee_waived_minor, terms.fee_returned_minor) == (101_500, 0, 0)

        settled = installments.settle_early(session, parent, policy=KEEP_FEE, now=SETTLED, reference="PAY-END",
                                            received_by="payments-system")

        assert (settled.receipt.allocated_minor, settled.receipt.credit_balance_minor) == (101_500, 0)
        assert receivable(session, ids[2]).fee_minor == receivable(session, ids[2]).paid_fee_minor == 1_000
        assert ledger.balances(session, line).posted_minor == 0 == live_exposure(session, line)


def test_early_settlement_right_after_acceptance_waives_the_whole_fee(store):
    with Session(store) as session:
        line, parent = _shipped(session, 150_000)
        installments.accept(session, parent, 3, POLICY, "A", ACCEPTED)
        terms = installments.early_settlement_quote(session, parent, POLICY, ACCEPTED + timedelta(days=1))
        assert (terms.amount_due_minor, terms.fee_waived_minor) == (150_000, 3_000)


def test_an_early_settlement_short_of_the_amount_due_books_nothing(store):
    with Session(store) as session:
        line, parent, ids = _plan_with_one_paid_and_a_fee_paid_ahead(session, POLICY)
        with pytest.raises(SettlementShort, match="takes 1010.00; 1009.99 is less") as short:
            installments.settle_early(session, parent, policy=POLICY, now=SETTLED, reference="PAY-END",
                                      received_by="payments-system", amount_minor=100_999)
        assert short.value.details["amount_due_minor"] == 101_000
        assert receivable(session, ids[2]).fee_minor == 1_000

        more = installments.settle_early(session, parent, policy=POLICY, now=SETTLED, reference="PAY-END",
                                         received_by="payments-system", amount_minor=102_000)
        # 1,000 over the amount due, plus the 500 of fee returned
        assert more.receipt.credit_balance_minor == 1_500


def test_only_a_plan_that_still_owes_can_be_settled(store):
    with Session(store) as session:
        line, parent = _shipped(session, 150_000)
        with pytest.raises(NoInstallmentPlan, match="it was not split into installments"):
            installments.early_settlement_quote(session, parent, POLICY, ACCEPTED)
        ids = installments.accept(session, parent, 2, POLICY, "A", ACCEPTED)
        with pytest.raises(NoInstallmentPlan, match=f"of the plan of receivable {parent}; settle that one"):
            installments.early_settlement_quote(session, ids[0], POLICY, ACCEPTED)
        # 150,000 in 2 = 75,000 + 750 fee each: 151,500 pays everything
        _receive(session, line, 151_500, "PAY-ALL", ACCEPTED + timedelta(days=1))
        with pytest.raises(PlanNotSettleable, match="owes nothing"):
            installments.settle_early(session, parent, policy=POLICY, now=ACCEPTED + timedelta(days=2),
                                      reference="PAY-END", received_by="payments-system")
