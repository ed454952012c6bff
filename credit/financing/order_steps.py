"""Order financing after booking: which step is due for one advance on a financing day. Pure.

The policy's ``order_financing.lifecycle`` section sets the days (DPD: whole days from the
financing's ``due_on`` to the business day, negative before it):

=====================  ==================  ==================================================
step                   status              due when
=====================  ==================  ==================================================
``cancel``             approved            the order was cancelled (no invoice) before the
                                           advance was paid out: the financing is cancelled
``double_financed``    paid_out, invoiced  the order's invoice is issued but already carried
                                           by another financing (receivables financing):
                                           noted once; the advance waits for recourse
``recourse``           paid_out, invoiced  something owed and the order cancelled before
                                           shipment (no invoice), or DPD >=
                                           ``recourse_after_days``: the supplier repays the
                                           advance and the fee accrued
``write_off``          recourse            something owed ``write_off_after_days`` or more
                                           after the recourse step: principal and fee owed
                                           become a realised loss, status ``written_off``
=====================  ==================  ==================================================

The fee owed is the fee charged plus what accrued to the day and is not charged yet
(:func:`credit.financing.accrual.fee_accrued`), less what was paid or written off.

:func:`decide_order_step` is what the audit trail records and replays (kind
``order_financing_step``): the daily job (:mod:`credit.financing.orders`) gathers an
:class:`OrderFinancingCase` per open order financing, applies the steps returned and records
the decision when there is at least one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from credit.decisions.outcome import RuleFired, ordered_next_actions, ordered_reason_codes
from credit.policy import Policy

Step = Literal["cancel", "double_financed", "recourse", "write_off"]
CaseStatus = Literal["approved", "paid_out", "invoiced", "recourse"]


@dataclass(frozen=True)
class OrderFinancingCase:
    """What the lifecycle rules read about one order advance on a financing day.

    Attributes
    ----------
    financing_id, supplier_id : int
        The financing and the supplier advanced to (who repays under recourse).
    status : {"approved", "paid_out", "invoiced", "recourse"}
        The financing's status before the day's step.
    as_of : date
        The financing day.
    due_on : date
        When repayment is expected (payout + tenor).
    order_cancelled : bool
        The order was cancelled by the end of ``as_of`` and no invoice of it was issued.
    invoice_financed_elsewhere : int or None
        The order's invoice, when it is issued but carried by another financing.
    principal_owed_minor, fee_owed_minor : int
        Principal outstanding; fee charged or accrued to ``as_of`` and not paid or written off.
    recourse_since : date or None
        The day the recourse step was taken (None when no recorded step put it under
        recourse: then it is not written off by these rules).
    steps_taken : tuple of str
        Step keys (``double_financed:<invoice_id>``, ``recourse``, ...) taken on other days or runs.
    """

    financing_id: int
    supplier_id: int
    status: CaseStatus
    as_of: date
    due_on: date
    order_cancelled: bool = False
    invoice_financed_elsewhere: int | None = None
    principal_owed_minor: int = 0
    fee_owed_minor: int = 0
    recourse_since: date | None = None
    steps_taken: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("principal_owed_minor", "fee_owed_minor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"`{name}` must be an integer >= 0 (minor units); got {value!r}.")

    @property
    def days_past_due(self) -> int:
        return (self.as_of - self.due_on).days

    @property
    def owed_minor(self) -> int:
        return self.principal_owed_minor + self.fee_owed_minor


@dataclass(frozen=True)
class OrderStep:
    """One step due: what to do, its key, why, and the amount it concerns."""

    step: Step
    step_key: str
    reason_code: str
    amount_minor: int | None = None


@dataclass(frozen=True)
class OrderStepDecision:
    """The steps due for one order advance, in the order to apply them.

    ``outcome`` is always ``approve``: the steps listed are to be taken; a decision without
    steps is not recorded. ``recourse_minor`` is what the supplier is asked to repay
    (principal and fee owed that day); ``write_off_principal_minor`` and
    ``write_off_fee_minor`` what becomes a loss. Each is None unless its step is due.
    """

    financing_id: int
    steps: tuple[OrderStep, ...]
    recourse_minor: int | None = None
    write_off_principal_minor: int | None = None
    write_off_fee_minor: int | None = None
    outcome: Literal["approve"] = "approve"
    rules_fired: tuple[RuleFired, ...] = ()
    reason_codes: tuple[str, ...] = ()
    next_actions: tuple[str, ...] = ()

    @property
    def amounts(self) -> dict[str, int]:
        """The amounts of the steps due, minor units, by field name."""
        amounts = {"recourse_minor": self.recourse_minor, "write_off_principal_minor": self.write_off_principal_minor,
                   "write_off_fee_minor": self.write_off_fee_minor}
        return {name: amount for name, amount in amounts.items() if amount is not None}

    @property
    def total_minor(self) -> int | None:
        """The recourse asked or the loss booked (the audit trail's headline amount); None when neither."""
        if self.write_off_principal_minor is not None:
            return self.write_off_principal_minor + (self.write_off_fee_minor or 0)
        return self.recourse_minor

    def has(self, step: Step) -> bool:
        return any(s.step == step for s in self.steps)


def decide_order_step(case: OrderFinancingCase, policy: Policy) -> OrderStepDecision:
    """The lifecycle steps due for ``case`` under the policy (see the module's table).

    Returns
    -------
    OrderStepDecision
        With one :class:`~credit.decisions.RuleFired` per step and the next actions for the supplier.
    """
    rules = policy.order_financing.lifecycle
    fired: list[tuple[OrderStep, str, tuple[str, ...]]] = []
    taken = set(case.steps_taken)
    dpd = case.days_past_due
    amounts: dict[str, int] = {}
    if case.status == "approved":
        if case.order_cancelled:
            fired.append((OrderStep("cancel", "cancel", "order_cancelled_before_payout"),
                          f"order cancelled before financing {case.financing_id} was paid out", ()))
    elif case.status in ("paid_out", "invoiced"):
        invoice = case.invoice_financed_elsewhere
        if invoice is not None and f"double_financed:{invoice}" not in taken:
            fired.append((OrderStep("double_financed", f"double_financed:{invoice}", "order_invoice_financed_elsewhere"),
                          f"invoice {invoice} of the order is carried by another financing; "
                          f"recourse at {rules.recourse_after_days} days past due", ("contact_finance",)))
        if case.owed_minor > 0 and (case.order_cancelled or dpd >= rules.recourse_after_days):
            code, detail = (("recourse_order_cancelled", "order cancelled before shipment") if case.order_cancelled
                            else ("recourse_past_due", f"{dpd} days past due >= {rules.recourse_after_days}"))
            amounts["recourse_minor"] = case.owed_minor
            fired.append((OrderStep("recourse", "recourse", code, case.owed_minor),
                          f"{detail}: the supplier repays {case.principal_owed_minor} principal + "
                          f"{case.fee_owed_minor} fee = {case.owed_minor}", ("repay_advance",)))
    elif case.status == "recourse" and case.recourse_since is not None:
        days = (case.as_of - case.recourse_since).days
        if case.owed_minor > 0 and days >= rules.write_off_after_days:
            amounts["write_off_principal_minor"] = case.principal_owed_minor
            amounts["write_off_fee_minor"] = case.fee_owed_minor
            fired.append((OrderStep("write_off", "write_off", "written_off_after_recourse", case.owed_minor),
                          f"under recourse {days} days >= {rules.write_off_after_days}: "
                          f"{case.principal_owed_minor} principal + {case.fee_owed_minor} fee written off",
                          ("contact_finance",)))
    steps = tuple(step for step, _, _ in fired)
    rules_fired = tuple(RuleFired(step.reason_code, detail) for step, detail, _ in fired)
    return OrderStepDecision(
        case.financing_id, steps, **amounts, rules_fired=rules_fired,
        reason_codes=ordered_reason_codes(rules_fired),
        next_actions=ordered_next_actions(action for _, _, actions in fired for action in actions))
