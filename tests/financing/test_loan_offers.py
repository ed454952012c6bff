"""Loan offers: the pure rules with amounts worked by hand, and the daily job on a small history (both stores)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from credit import clock
from credit.audit import replay
from credit.audit.tables import DecisionRecord
from credit.financing.offers import LoanOfferCase, decide_loan_offer, run_offers, sales_volatility
from credit.financing.tables import Financing, LoanOffer
from credit.policy import default_policy
from tests.financing import loan_factories as factories
from tests.financing.loan_factories import AS_OF, seller_with_history

POLICY = default_policy()
STEADY = (800_000, 1_200_000) * 6  # CV 0.2


def case(**overrides) -> LoanOfferCase:  # noqa: ANN003
    values = dict(firm_id=1, as_of=AS_OF, trailing_sales_minor=12_500_000, monthly_sales_minor=STEADY,
                  pd=Decimal("0.007"), supplier_exposure_minor=0) | overrides
    return LoanOfferCase(**values)


def test_volatility_is_the_coefficient_of_variation_of_monthly_sales():
    assert sales_volatility(STEADY) == Decimal("0.2")
    # one month of 1,200 in twelve: mean 100, variance (1100^2 + 11 x 100^2) / 12 = 110,000, std 331.662479...
    assert sales_volatility((1_200,) + (0,) * 11) == Decimal("3.316625")
    assert sales_volatility((0,) * 12) is None


def test_an_offer_worked_by_hand():
    decision = decide_loan_offer(case(), POLICY)
    # grade C: 0.10 x 125,000.00 = 12,500.00; fee 0.06 x = 750.00; minimum ceil(13,250.00 / 6) = 2,208.34
    assert decision.outcome == "approve" and decision.grade == "C"
    assert (decision.amount_minor, decision.fee_minor, decision.minimum_minor) == (1_250_000, 75_000, 220_834)
    assert (decision.withholding_rate, decision.periods, decision.period_days) == (Decimal("0.12"), 6, 60)
    assert (decision.active_months, decision.sales_volatility) == (12, Decimal("0.2"))
    assert decision.expires_on == date(2027, 4, 14) and decision.reason_codes == ()


def test_the_amount_is_cut_to_the_maximum_then_to_the_concentration_headroom():
    # grade A (share 0.15): 0.15 x 400,000,000 = 60,000,000 > the 50,000,000 maximum
    big = case(trailing_sales_minor=400_000_000, pd=Decimal("0.001"))
    assert decide_loan_offer(big, POLICY).amount_minor == 50_000_000
    # A's supplier cap 250,000,000 with 230,000,000 at risk: 20,000,000 left; fee 4 % = 800,000
    capped = decide_loan_offer(case(trailing_sales_minor=400_000_000, pd=Decimal("0.001"),
                                    supplier_exposure_minor=230_000_000), POLICY)
    assert (capped.amount_minor, capped.fee_minor) == (20_000_000, 800_000)
    assert capped.reason_codes == ("loan_amount_by_maximum", "loan_concentration_cap")
    # 249,600,000 at risk: 400,000 left < the 500,000 minimum loan
    none = decide_loan_offer(case(trailing_sales_minor=400_000_000, pd=Decimal("0.001"),
                                  supplier_exposure_minor=249_600_000), POLICY)
    assert none.outcome == "decline" and none.amount_minor == 0
    assert none.reason_codes[0] == "loan_amount_below_minimum"


@pytest.mark.parametrize(("overrides", "codes"), [
    ({"pd": None}, ("loan_not_scored",)),
    ({"pd": Decimal("0.2")}, ("loan_grade_not_offered",)),  # grade F: share 0
    ({"trailing_sales_minor": 5_999_999}, ("loan_sales_below_minimum",)),
    ({"monthly_sales_minor": (0, 0, 0, 0) + (1_000_000,) * 8}, ("loan_too_few_active_months",)),
    # eleven months of 1,000.00 and one of 300,000.00: mean 2,583,333.33 minor, CV 3.188652 > 1.0
    ({"monthly_sales_minor": (100_000,) * 11 + (30_000_000,)}, ("loan_sales_too_volatile",)),
    ({"trailing_sales_minor": 0, "monthly_sales_minor": (0,) * 12},
     ("loan_no_platform_sales", "loan_sales_below_minimum", "loan_too_few_active_months", "loan_sales_too_volatile")),
])
def test_no_offer_and_why(overrides, codes):
    decision = decide_loan_offer(case(**overrides), POLICY)
    assert decision.outcome == "decline" and decision.amount_minor == 0 and decision.expires_on is None
    assert decision.reason_codes == codes


def test_the_daily_job_offers_from_the_history_and_keeps_one_open_offer(session):
    seller, buyer = seller_with_history(session)
    factories.sale(session, seller, buyer, 9_900_000, datetime(2027, 3, 16, 0, 0))  # at the day's end: not yet
    quiet = factories.firm(session)  # sales in 3 months only: no offer, and why
    factories.score(session, quiet, factories.GRADE_C_PD, date(2027, 3, 1))
    for month in (10, 11, 12):
        factories.sale(session, quiet, buyer, 3_000_000, datetime(2026, month, 3, 10))

    with clock.frozen(datetime(2027, 3, 16, 0, 30)):
        counts = run_offers(session, AS_OF, POLICY)
    # the seller, the quiet firm, and the buyer (the seller paid it once: 99,000.00 in one month, unscored)
    assert counts == {"expired": 0, "firms": 3, "offered": 1, "declined": 2, "decisions": 3}
    offer = session.execute(select(LoanOffer).where(LoanOffer.firm_id == seller)).scalar_one()
    assert (offer.trailing_sales_minor, offer.amount_minor, offer.fee_minor, offer.minimum_minor) == \
        (12_500_000, 1_250_000, 75_000, 220_834)
    assert (offer.withholding_rate, offer.period_days, offer.status, offer.expires_on) == \
        ("0.12", 60, "open", date(2027, 4, 14))
    record = session.get(DecisionRecord, offer.decision_id)
    assert (record.kind, record.outcome, record.grade, record.amount_minor) == ("loan_offer", "approve", "C", 1_250_000)
    assert record.result["active_months"] == 12 and record.result["sales_volatility"] == "0.200000"
    quiet_record = session.execute(select(DecisionRecord).where(DecisionRecord.firm_id == quiet)).scalar_one()
    # 3 months of 30,000.00 and 9 without: mean 7,500.00, std 12,990.38..., CV sqrt(3) = 1.732051 > 1.0
    assert quiet_record.reason_codes == ["loan_too_few_active_months", "loan_sales_too_volatile"]
    assert quiet_record.result["sales_volatility"] == "1.732051"
    for decision_id in session.execute(select(DecisionRecord.decision_id)).scalars():
        assert replay(session, decision_id).same

    with clock.frozen(datetime(2027, 3, 16, 0, 40)):  # again: the same terms are kept, the refusals not repeated
        assert run_offers(session, AS_OF, POLICY) == {"expired": 0, "firms": 3, "kept": 1}
    # the next day the sale at 2027-03-16 00:00 counts: trailing 224,000.00, 0.10 x = 22,400.00: looser terms wait,
    # the open offer stands until it expires
    with clock.frozen(datetime(2027, 3, 17, 0, 30)):
        assert run_offers(session, date(2027, 3, 16), POLICY) == {"expired": 0, "firms": 3, "kept": 1}
    # re-scored grade D (PD 0.015): 0.08 x 224,000.00 = 17,920.00 is more, but withholding 0.15 is tighter than
    # 0.12: a new offer replaces the open one at once
    factories.score(session, seller, 0.015, date(2027, 3, 17))
    with clock.frozen(datetime(2027, 3, 18, 0, 30)):
        counts = run_offers(session, date(2027, 3, 17), POLICY)
    assert counts["offered"] == 1 and counts["expired"] == 1
    offers = session.execute(select(LoanOffer).where(LoanOffer.firm_id == seller)
                             .order_by(LoanOffer.offer_id)).scalars().all()
    assert [(o.status, o.amount_minor, o.withholding_rate) for o in offers] == [
        ("expired", 1_250_000, "0.12"), ("open", 1_792_000, "0.15")]
    # past its expiry (2027-04-16, 30 days after 03-17) the offer is expired; by then March's two sales make the
    # 12 months too uneven, so no new offer is made
    with clock.frozen(datetime(2027, 4, 18, 0, 30)):
        counts = run_offers(session, date(2027, 4, 17), POLICY)
    assert counts["expired"] == 1 and "offered" not in counts
    assert session.execute(select(LoanOffer.status).where(LoanOffer.firm_id == seller)
                           .order_by(LoanOffer.offer_id)).scalars().all() == ["expired", "expired"]


def test_a_firm_with_an_open_loan_gets_no_offer_and_its_open_offer_is_withdrawn(session):
    seller, _ = seller_with_history(session)
    with clock.frozen(datetime(2027, 3, 16, 0, 30)):
        run_offers(session, AS_OF, POLICY)
    session.add(Financing(kind="loan", decision_id="manual-loan", supplier_id=seller, face_minor=100, advance_minor=100,
                          fee_minor=0, tenor_days=360, status="approved", actor="test",
                          created_at=datetime(2027, 3, 16), updated_at=datetime(2027, 3, 16)))
    session.flush()
    with clock.frozen(datetime(2027, 3, 16, 0, 40)):
        counts = run_offers(session, AS_OF, POLICY)
    assert counts.get("withdrawn") == 1 and "offered" not in counts
    assert session.execute(select(LoanOffer.status).where(LoanOffer.firm_id == seller)).scalar_one() == "withdrawn"


def test_an_open_offer_is_replaced_only_when_the_amount_falls_more_than_the_policys_share_or_the_rate_moves():
    from dataclasses import replace

    from credit.financing.offers import _still_stands

    decision = decide_loan_offer(case(), POLICY)  # grade C: withholding 0.12, 60-day periods
    held = LoanOffer(amount_minor=1_000_000, withholding_rate="0.12", period_days=60)
    falls = POLICY.loans.reoffer_when_amount_falls  # 0.10: 1,000,000 stands down to 900,000
    assert falls == Decimal("0.10")
    assert _still_stands(held, replace(decision, amount_minor=2_000_000), falls)  # looser: waits
    assert _still_stands(held, replace(decision, amount_minor=900_000), falls)
    assert not _still_stands(held, replace(decision, amount_minor=899_999), falls)
    assert not _still_stands(held, replace(decision, amount_minor=1_000_000, withholding_rate=Decimal("0.15")), falls)
