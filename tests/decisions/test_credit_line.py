"""Credit-line decisions under the default policy, each number worked out by hand.

Default policy: capacity 2 months of average purchases; LGD 0.45; expected-loss budget
100,000; grade caps A 100M ... D 30M ... G 5M, H 0; lines 100,000 to 100M in units of
10,000; refer above 25M or in grades F and G; per-order cap half the limit, at most 20M.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from credit.decisions import (
    ConcentrationCapExceeded,
    CreditLineApplication,
    CreditLineChange,
    CreditLineReview,
    change_credit_line,
    decide_credit_line,
    review_credit_line,
)
from tests.decisions.policies import POLICY, edited_policy


def application(*, pd="0.003", gmv=6_000_000, tenure=400, days_past_due=0, verified=True,
                defaulted_before=False, requested=None, model_codes=("R02", "R13"),
                financings_owed=None) -> CreditLineApplication:
    features = {"tenure_days": tenure, "debtor_days_past_due": days_past_due, "verified": verified,
                "buyer_gmv_365d": gmv}
    return CreditLineApplication(firm_id=7, features=features, pd=Decimal(pd), model_reason_codes=model_codes,
                                 defaulted_before=defaulted_before, requested_limit_minor=requested,
                                 other_debtor_exposure_minor=financings_owed)


def codes(decision) -> list[str]:
    return [rule.code for rule in decision.rules_fired]


def test_capacity_sets_the_limit_of_a_small_buyer():
    # 6,000,000 a year = 500,000 a month; x 2 = 1,000,000. PD 0.003 -> B (cap 75M);
    # EL cap 100,000 / (0.003 x 0.45) = 74,074,074. Per-order cap 1,000,000 / 2 = 500,000.
    decision = decide_credit_line(application(), POLICY)
    assert (decision.outcome, decision.grade) == ("approve", "B")
    assert decision.limit_minor == 1_000_000
    assert decision.per_order_cap_minor == 500_000
    assert codes(decision) == ["limit_by_capacity"]
    assert decision.reason_codes == ("limit_by_capacity", "R02", "R13")
    assert decision.next_actions == ()


def test_expected_loss_budget_caps_the_limit_and_it_is_rounded_down_to_the_unit():
    # PD 0.012 -> D. Capacity 120,000,000 / 12 x 2 = 20,000,000; grade cap 30,000,000;
    # EL cap 100,000 / (0.012 x 0.45) = 18,518,518.5 -> 18,518,518 -> 18,510,000.
    # Per-order cap 9,255,000 rounded down to the unit: 9,250,000.
    decision = decide_credit_line(application(pd="0.012", gmv=120_000_000), POLICY)
    assert (decision.outcome, decision.grade, decision.limit_minor) == ("approve", "D", 18_510_000)
    assert decision.per_order_cap_minor == 9_250_000
    assert codes(decision) == ["limit_by_expected_loss"]


def test_grade_cap_caps_the_limit():
    policy = edited_policy(("D: 30_000_000", "D: 5_000_000"))
    # capacity 20,000,000, EL cap 18,510,000, grade cap 5,000,000 -> 5,000,000
    decision = decide_credit_line(application(pd="0.012", gmv=120_000_000), policy)
    assert (decision.outcome, decision.limit_minor, codes(decision)) == ("approve", 5_000_000, ["limit_by_grade_cap"])
    assert decision.per_order_cap_minor == 2_500_000


def test_the_per_order_cap_never_exceeds_its_fixed_maximum():
    # A, capacity 2 x 144,000,000 / 12 = 24,000,000 (not above 25M, so no referral); half is 12M;
    # with the fixed maximum lowered to 3M the cap is 3M
    policy = edited_policy(("max_minor: 20_000_000", "max_minor: 3_000_000"))
    decision = decide_credit_line(application(pd="0.001", gmv=144_000_000), policy)
    assert (decision.outcome, decision.limit_minor, decision.per_order_cap_minor) == ("approve", 24_000_000, 3_000_000)


def test_a_smaller_requested_amount_becomes_the_limit():
    decision = decide_credit_line(application(requested=400_000), POLICY)
    assert (decision.outcome, decision.limit_minor, decision.per_order_cap_minor) == ("approve", 400_000, 200_000)
    assert codes(decision) == ["limit_by_capacity", "limit_as_requested"]


def test_a_larger_requested_amount_gets_the_policy_limit_and_is_pointed_to_the_finance_team():
    decision = decide_credit_line(application(requested=2_000_000), POLICY)
    assert (decision.outcome, decision.limit_minor) == ("approve", 1_000_000)
    assert codes(decision) == ["limit_by_capacity", "limit_below_requested"]
    assert decision.next_actions == ("contact_finance",)


@pytest.mark.parametrize("overrides, code, action", [
    ({"tenure": 179}, "too_new", "build_trading_history"),
    ({"days_past_due": 1}, "overdue_now", "pay_overdue_invoices"),
    ({"defaulted_before": True}, "past_default", "pay_upfront"),
    ({"verified": False}, "unverified", "verify_firm"),
    ({"pd": "0.16"}, "grade_too_risky", "pay_upfront"),
])
def test_each_knock_out_declines_on_its_own(overrides, code, action):
    decision = decide_credit_line(application(**overrides), POLICY)
    assert (decision.outcome, decision.limit_minor, decision.per_order_cap_minor) == ("decline", 0, 0)
    assert codes(decision) == [code]
    assert decision.reason_codes == (code, "R02", "R13")
    assert decision.next_actions == (action,)


def test_a_firm_at_the_minimum_tenure_is_not_too_new():
    assert decide_credit_line(application(tenure=180), POLICY).outcome == "approve"


def test_every_knock_out_that_applies_is_reported_in_the_policy_order():
    decision = decide_credit_line(application(tenure=30, days_past_due=12, defaulted_before=True, verified=False,
                                              pd="0.5"), POLICY)
    assert decision.outcome == "decline"
    assert codes(decision) == ["too_new", "overdue_now", "past_default", "unverified", "grade_too_risky"]
    assert decision.next_actions == ("build_trading_history", "pay_overdue_invoices", "pay_upfront", "verify_firm")


def test_a_grey_zone_grade_is_referred_with_its_proposed_limit():
    # PD 0.05 -> F (grey). Capacity 1,000,000; EL cap 100,000 / 0.0225 = 4,444,444; grade cap 10M.
    decision = decide_credit_line(application(pd="0.05"), POLICY)
    assert (decision.outcome, decision.grade, decision.limit_minor) == ("refer", "F", 1_000_000)
    assert codes(decision) == ["limit_by_capacity", "refer_grey_zone"]
    assert decision.next_actions == ("await_finance_review",)


def test_a_limit_above_the_review_amount_is_referred():
    # A: capacity 300,000,000 / 12 x 2 = 50,000,000 < grade cap 100M, EL cap 222M -> 50M > 25M
    decision = decide_credit_line(application(pd="0.001", gmv=300_000_000), POLICY)
    assert (decision.outcome, decision.limit_minor) == ("refer", 50_000_000)
    assert codes(decision) == ["limit_by_capacity", "refer_above_amount"]


def test_a_limit_at_the_review_amount_is_approved():
    decision = decide_credit_line(application(pd="0.001", gmv=150_000_000), POLICY)
    assert (decision.outcome, decision.limit_minor) == ("approve", 25_000_000)


def test_a_limit_below_the_smallest_line_declines():
    # 500,000 a year -> 41,666.67 a month x 2 = 83,333 -> 80,000 < 100,000
    decision = decide_credit_line(application(gmv=500_000), POLICY)
    assert (decision.outcome, decision.limit_minor) == ("decline", 0)
    assert codes(decision) == ["limit_by_capacity", "limit_below_minimum"]
    assert decision.next_actions == ("build_trading_history", "pay_upfront")


def test_no_purchases_means_no_capacity():
    decision = decide_credit_line(application(gmv=float("nan")), POLICY)
    assert decision.outcome == "decline" and "limit_below_minimum" in decision.reason_codes
    assert decision.limit_minor == 0


def test_a_float_pd_is_taken_exactly_at_its_shortest_repr():
    decision = decide_credit_line(
        CreditLineApplication(7, application().features, pd=0.012, model_reason_codes=()), POLICY)
    assert decision.pd == Decimal("0.012")


def test_a_model_reason_code_outside_the_catalogue_is_refused():
    with pytest.raises(ValueError, match="R99"):
        decide_credit_line(application(model_codes=("R99",)), POLICY)


def test_a_missing_tenure_is_an_error_naming_the_feature():
    app = CreditLineApplication(7, {"verified": True, "buyer_gmv_365d": 1}, pd=Decimal("0.01"))
    with pytest.raises(KeyError, match="tenure_days"):
        decide_credit_line(app, POLICY)


def _referred():
    return decide_credit_line(application(pd="0.05"), POLICY)


def test_finance_approves_a_referred_application_at_its_proposed_limit():
    decision = review_credit_line(CreditLineReview(7, "approve", _referred(), reason="Known customer"), POLICY)
    assert (decision.outcome, decision.limit_minor, decision.per_order_cap_minor) == ("approve", 1_000_000, 500_000)
    assert decision.reason_codes == ("finance_approved",)
    assert decision.rules_fired[0].detail == "Known customer"


def test_finance_changes_the_limit_of_a_referred_application():
    decision = review_credit_line(
        CreditLineReview(7, "change_limit", _referred(), reason="Guarantee on file", limit_minor=600_000), POLICY)
    assert (decision.outcome, decision.limit_minor, decision.per_order_cap_minor) == ("approve", 600_000, 300_000)
    assert decision.reason_codes == ("finance_changed_limit",)


def test_finance_declines_a_referred_application():
    decision = review_credit_line(CreditLineReview(7, "decline", _referred(), reason="Sector outlook"), POLICY)
    assert (decision.outcome, decision.limit_minor) == ("decline", 0)
    assert decision.reason_codes == ("finance_declined",)


def test_a_review_without_a_reason_is_refused():
    with pytest.raises(ValueError, match="reason"):
        CreditLineReview(7, "approve", _referred(), reason="  ")


def test_finance_cannot_set_a_limit_above_the_largest_line():
    review = CreditLineReview(7, "change_limit", _referred(), reason="x", limit_minor=100_000_001)
    with pytest.raises(ValueError, match="max_limit_minor"):
        review_credit_line(review, POLICY)


def test_only_a_referred_application_is_reviewed():
    with pytest.raises(ValueError, match="referred"):
        CreditLineReview(7, "approve", decide_credit_line(application(), POLICY), reason="x")


def test_freezing_a_line_keeps_its_limit_and_records_why():
    change = CreditLineChange(7, "freeze", limit_minor=1_000_000, grade="B", pd=Decimal("0.003"), reason="Fraud alert")
    decision = change_credit_line(change, POLICY)
    assert (decision.outcome, decision.limit_minor) == ("approve", 1_000_000)
    assert decision.reason_codes == ("frozen_by_finance",)


def test_changing_a_line_sets_its_new_limit():
    change = CreditLineChange(7, "change_limit", limit_minor=1_000_000, grade="B", pd=Decimal("0.003"),
                              reason="Annual review", new_limit_minor=2_000_000)
    decision = change_credit_line(change, POLICY)
    assert (decision.limit_minor, decision.per_order_cap_minor) == (2_000_000, 1_000_000)
    assert decision.rules_fired[0].detail == "1000000 -> 2000000: Annual review"


# One exposure: the line counts at its limit under the debtor concentration cap of its grade
# (default policy: B 120,000,000, F 15,000,000, G 0), after the advances the firm owes.

def test_an_applications_limit_is_cut_to_what_the_debtor_cap_leaves_after_the_firms_financings():
    # B: capacity 1,000,000; cap 120,000,000 - 119,456,789 owed = 543,211 -> 540,000 to the unit; per order 270,000
    decision = decide_credit_line(application(financings_owed=119_456_789), POLICY)
    assert (decision.outcome, decision.limit_minor, decision.per_order_cap_minor) == ("approve", 540_000, 270_000)
    assert codes(decision) == ["limit_by_capacity", "limit_by_concentration"]
    assert decision.reason_codes == ("limit_by_capacity", "limit_by_concentration", "R02", "R13")
    assert decision.rules_fired[1].detail == ("limit 1000000 > debtor cap 120000000 (grade B) - financings owed "
                                              "119456789 = 543211")


def test_the_cap_binds_only_when_it_is_the_smaller():
    # 120,000,000 - 119,000,000 = 1,000,000: exactly the capacity, nothing cut
    decision = decide_credit_line(application(financings_owed=119_000_000), POLICY)
    assert (decision.limit_minor, codes(decision)) == (1_000_000, ["limit_by_capacity"])


def test_a_requested_limit_above_what_the_cap_leaves_is_cut_and_the_buyer_told():
    # requested 800,000 < capacity; the cap leaves 120,000,000 - 119,300,000 = 700,000
    decision = decide_credit_line(application(requested=800_000, financings_owed=119_300_000), POLICY)
    assert (decision.outcome, decision.limit_minor) == ("approve", 700_000)
    assert codes(decision) == ["limit_by_capacity", "limit_as_requested", "limit_by_concentration",
                               "limit_below_requested"]
    assert decision.next_actions == ("contact_finance",)


def test_too_little_room_under_the_debtor_cap_declines_the_application():
    # 120,000,000 - 119,950,000 = 50,000 < the smallest line 100,000
    decision = decide_credit_line(application(financings_owed=119_950_000), POLICY)
    assert (decision.outcome, decision.limit_minor) == ("decline", 0)
    assert codes(decision) == ["limit_by_capacity", "limit_by_concentration", "limit_below_minimum"]


def test_grade_g_is_referred_within_its_debtor_cap_and_declined_when_financings_fill_it():
    # G (PD 0.10): grey zone, capacity 1,000,000 is referred; the policy's debtor cap for G is 5,000,000
    assert decide_credit_line(application(pd="0.10"), POLICY).outcome == "refer"
    assert decide_credit_line(application(pd="0.10", financings_owed=0), POLICY).outcome == "refer"
    # 4,950,000 owed on financings leaves 50,000, below the smallest line (100,000)
    decision = decide_credit_line(application(pd="0.10", financings_owed=4_950_000), POLICY)
    assert (decision.outcome, codes(decision)) == ("decline", ["limit_by_capacity", "limit_by_concentration",
                                                               "limit_below_minimum"])


def test_finance_cannot_approve_a_proposal_the_debtor_cap_no_longer_leaves_room_for():
    # F: cap 15,000,000 - 14,200,000 owed now = 800,000 < the proposed 1,000,000
    review = CreditLineReview(7, "approve", _referred(), reason="Known customer",
                              other_debtor_exposure_minor=14_200_000)
    with pytest.raises(ConcentrationCapExceeded, match="at most 8000.00 EUR") as refused:
        review_credit_line(review, POLICY)
    assert (refused.value.cap_minor, refused.value.exposure_minor, refused.value.headroom_minor) == (
        15_000_000, 14_200_000, 800_000)
    changed = review_credit_line(CreditLineReview(7, "change_limit", _referred(), reason="Within the cap",
                                                  limit_minor=800_000, other_debtor_exposure_minor=14_200_000), POLICY)
    assert (changed.outcome, changed.limit_minor) == ("approve", 800_000)
    exact = CreditLineReview(7, "approve", _referred(), reason="x", other_debtor_exposure_minor=14_000_000)
    assert review_credit_line(exact, POLICY).limit_minor == 1_000_000
    declined = CreditLineReview(7, "decline", _referred(), reason="x", other_debtor_exposure_minor=15_000_000)
    assert review_credit_line(declined, POLICY).outcome == "decline"


def test_a_raise_must_fit_under_the_debtor_cap_and_a_cut_always_goes_through():
    def change(new_limit, owed):  # noqa: ANN001, ANN202
        return CreditLineChange(7, "change_limit", limit_minor=1_000_000, grade="F", pd=Decimal("0.05"),
                                reason="Annual review", new_limit_minor=new_limit, other_debtor_exposure_minor=owed)

    # F: 15,000,000 - 13,600,000 = 1,400,000
    with pytest.raises(ConcentrationCapExceeded, match="at most 14000.00 EUR"):
        change_credit_line(change(1_410_000, 13_600_000), POLICY)
    assert change_credit_line(change(1_400_000, 13_600_000), POLICY).limit_minor == 1_400_000
    # the cap leaves 500,000 only, but lowering 1,000,000 to 900,000 reduces the exposure: allowed
    assert change_credit_line(change(900_000, 14_500_000), POLICY).limit_minor == 900_000
    with pytest.raises(ValueError, match="other_debtor_exposure_minor"):
        change(900_000, -1)
