"""decide_order_step alone: each step at its policy day and not a day before, once, and what it asks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from credit.audit.kinds import KINDS
from credit.financing.order_steps import OrderFinancingCase, decide_order_step
from credit.policy import default_policy

POLICY = default_policy()  # recourse at 30 days past due, write-off 120 days after recourse
DUE = date(2027, 3, 31)
CASE = OrderFinancingCase(financing_id=7, supplier_id=3, status="invoiced", as_of=DUE, due_on=DUE,
                          principal_owed_minor=200_000, fee_owed_minor=4_932)


def _steps(case: OrderFinancingCase) -> list[tuple[str, str, int | None]]:
    return [(s.step, s.reason_code, s.amount_minor) for s in decide_order_step(case, POLICY).steps]


def test_recourse_falls_due_30_days_past_the_due_date_not_29():
    assert _steps(replace(CASE, as_of=DUE + timedelta(days=29))) == []
    decision = decide_order_step(replace(CASE, as_of=DUE + timedelta(days=30)), POLICY)
    assert [(s.step, s.reason_code, s.amount_minor) for s in decision.steps] == [
        ("recourse", "recourse_past_due", 204_932)]
    assert (decision.amounts, decision.total_minor, decision.next_actions) == (
        {"recourse_minor": 204_932}, 204_932, ("repay_advance",))
    assert "30 days past due >= 30" in decision.rules_fired[0].detail


def test_nothing_owed_is_never_recourse_and_a_fee_alone_is():
    late = replace(CASE, as_of=DUE + timedelta(days=45))
    assert _steps(replace(late, principal_owed_minor=0, fee_owed_minor=0)) == []
    assert _steps(replace(late, principal_owed_minor=0, fee_owed_minor=1_500)) == [
        ("recourse", "recourse_past_due", 1_500)]


def test_a_cancelled_order_is_recourse_at_once_when_paid_out_and_cancels_an_approved_financing():
    early = replace(CASE, status="paid_out", as_of=DUE - timedelta(days=20), order_cancelled=True)
    assert _steps(early) == [("recourse", "recourse_order_cancelled", 204_932)]
    assert _steps(replace(early, status="approved", principal_owed_minor=0, fee_owed_minor=0)) == [
        ("cancel", "order_cancelled_before_payout", None)]
    assert _steps(replace(early, status="approved", order_cancelled=False)) == []


def test_double_financing_is_noted_once():
    case = replace(CASE, status="paid_out", as_of=DUE - timedelta(days=10), invoice_financed_elsewhere=55)
    assert _steps(case) == [("double_financed", "order_invoice_financed_elsewhere", None)]
    assert _steps(replace(case, steps_taken=("double_financed:55",))) == []


def test_write_off_falls_due_120_days_after_the_recourse_step_with_principal_and_fee():
    since = date(2027, 4, 30)
    under = replace(CASE, status="recourse", recourse_since=since, principal_owed_minor=150_000,
                    fee_owed_minor=11_014, steps_taken=("recourse",))
    assert _steps(replace(under, as_of=since + timedelta(days=119))) == []
    decision = decide_order_step(replace(under, as_of=since + timedelta(days=120)), POLICY)
    assert [(s.step, s.reason_code) for s in decision.steps] == [("write_off", "written_off_after_recourse")]
    assert decision.amounts == {"write_off_principal_minor": 150_000, "write_off_fee_minor": 11_014}
    assert decision.total_minor == 161_014
    assert _steps(replace(under, as_of=since + timedelta(days=200), principal_owed_minor=0, fee_owed_minor=0)) == []
    assert _steps(replace(under, as_of=since + timedelta(days=200), recourse_since=None)) == []


def test_the_kind_is_registered_and_its_inputs_round_trip_as_json():
    kind = KINDS["order_financing_step"]
    case = replace(CASE, status="recourse", recourse_since=date(2027, 4, 30), steps_taken=("recourse",))
    assert kind.inputs_from_json(kind.inputs_json(case)) == case
    assert kind.firm_of(case) == 3


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_amounts_must_be_non_negative_integers(bad):
    with pytest.raises(ValueError, match="principal_owed_minor"):
        replace(CASE, principal_owed_minor=bad)
