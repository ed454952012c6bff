"""Dunning: which servicing steps are due for one receivable or one line on a servicing day. Pure.

The policy's ``servicing.dunning`` section sets the steps by days past due (DPD, whole days
from the due time, negative before it: :func:`credit.standing.days_past_due`):

===============  ==========  ============================================================
step             subject     due when
===============  ==========  ============================================================
``reminder``     receivable  something owed and the latest ``reminder_days`` offset
                             reached (offset <= DPD) not yet reminded; an offset the job
                             passed without running is not sent late once a later one is
                             reached (one reminder per offset, the current one only)
``late_fee``     receivable  something owed, DPD >= ``late_fee.at_days``, no late fee yet
``freeze``       line        the line is active and DPD >= ``freeze_days`` (or it defaulted)
``unfreeze``     line        frozen by servicing, DPD < ``freeze_days``, within its limit,
                             not defaulted
``default``      line        DPD >= ``default_days``, not defaulted yet
``charge_off``   line        DPD >= ``charge_off_days``, defaulted (or defaulting now), not
                             charged off yet: its open principal becomes realised loss
===============  ==========  ============================================================

A receivable's DPD is its own; a line's is its oldest overdue receivable's (0 when none is
overdue). One-off steps (reminder offsets, the late fee, default, charge-off) are taken once
per subject, on whichever date they first fall due; freeze and unfreeze follow the line's
state, at most once per subject and day.

The late fee is ``flat_minor + monthly_rate x open principal``, the product rounded half up
to the minor unit with :class:`~decimal.Decimal` (``0.5`` minor units goes up); never a
float. For 123,456 open at 1% and 2,500 flat: 1,234.56 rounds to 1,235, fee 3,735.

:func:`decide_dunning` is what the audit trail records and replays (kind ``dunning``): the
daily job (:mod:`credit.servicing.run`) gathers a :class:`DunningCase` per subject, applies
the steps returned and records the decision when there is at least one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from credit.decisions.outcome import RuleFired, ordered_next_actions, ordered_reason_codes
from credit.money import round_half_up
from credit.policy import Policy

Step = Literal["reminder", "late_fee", "freeze", "unfreeze", "default", "charge_off"]


@dataclass(frozen=True)
class DunningCase:
    """What the policy's dunning rules read about one receivable or one line on a servicing day.

    Attributes
    ----------
    subject : str
        ``receivable:<id>`` or ``line:<id>``.
    firm_id : int
        The buyer.
    days_past_due : int
        Of the receivable (negative before its due date), or of the line (its oldest overdue
        receivable's; 0 when none is overdue), at the end of the servicing day.
    principal_owed_minor : int
        Open principal: the receivable's, or the sum over the line's live receivables.
    owed_minor : int
        Everything owed (principal, fee, late fee), same scope.
    line_status : {"active", "frozen", "closed"}
        The line's status.
    frozen_by : {"finance", "servicing"} or None
        Who froze the line, if anyone.
    within_limit : bool
        The line's posted plus pending is within its limit.
    steps_taken : tuple of str
        Step keys (``reminder:-3``, ``late_fee:7``, ...) the subject took on other dates.
    steps_today : tuple of str
        Step keys it already took on this servicing day.
    """

    subject: str
    firm_id: int
    days_past_due: int
    principal_owed_minor: int
    owed_minor: int
    line_status: Literal["active", "frozen", "closed"]
    frozen_by: Literal["finance", "servicing"] | None = None
    within_limit: bool = True
    steps_taken: tuple[str, ...] = ()
    steps_today: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        kind, _, number = self.subject.partition(":")
        if kind not in ("receivable", "line") or not number.isdigit():
            raise ValueError(f"`subject` must be receivable:<id> or line:<id>; got {self.subject!r}.")
        for name in ("principal_owed_minor", "owed_minor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"`{name}` must be an integer >= 0 (minor units); got {value!r}.")

    @property
    def is_line(self) -> bool:
        return self.subject.startswith("line:")


@dataclass(frozen=True)
class DunningStep:
    """One step due: what to do, its key (the step and its policy day), why, and its amount."""

    step: Step
    step_key: str
    reason_code: str
    amount_minor: int | None = None


@dataclass(frozen=True)
class DunningDecision:
    """The steps due for one subject, in the order to apply them, and the amounts they book.

    ``outcome`` is always ``approve``: the steps listed are to be taken. A decision without
    steps is not recorded. ``late_fee_minor``, ``default_minor`` (open principal defaulted)
    and ``charge_off_minor`` are None unless that step is due.
    """

    subject: str
    steps: tuple[DunningStep, ...]
    late_fee_minor: int | None = None
    default_minor: int | None = None
    charge_off_minor: int | None = None
    outcome: Literal["approve"] = "approve"
    rules_fired: tuple[RuleFired, ...] = ()
    reason_codes: tuple[str, ...] = ()
    next_actions: tuple[str, ...] = ()

    @property
    def amounts(self) -> dict[str, int]:
        """The amounts of the steps due, minor units, by field name."""
        amounts = {"late_fee_minor": self.late_fee_minor, "default_minor": self.default_minor,
                   "charge_off_minor": self.charge_off_minor}
        return {name: amount for name, amount in amounts.items() if amount is not None}

    @property
    def total_minor(self) -> int | None:
        """The late fee or charge-off booked (the audit trail's headline amount); None when neither."""
        booked = [a for a in (self.late_fee_minor, self.charge_off_minor) if a is not None]
        return sum(booked) if booked else None


def late_fee_minor(principal_owed_minor: int, flat_minor: int, monthly_rate: Decimal) -> int:
    """``flat_minor + monthly_rate x principal_owed_minor``, the product rounded half up to the minor unit."""
    return flat_minor + round_half_up(monthly_rate * principal_owed_minor)


def decide_dunning(case: DunningCase, policy: Policy) -> DunningDecision:
    """The dunning steps due for ``case`` under the policy (see the module's table).

    Returns
    -------
    DunningDecision
        With one :class:`~credit.decisions.RuleFired` per step and the next actions for the buyer.
    """
    rules = policy.document.servicing.dunning
    fired: list[tuple[DunningStep, str, tuple[str, ...]]] = []
    taken = set(case.steps_taken) | set(case.steps_today)

    def once(step: str) -> bool:
        return not any(key.partition(":")[0] == step for key in taken)

    dpd = case.days_past_due
    if not case.is_line:
        if case.owed_minor > 0:
            reached = [d for d in rules.reminder_days if d <= dpd]
            if reached and f"reminder:{max(reached)}" not in taken:
                offset = max(reached)
                code, actions = (("reminder_before_due", ("pay_by_due_date",)) if offset < 0 else
                                 ("reminder_on_due_date", ("pay_by_due_date",)) if offset == 0 else
                                 ("reminder_past_due", ("pay_overdue_invoices",)))
                fired.append((DunningStep("reminder", f"reminder:{offset}", code),
                              f"{dpd} days past due; reminder at {offset}", actions))
            fee = rules.late_fee
            if dpd >= fee.at_days and once("late_fee"):
                amount = late_fee_minor(case.principal_owed_minor, fee.flat_minor, fee.monthly_rate)
                fired.append((DunningStep("late_fee", f"late_fee:{fee.at_days}", "late_fee_charged", amount),
                              f"{dpd} days past due >= {fee.at_days}: {fee.flat_minor} + {fee.monthly_rate} x "
                              f"{case.principal_owed_minor} = {amount}", ("pay_overdue_invoices",)))
    elif case.line_status != "closed":
        defaulted = not once("default")
        defaults_now = not defaulted and dpd >= rules.default_days
        charges_off = (defaulted or defaults_now) and dpd >= rules.charge_off_days and once("charge_off")
        if case.line_status == "active" and (dpd >= rules.freeze_days or defaulted or defaults_now) \
                and f"freeze:{rules.freeze_days}" not in case.steps_today:
            fired.append((DunningStep("freeze", f"freeze:{rules.freeze_days}", "frozen_past_due"),
                          f"{dpd} days past due >= {rules.freeze_days}", ("pay_overdue_invoices",)))
        if (case.line_status == "frozen" and case.frozen_by == "servicing" and dpd < rules.freeze_days
                and case.within_limit and not defaulted and f"unfreeze:{rules.freeze_days}" not in case.steps_today):
            fired.append((DunningStep("unfreeze", f"unfreeze:{rules.freeze_days}", "unfrozen_cured"),
                          f"{dpd} days past due < {rules.freeze_days}, within the limit", ()))
        if defaults_now:
            fired.append((DunningStep("default", f"default:{rules.default_days}", "defaulted_past_due",
                                      case.principal_owed_minor),
                          f"{dpd} days past due >= {rules.default_days}; open principal {case.principal_owed_minor}",
                          ("pay_overdue_invoices", "contact_finance")))
        if charges_off:
            fired.append((DunningStep("charge_off", f"charge_off:{rules.charge_off_days}", "charged_off_after_default",
                                      case.principal_owed_minor),
                          f"{dpd} days past due >= {rules.charge_off_days}: {case.principal_owed_minor} charged off",
                          ("pay_overdue_invoices", "contact_finance")))
    steps = tuple(step for step, _, _ in fired)
    amounts = {f"{step.step}_minor": step.amount_minor for step in steps if step.amount_minor is not None}
    rules_fired = tuple(RuleFired(step.reason_code, detail) for step, detail, _ in fired)
    return DunningDecision(
        case.subject, steps, **amounts, rules_fired=rules_fired,
        reason_codes=ordered_reason_codes(rules_fired),
        next_actions=ordered_next_actions(action for _, _, actions in fired for action in actions))
