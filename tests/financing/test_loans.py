"""Loans in the library: acceptance refusals, the minimum check's steps, a write-off (both stores, fixed clocks)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from credit import clock
from credit.audit import replay
from credit.audit.tables import DecisionRecord
from credit.financing import journal, loans
from credit.financing.errors import ExceedsOwed
from credit.financing.offers import run_offers
from credit.financing.tables import Financing, LoanOffer
from credit.policy import default_policy
from credit.standing import sql as standing
from tests.financing import loan_factories as factories
from tests.financing.loan_factories import AS_OF, seller_with_history

POLICY = default_policy()
ACCEPTED_AT = datetime(2027, 3, 16, 10)


def _offer(session) -> tuple[int, LoanOffer]:  # noqa: ANN001
    seller, _ = seller_with_history(session)
    with clock.frozen(datetime(2027, 3, 16, 0, 30)):
        run_offers(session, AS_OF, POLICY)
    return seller, session.execute(select(LoanOffer).where(LoanOffer.firm_id == seller)).scalar_one()


def _accept(session, offer_id: int, amount: int | None = None) -> Financing:  # noqa: ANN001
    return loans.accept_offer(session, offer_id, amount_minor=amount, policy=POLICY, actor="test", now=ACCEPTED_AT)


def test_acceptance_pays_out_and_charges_the_flat_fee_pro_rata_half_up(session):
    _, offer = _offer(session)
    # 750.00 x 10,000.10 / 12,500.00 = 600.006 -> 600.01; minimum ceil((1,000,010 + 60,001) / 6) = ceil(176,668.5)
    loan = _accept(session, offer.offer_id, 1_000_010)
    assert (loan.status, loan.paid_out_minor, loan.fee_charged_minor, loan.minimum_minor) == \
        ("paid_out", 1_000_010, 60_001, 176_669)
    assert (loan.value_date, loan.payout_reference, loan.due_on) == (date(2027, 3, 16), f"loan-offer:{offer.offer_id}",
                                                                   date(2028, 3, 10))  # 6 x 60 days
    assert offer.status == "accepted"
    with pytest.raises(loans.OfferAlreadyAccepted):
        _accept(session, offer.offer_id)


@pytest.mark.parametrize(("amount", "error"), [(1_250_001, loans.AmountAboveOffer),
                                               (499_999, loans.AmountBelowMinimum)])
def test_an_amount_outside_the_offer_is_refused(session, amount, error):
    _, offer = _offer(session)
    with pytest.raises(error):
        _accept(session, offer.offer_id, amount)


def test_an_expired_offer_and_the_supplier_cap_are_refused(session):
    seller, offer = _offer(session)
    with pytest.raises(loans.OfferNotOpen):
        loans.accept_offer(session, offer.offer_id, amount_minor=None, policy=POLICY, actor="test",
                           now=datetime(2027, 4, 15, 0, 1))  # valid through 2027-04-14
    # grade C's supplier cap is 150,000,000: an approved order advance of 149,000,000 to the seller leaves 1,000,000
    buyer = factories.firm(session)
    session.add(Financing(kind="order", decision_id="order-advance", supplier_id=seller, buyer_id=buyer,
                          order_id=_order(session, buyer, seller), face_minor=149_000_000, advance_minor=149_000_000,
                          fee_minor=0, tenor_days=30, status="approved", actor="test", created_at=ACCEPTED_AT,
                          updated_at=ACCEPTED_AT))
    session.flush()
    with pytest.raises(loans.SupplierCapExceeded) as refused:
        _accept(session, offer.offer_id, 1_000_001)
    assert refused.value.headroom_minor == 1_000_000
    assert _accept(session, offer.offer_id, 1_000_000).paid_out_minor == 1_000_000


def _order(session, buyer: int, supplier: int) -> int:  # noqa: ANN001
    from sqlalchemy import insert

    from credit.store.tables import Order

    session.execute(insert(Order).values(order_id=990_001, buyer_id=buyer, supplier_id=supplier,
                                         created_at=datetime(2027, 3, 1), amount_minor=150_000_000, category="parts",
                                         payment_terms="net30"))
    return 990_001


def test_a_loan_without_sales_is_overdue_at_its_first_period_end_and_written_off_after_the_default_days(session):
    seller, offer = _offer(session)
    loan = _accept(session, offer.offer_id, 1_000_000)  # fee 600.00, minimum 1,766.67; first period ends 2027-05-15

    def run(day: date) -> dict[str, int]:
        with clock.frozen(datetime.combine(day, datetime.min.time()).replace(hour=23)):
            return loans.run_day(session, day, POLICY)

    assert run(date(2027, 5, 14)) == {}
    assert run(date(2027, 5, 15)) == {"overdue": 1, "decisions": 1}
    assert standing.firm_days_past_due(session, seller, datetime(2027, 5, 16, 9)) == 1
    # 2027-05-15 + 90 days = 2027-08-13: still within the default days
    assert run(date(2027, 8, 13)) == {}
    # a prepayment of 100.00 keeps it behind (missed date still 2027-05-15)
    loans.repay(session, loan.financing_id, 10_000, reference="P-1", policy=POLICY, actor="test",
                now=datetime(2027, 8, 14, 9))
    with pytest.raises(ExceedsOwed):  # more than 9,900.00 principal + 600.00 fee
        loans.repay(session, loan.financing_id, 1_050_001, reference="P-2", policy=POLICY, actor="test",
                    now=datetime(2027, 8, 14, 9))
    assert run(date(2027, 8, 14)) == {"written_off": 1, "written_off_minor": 1_050_000, "decisions": 1}
    amounts = journal.amounts(loan)
    assert (loan.status, amounts.written_off, amounts.fee_written_off, amounts.outstanding, amounts.fee_owed) == \
        ("written_off", 990_000, 60_000, 0, 0)
    assert standing.firm_days_past_due(session, seller, datetime(2027, 8, 15, 9)) == 0  # a loss now, not arrears
    assert run(date(2027, 8, 14)) == {} and run(date(2027, 8, 15)) == {}
    steps = session.execute(select(DecisionRecord).where(DecisionRecord.kind == "loan_step")
                            .order_by(DecisionRecord.created_at)).scalars().all()
    assert [s.reason_codes for s in steps] == [["loan_minimum_missed"], ["loan_written_off"]]
    assert steps[1].amount_minor == 1_050_000 and steps[1].result["days_overdue"] == 91
    assert all(replay(session, s.decision_id).same for s in steps)


def test_the_step_decision_by_hand():
    case = loans.LoanStepCase(financing_id=1, firm_id=2, as_of=date(2027, 7, 14), value_date=date(2027, 3, 16),
                              period_days=60, minimum_minor=176_667, total_minor=1_060_000, repaid_minor=353_334,
                              status="overdue", outstanding_minor=646_666, fee_owed_minor=60_000)
    cured = loans.decide_loan_step(case, POLICY)
    assert (cured.step, cured.periods_ended, cured.required_minor) == ("cure", 2, 353_334)
    behind = loans.decide_loan_step(loans.LoanStepCase(**{**case.__dict__, "repaid_minor": 353_333,
                                                          "status": "paid_out"}), POLICY)
    assert (behind.step, behind.missed_on, behind.days_overdue) == ("overdue", date(2027, 7, 14), 0)
    # after the last period (6 x 60 days) everything is due: min(6 x 176,667, 1,060,000) = 1,060,000
    last = loans.decide_loan_step(loans.LoanStepCase(**{**case.__dict__, "as_of": date(2028, 3, 10),
                                                        "repaid_minor": 1_059_999}), POLICY)
    # already overdue, 0 days past its missed-minimum date: 2027-03-16 + (1,059,999 // 176,667 + 1) x 60 days
    assert (last.step, last.periods_ended, last.required_minor, last.missed_on) == \
        (None, 6, 1_060_000, date(2028, 3, 10))
