"""Receivables financing (factoring) after payout: which judgement is due on one financing on one day. Pure.

The daily job (:mod:`credit.financing.factoring`) books the day's facts first (the debtor's
payments, the invoice's dilution) and then asks :func:`decide_receivable_step` what follows
from where the financing stands. It records the decision in the audit trail (kind
``receivable_financing_step``) when at least one step is due, and books what the steps say.

Terms (minor units, all from the financing's journal):

* ``owed`` = outstanding principal + fee owed (the flat fee is charged at payout);
* ``collectible`` = face - diluted - what the debtor paid so far (principal, fee and release
  from its payments), never below 0: what can still be collected from the debtor;
* ``shortfall`` = max(0, owed - collectible): what the debtor will never pay of what is owed.
  The reserve (face - advance) is what lets the face carry dilution with no shortfall: until
  dilution exceeds reserve - fee, ``collectible`` stays >= ``owed``.

Steps, in the order they are judged (at most one of each per decision):

=====================  =======================================================================
step                   due when
=====================  =======================================================================
``clawback``           the debtor has not defaulted, ``shortfall > 0``, and the financing is
                       ``paid_out`` or dilution was booked on it in this run: the supplier owes
                       the shortfall now; status ``recourse``
``recourse_default``   the debtor has not defaulted yet, the invoice is ``default_days`` or more
                       past its due date (whole days at the end of the day) and the debtor still
                       owes something of what is owed (``min(owed, collectible) > 0``), the
                       financing is with recourse: the supplier owes all that is owed; status
                       ``recourse``
``default_write_off``  the same default, without recourse: the debtor's part
                       (``min(owed, collectible)``, principal first, then fee) is written off as
                       realised loss; status ``defaulted``, or ``recourse`` when a shortfall is
                       still owed by the supplier (dilution is the supplier's risk either way)
``clawback_repaid``    ``recourse`` by a clawback only (the debtor has not defaulted) and the
                       shortfall is repaid: status back to ``paid_out``
``recourse_write_off`` ``recourse`` and ``write_off_after_days`` or more since the latest demand
                       on the supplier (a clawback or a default), something still owed, no other
                       step today: all owed is written off; status ``written_off`` (closed)
``loss_final``         ``defaulted`` for ``write_off_after_days`` or more since the default, no
                       other step today: the loss written off at default is final; status
                       ``written_off`` (closed); the debtor's later payments are no longer booked
=====================  =======================================================================

Once the debtor has defaulted, everything still owed is the supplier's to repay (with recourse:
all of it; without: the shortfall left after the write-off), so no further clawback is judged.
The write-off clock restarts with each new demand on the supplier, so each demand gets the
policy's days to be paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from credit.decisions.outcome import RuleFired, ordered_next_actions, ordered_reason_codes
from credit.policy import Policy

Step = Literal["clawback", "recourse_default", "default_write_off", "clawback_repaid", "recourse_write_off",
               "loss_final"]
DEMANDS: tuple[str, ...] = ("clawback", "recourse_default", "default_write_off")
"""Steps that put a new demand on the supplier or default the debtor: the write-off clock starts at the latest."""
DEFAULTS: tuple[str, ...] = ("recourse_default", "default_write_off")
JUDGED_STATUSES: tuple[str, ...] = ("paid_out", "recourse", "defaulted")
"""The statuses a step can be due in."""


@dataclass(frozen=True)
class ReceivableStepCase:
    """Where one paid-out receivables financing stands at the end of a day, after that day's facts were booked.

    Attributes
    ----------
    financing_id, supplier_id, debtor_id : int
        The financing, the firm advanced to, the invoice's debtor.
    as_of : date
        The business day judged.
    status : {"paid_out", "recourse", "defaulted"}
        The financing's status before the steps.
    recourse : bool
        Whether the supplier repays if the debtor does not (set at booking by the debtor's grade).
    days_past_due : int
        Of the financed invoice, whole days at the end of ``as_of`` (negative before its due date).
    outstanding_minor, fee_owed_minor : int
        Principal outstanding and fee owed.
    collectible_minor : int
        Face - diluted - what the debtor paid so far, at least 0.
    diluted_now_minor : int
        Dilution booked on the financing in this run.
    debtor_defaulted : bool
        A default step (``recourse_default`` or ``default_write_off``) was taken before.
    days_since_demand : int or None
        Days from the latest demand step (clawback or default) to ``as_of``; None when none was taken.
    loss_minor : int
        Principal and fee written off so far.
    """

    financing_id: int
    supplier_id: int
    debtor_id: int
    as_of: date
    status: Literal["paid_out", "recourse", "defaulted"]
    recourse: bool
    days_past_due: int
    outstanding_minor: int
    fee_owed_minor: int
    collectible_minor: int
    diluted_now_minor: int = 0
    debtor_defaulted: bool = False
    days_since_demand: int | None = None
    loss_minor: int = 0

    def __post_init__(self) -> None:
        if self.status not in JUDGED_STATUSES:
            raise ValueError(f"`status` must be one of {JUDGED_STATUSES}; got {self.status!r}.")
        for name in ("outstanding_minor", "fee_owed_minor", "collectible_minor", "diluted_now_minor", "loss_minor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"`{name}` must be an integer >= 0 (minor units); got {value!r}.")

    @property
    def owed_minor(self) -> int:
        return self.outstanding_minor + self.fee_owed_minor

    @property
    def shortfall_minor(self) -> int:
        """What is owed and the debtor can no longer pay: max(0, owed - collectible)."""
        return max(0, self.owed_minor - self.collectible_minor)


@dataclass(frozen=True)
class ReceivableStep:
    """One step due: which, and why (its reason code)."""

    step: Step
    reason_code: str


@dataclass(frozen=True)
class ReceivableStepDecision:
    """The steps due on one financing, the status they leave it in, and what they book.

    ``outcome`` is always ``approve``: the steps listed are to be taken; a decision without
    steps is not recorded. ``due_from_supplier_minor`` is what the supplier owes after the
    steps (all that is owed once the debtor defaulted, else the shortfall; 0 once closed).
    ``write_off_principal_minor`` and ``write_off_fee_minor`` are what the steps write off.
    """

    financing_id: int
    steps: tuple[ReceivableStep, ...]
    status: str
    due_from_supplier_minor: int = 0
    write_off_principal_minor: int = 0
    write_off_fee_minor: int = 0
    outcome: Literal["approve"] = "approve"
    rules_fired: tuple[RuleFired, ...] = ()
    reason_codes: tuple[str, ...] = ()
    next_actions: tuple[str, ...] = ()

    @property
    def amounts(self) -> dict[str, int]:
        """The decision's amounts, minor units, by field name."""
        return {"due_from_supplier_minor": self.due_from_supplier_minor,
                "write_off_principal_minor": self.write_off_principal_minor,
                "write_off_fee_minor": self.write_off_fee_minor}

    @property
    def total_minor(self) -> int:
        """The headline amount: what the steps write off, else what the supplier is asked to repay."""
        written_off = self.write_off_principal_minor + self.write_off_fee_minor
        return written_off or self.due_from_supplier_minor

    def taken(self, step: str) -> bool:
        return any(s.step == step for s in self.steps)


def decide_receivable_step(case: ReceivableStepCase, policy: Policy) -> ReceivableStepDecision:
    """The steps due on ``case`` under the policy's ``receivables`` section (see the module's table).

    Returns
    -------
    ReceivableStepDecision
        With one :class:`~credit.decisions.RuleFired` per step, in the order taken.
    """
    rules = policy.receivables
    fired: list[tuple[ReceivableStep, str, tuple[str, ...]]] = []
    status, defaulted = case.status, case.debtor_defaulted
    owed, collectible, shortfall = case.owed_minor, case.collectible_minor, case.shortfall_minor
    write_principal = write_fee = 0

    if not defaulted and shortfall > 0 and (status == "paid_out" or case.diluted_now_minor > 0):
        fired.append((ReceivableStep("clawback", "receivable_clawback"),
                      f"owed {owed} > collectible {collectible} (face less dilution and payments): "
                      f"{shortfall} clawed back from the supplier", ("repay_financing",)))
        status = "recourse"

    debtor_part = min(owed, collectible)
    if not defaulted and case.days_past_due >= rules.default_days and debtor_part > 0:
        defaulted = True
        if case.recourse:
            fired.append((ReceivableStep("recourse_default", "receivable_default_recourse"),
                          f"{case.days_past_due} days past due >= {rules.default_days}, with recourse: the supplier "
                          f"owes all {owed}", ("repay_financing", "contact_finance")))
            status = "recourse"
        else:
            write_principal = min(case.outstanding_minor, debtor_part)
            write_fee = debtor_part - write_principal
            left = owed - debtor_part
            fired.append((ReceivableStep("default_write_off", "receivable_default_non_recourse"),
                          f"{case.days_past_due} days past due >= {rules.default_days}, without recourse: the "
                          f"debtor's {debtor_part} written off (principal {write_principal}, fee {write_fee})"
                          + (f"; the supplier still owes the shortfall {left}" if left else ""),
                          ("contact_finance",)))
            status = "recourse" if left else "defaulted"

    if not fired and status == "recourse" and not defaulted and shortfall == 0 and owed > 0:
        fired.append((ReceivableStep("clawback_repaid", "receivable_clawback_repaid"),
                      f"owed {owed} <= collectible {collectible}: the clawback is repaid", ()))
        status = "paid_out"

    since = case.days_since_demand
    if not fired and since is not None and since >= rules.write_off_after_days:
        if status == "recourse" and owed > 0:
            write_principal, write_fee = case.outstanding_minor, case.fee_owed_minor
            fired.append((ReceivableStep("recourse_write_off", "receivable_recourse_written_off"),
                          f"{since} days since the demand on the supplier >= {rules.write_off_after_days}: "
                          f"{owed} unpaid written off (principal {write_principal}, fee {write_fee})",
                          ("contact_finance",)))
            status = "written_off"
        elif status == "defaulted":
            fired.append((ReceivableStep("loss_final", "receivable_loss_final"),
                          f"{since} days since the default >= {rules.write_off_after_days}: the loss of "
                          f"{case.loss_minor} is final", ()))
            status = "written_off"

    owed_after = owed - write_principal - write_fee
    if status in ("written_off", "paid_out"):
        due = 0
    elif defaulted:
        due = owed_after
    else:
        due = max(0, owed_after - collectible)
    rules_fired = tuple(RuleFired(step.reason_code, detail) for step, detail, _ in fired)
    return ReceivableStepDecision(
        case.financing_id, tuple(step for step, _, _ in fired), status, due, write_principal, write_fee,
        rules_fired=rules_fired, reason_codes=ordered_reason_codes(rules_fired),
        next_actions=ordered_next_actions(action for _, _, actions in fired for action in actions))
