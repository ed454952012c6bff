"""The dunning decision on its own: which steps are due, with amounts worked out by hand.

The shipped policy: reminders at -3, 0, 7, 15 and 30 days past due; late fee at 7 days of
25.00 flat + 1% a month of the open principal, rounded half up; freeze at 30; default and
charge-off at 90.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from credit.decisions.codes import NEXT_ACTIONS, POLICY_REASONS
from credit.servicing.dunning import DunningCase, DunningStep, decide_dunning, late_fee_minor
from tests.decisions.policies import POLICY, edited_policy


def receivable(dpd: int, *, principal: int = 123_456, owed: int | None = None, taken: tuple[str, ...] = (),
               today: tuple[str, ...] = ()) -> DunningCase:
    return DunningCase(subject="receivable:1", firm_id=9, days_past_due=dpd, principal_owed_minor=principal,
                       owed_minor=principal if owed is None else owed, line_status="active",
                       steps_taken=taken, steps_today=today)


def line(dpd: int, *, status: str = "active", frozen_by: str | None = None, within_limit: bool = True,
         principal: int = 123_456, taken: tuple[str, ...] = (), today: tuple[str, ...] = ()) -> DunningCase:
    return DunningCase(subject="line:3", firm_id=9, days_past_due=dpd, principal_owed_minor=principal,
                       owed_minor=principal, line_status=status, frozen_by=frozen_by, within_limit=within_limit,
                       steps_taken=taken, steps_today=today)


def keys(case: DunningCase, policy=POLICY) -> list[str]:  # noqa: ANN001
    return [step.step_key for step in decide_dunning(case, policy).steps]


# the late fee


def test_the_late_fee_is_flat_plus_a_months_rate_on_the_open_principal_rounded_half_up():
    # 25.00 + 1% x 1,234.56: 1,234.56 minor -> 1,235; 2,500 + 1,235 = 3,735 minor = 37.35
    assert late_fee_minor(123_456, 2_500, Decimal("0.01")) == 3_735
    decision = decide_dunning(receivable(7), POLICY)
    assert decision.steps[1] == DunningStep("late_fee", "late_fee:7", "late_fee_charged", 3_735)
    assert decision.amounts == {"late_fee_minor": 3_735}
    assert decision.total_minor == 3_735


@pytest.mark.parametrize(("principal", "fee"), [
    (250, 2_503),   # 2.5 minor units go up (half-even would give 2_502)
    (350, 2_504),   # 3.5 -> 4
    (249, 2_502),   # 2.49 -> 2
    (0, 2_500),     # nothing of the principal open: the flat part only
])
def test_half_a_minor_unit_rounds_up(principal, fee):
    assert late_fee_minor(principal, 2_500, Decimal("0.01")) == fee


def test_the_late_fee_is_charged_once_whenever_it_first_falls_due():
    assert "late_fee:7" in keys(receivable(12))                       # the job did not run on day 7
    assert "late_fee:7" not in keys(receivable(12, taken=("late_fee:7",)))
    assert "late_fee:7" not in keys(receivable(7, today=("late_fee:7",)))
    assert "late_fee:7" not in keys(receivable(6))


# reminders


@pytest.mark.parametrize(("dpd", "expected", "code"), [
    (-4, [], None),
    (-3, ["reminder:-3"], "reminder_before_due"),
    (0, ["reminder:0"], "reminder_on_due_date"),
    (7, ["reminder:7", "late_fee:7"], "reminder_past_due"),
    (15, ["reminder:15", "late_fee:7"], "reminder_past_due"),
    (30, ["reminder:30", "late_fee:7"], "reminder_past_due"),
])
def test_a_reminder_on_each_configured_day(dpd, expected, code):
    decision = decide_dunning(receivable(dpd), POLICY)
    assert [s.step_key for s in decision.steps] == expected
    if code:
        assert decision.steps[0].reason_code == code and decision.reason_codes[0] == code


def test_between_offsets_and_after_the_last_no_reminder_is_repeated():
    assert keys(receivable(-1, taken=("reminder:-3",))) == []
    assert keys(receivable(10, taken=("reminder:-3", "reminder:0", "reminder:7", "late_fee:7"))) == []
    assert keys(receivable(200, taken=("reminder:30", "late_fee:7"))) == []


def test_an_offset_the_job_missed_is_not_sent_late_once_a_later_one_is_reached():
    assert keys(receivable(8)) == ["reminder:7", "late_fee:7"]


def test_nothing_is_due_on_a_receivable_that_owes_nothing():
    assert keys(receivable(7, principal=0, owed=0)) == []


def test_a_fee_left_unpaid_still_gets_reminders_and_the_flat_late_fee():
    decision = decide_dunning(receivable(7, principal=0, owed=1_000), POLICY)
    assert [(s.step_key, s.amount_minor) for s in decision.steps] == [("reminder:7", None), ("late_fee:7", 2_500)]


def test_next_actions_ask_to_pay_by_the_due_date_then_to_pay_what_is_overdue():
    assert decide_dunning(receivable(-3), POLICY).next_actions == ("pay_by_due_date",)
    assert decide_dunning(receivable(7), POLICY).next_actions == ("pay_overdue_invoices",)


# the line


@pytest.mark.parametrize(("case", "expected"), [
    (line(29), []),
    (line(30), ["freeze:30"]),
    (line(30, status="frozen", frozen_by="servicing"), []),
    (line(31, status="frozen", frozen_by="finance"), []),
    (line(29, status="frozen", frozen_by="servicing"), ["unfreeze:30"]),
    (line(0, status="frozen", frozen_by="servicing", within_limit=False), []),   # over its limit: stays frozen
    (line(0, status="frozen", frozen_by="finance"), []),                           # only finance lifts its own
    (line(0, status="frozen", frozen_by="servicing", taken=("default:90",)), []),  # a defaulted line stays frozen
    (line(30, today=("freeze:30",)), []),    # frozen today already, then unfrozen by hand: not again today
    (line(120, status="closed"), []),
])
def test_freeze_and_unfreeze_follow_the_lines_days_past_due(case, expected):
    assert keys(case) == expected


def test_at_90_days_the_line_defaults_and_its_open_principal_is_charged_off():
    decision = decide_dunning(line(90, status="frozen", frozen_by="servicing", taken=("freeze:30",)), POLICY)
    assert decision.steps == (
        DunningStep("default", "default:90", "defaulted_past_due", 123_456),
        DunningStep("charge_off", "charge_off:90", "charged_off_after_default", 123_456),
    )
    assert decision.amounts == {"default_minor": 123_456, "charge_off_minor": 123_456}
    assert decision.total_minor == 123_456  # the charge-off: the default books nothing
    assert decision.next_actions == ("pay_overdue_invoices", "contact_finance")


def test_an_active_line_found_at_90_days_is_frozen_defaulted_and_charged_off_in_that_order():
    assert keys(line(95)) == ["freeze:30", "default:90", "charge_off:90"]


def test_with_charge_off_later_than_default_the_line_waits_defaulted_and_frozen():
    policy = edited_policy(("charge_off_days: 90", "charge_off_days: 120"))
    assert keys(line(90, status="frozen", frozen_by="servicing"), policy) == ["default:90"]
    assert keys(line(100, status="frozen", frozen_by="servicing", taken=("default:90",)), policy) == []
    assert keys(line(120, status="frozen", frozen_by="servicing", taken=("default:90",)), policy) == ["charge_off:120"]
    assert keys(line(150, status="frozen", frozen_by="servicing", taken=("default:90", "charge_off:120")), policy) == []


def test_every_code_and_next_action_is_in_the_catalogue():
    cases = [receivable(d) for d in (-3, 0, 7)] + [line(30), line(90), line(0, status="frozen", frozen_by="servicing")]
    for case in cases:
        decision = decide_dunning(case, POLICY)
        assert set(decision.reason_codes) <= set(POLICY_REASONS)
        assert set(decision.next_actions) <= set(NEXT_ACTIONS)
        assert [rule.code for rule in decision.rules_fired] == [step.reason_code for step in decision.steps]


@pytest.mark.parametrize("subject", ["firm:1", "line:", "receivable:x", "line:-2"])
def test_a_subject_that_is_neither_a_receivable_nor_a_line_is_refused(subject):
    with pytest.raises(ValueError, match="`subject` must be receivable:<id> or line:<id>"):
        DunningCase(subject=subject, firm_id=1, days_past_due=0, principal_owed_minor=0, owed_minor=0,
                    line_status="active")


def test_a_negative_amount_is_refused():
    with pytest.raises(ValueError, match="`owed_minor` must be an integer >= 0"):
        DunningCase(subject="line:1", firm_id=1, days_past_due=0, principal_owed_minor=0, owed_minor=-1,
                    line_status="active")
