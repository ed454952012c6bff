"""Checkout decisions: the first decline that applies, in a fixed order, with its next actions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from credit.decisions.checkout import CheckoutRequest, decide_checkout
from tests.decisions.policies import POLICY


def request(**overrides) -> CheckoutRequest:
    fields = {"firm_id": 7, "amount_minor": 300_000, "line_status": "active", "available_minor": 800_000,
              "per_order_cap_minor": 500_000, "days_past_due": 0, "pd": Decimal("0.01")} | overrides
    return CheckoutRequest(**fields)


def test_an_order_within_cap_and_headroom_is_approved():
    decision = decide_checkout(request(), POLICY)
    assert (decision.outcome, decision.decline_code, decision.grade) == ("approve", None, "D")
    assert decision.reason_codes == () and decision.next_actions == ()


@pytest.mark.parametrize("overrides, code, first_action", [
    ({"line_status": "none", "available_minor": 0}, "no_line", "apply_for_credit_line"),
    ({"line_status": "closed"}, "line_closed", "apply_for_credit_line"),
    ({"line_status": "frozen"}, "line_frozen", "contact_finance"),
    ({"days_past_due": 1}, "in_arrears", "pay_overdue_invoices"),
    ({"pd": Decimal("0.2")}, "too_high_risk", "pay_upfront"),
    ({"amount_minor": 500_001, "available_minor": 900_000}, "per_order_cap_exceeded", "split_order"),
    ({"available_minor": 299_999}, "limit_exceeded", "reduce_order_amount"),
])
def test_an_order_is_declined_with(overrides, code, first_action):
    decision = decide_checkout(request(**overrides), POLICY)
    assert (decision.outcome, decision.decline_code) == ("decline", code)
    assert decision.reason_codes == (code,)
    assert decision.next_actions[0] == first_action


def test_arrears_are_reported_before_a_cap_that_is_also_exceeded():
    decision = decide_checkout(request(days_past_due=5, amount_minor=2_000_000), POLICY)
    assert decision.decline_code == "in_arrears"


def test_the_line_state_is_reported_before_arrears_and_the_amount_after_it_with_the_audited_detail():
    frozen = decide_checkout(request(line_status="frozen", days_past_due=5, amount_minor=2_000_000), POLICY)
    assert [(rule.code, rule.detail) for rule in frozen.rules_fired] == [("line_frozen", "line frozen")]
    over_cap = decide_checkout(request(amount_minor=600_000, available_minor=500_000), POLICY)
    assert [(rule.code, rule.detail) for rule in over_cap.rules_fired] == [
        ("per_order_cap_exceeded", "amount 600000 > per-order cap 500000")]
    over_limit = decide_checkout(request(available_minor=299_999), POLICY)
    assert [(rule.code, rule.detail) for rule in over_limit.rules_fired] == [
        ("limit_exceeded", "amount 300000 > available 299999")]


def test_without_a_fresh_score_no_risk_check_applies():
    assert decide_checkout(request(pd=None), POLICY).outcome == "approve"


def test_an_order_for_exactly_the_available_amount_is_approved():
    assert decide_checkout(request(amount_minor=500_000, available_minor=500_000), POLICY).outcome == "approve"
