"""The receivables-financing steps as a pure function: one scenario per rule of the module's table (default
policy: default_days 60, write_off_after_days 120)."""

from __future__ import annotations

from datetime import date

import pytest

from credit.financing.factoring_steps import ReceivableStepCase, decide_receivable_step
from tests.decisions.policies import POLICY


def case(**changes) -> ReceivableStepCase:
    base = dict(financing_id=1, supplier_id=2, debtor_id=3, as_of=date(2027, 5, 1), status="paid_out", recourse=True,
                days_past_due=-10, outstanding_minor=900_000, fee_owed_minor=12_000, collectible_minor=1_000_000)
    return ReceivableStepCase(**(base | changes))


def steps(decision) -> list[str]:
    return [s.step for s in decision.steps]


def test_nothing_is_due_while_the_reserve_covers_the_dilution_and_the_invoice_is_not_late():
    decision = decide_receivable_step(case(collectible_minor=912_000, diluted_now_minor=88_000), POLICY)
    assert decision.steps == () and decision.status == "paid_out"


def test_a_shortfall_is_clawed_back_and_a_larger_one_again_only_when_dilution_grows_it():
    first = decide_receivable_step(case(collectible_minor=850_000), POLICY)
    assert steps(first) == ["clawback"] and first.status == "recourse"
    assert first.due_from_supplier_minor == 62_000 and first.reason_codes == ("receivable_clawback",)
    assert decide_receivable_step(case(status="recourse", collectible_minor=850_000), POLICY).steps == ()
    again = decide_receivable_step(case(status="recourse", collectible_minor=700_000, diluted_now_minor=150_000),
                                   POLICY)
    assert steps(again) == ["clawback"] and again.due_from_supplier_minor == 212_000


def test_the_debtor_defaults_at_the_default_days_past_due_not_a_day_before():
    assert decide_receivable_step(case(days_past_due=59), POLICY).steps == ()
    with_recourse = decide_receivable_step(case(days_past_due=60), POLICY)
    assert steps(with_recourse) == ["recourse_default"] and with_recourse.status == "recourse"
    assert with_recourse.due_from_supplier_minor == 912_000 and with_recourse.write_off_principal_minor == 0


def test_without_recourse_the_debtors_part_is_written_off_principal_first_and_the_shortfall_stays_the_suppliers():
    whole = decide_receivable_step(case(days_past_due=60, recourse=False), POLICY)
    assert (steps(whole), whole.status) == (["default_write_off"], "defaulted")
    assert (whole.write_off_principal_minor, whole.write_off_fee_minor, whole.due_from_supplier_minor) == (
        900_000, 12_000, 0)
    # a credit note left 850,000 collectible: the supplier owes 62,000 of the 912,000, the debtor's 850,000 is lost
    part = decide_receivable_step(case(days_past_due=60, recourse=False, status="recourse",
                                       collectible_minor=850_000), POLICY)
    assert (steps(part), part.status) == (["default_write_off"], "recourse")
    assert (part.write_off_principal_minor, part.write_off_fee_minor, part.due_from_supplier_minor) == (
        850_000, 0, 62_000)


def test_a_repaid_clawback_goes_back_to_paid_out_but_a_defaulted_debtors_recourse_does_not():
    cured = decide_receivable_step(case(status="recourse", outstanding_minor=838_000, collectible_minor=850_000),
                                   POLICY)
    assert steps(cured) == ["clawback_repaid"] and cured.status == "paid_out"
    assert decide_receivable_step(case(status="recourse", debtor_defaulted=True, days_past_due=70,
                                       days_since_demand=10), POLICY).steps == ()


def test_recourse_is_written_off_and_a_defaulted_loss_made_final_after_the_write_off_days():
    assert decide_receivable_step(case(status="recourse", debtor_defaulted=True, days_past_due=179,
                                       days_since_demand=119), POLICY).steps == ()
    written = decide_receivable_step(case(status="recourse", debtor_defaulted=True, days_past_due=180,
                                          outstanding_minor=400_000, days_since_demand=120), POLICY)
    assert steps(written) == ["recourse_write_off"] and written.status == "written_off"
    assert (written.write_off_principal_minor, written.write_off_fee_minor, written.total_minor) == (
        400_000, 12_000, 412_000)
    final = decide_receivable_step(case(status="defaulted", debtor_defaulted=True, days_past_due=180,
                                        outstanding_minor=0, fee_owed_minor=0, days_since_demand=120,
                                        loss_minor=912_000), POLICY)
    assert steps(final) == ["loss_final"] and final.status == "written_off"
    assert final.reason_codes == ("receivable_loss_final",)


@pytest.mark.parametrize("changes, message", [
    ({"status": "settled"}, "status"), ({"collectible_minor": -1}, "collectible_minor"),
    ({"outstanding_minor": 1.5}, "outstanding_minor")])
def test_a_case_with_impossible_values_is_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        case(**changes)
