"""Checkout credit: which decline code, if any, the policy gives an order paid on a line.

The exposure ledger (:mod:`credit.ledger.checkout`) is the authority on headroom: it reserves
the hold atomically. :func:`decide_checkout` is the policy's part of the same answer, pure so
that an audited checkout decision replays: the line's state, the buyer's arrears and grade,
the per-order cap and the available amount the ledger reported, checked in a fixed order so
the buyer always sees the most useful code first. What the line itself refuses is
:func:`line_decline`, the one statement of those rules: the ledger explains a refused
reservation with it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from credit.decisions.codes import CHECKOUT_DECLINE_NEXT_ACTIONS
from credit.decisions.outcome import RuleFired, as_probability, ordered_next_actions, ordered_reason_codes
from credit.policy import Policy

LineStatus = Literal["none", "active", "frozen", "closed"]


@dataclass(frozen=True)
class CheckoutRequest:
    """An order to pay on the buyer's credit line, with what is known of line and buyer now.

    Attributes
    ----------
    firm_id : int
        The buyer.
    amount_minor : int
        The order amount.
    line_status : {"none", "active", "frozen", "closed"}
        "none" when the buyer has no line.
    available_minor : int
        Limit - posted exposure - pending holds, from the ledger (0 without a line).
    per_order_cap_minor : int or None
        The line's per-order cap, None for none.
    days_past_due : int
        Most days past due of an invoice the buyer owes now (0: none overdue).
    pd : Decimal or None
        The buyer's current PD, None when not re-scored at checkout (no risk check then).
    """

    firm_id: int
    amount_minor: int
    line_status: LineStatus
    available_minor: int
    per_order_cap_minor: int | None
    days_past_due: int
    pd: Decimal | None = None

    def __post_init__(self) -> None:
        if self.pd is not None:
            object.__setattr__(self, "pd", as_probability(self.pd, "pd"))
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int) or self.amount_minor <= 0:
            raise ValueError(f"`amount_minor` must be a positive integer; got {self.amount_minor!r}.")


@dataclass(frozen=True)
class CheckoutDecision:
    """approve (the ledger may hold the amount) or decline with exactly one code."""

    outcome: Literal["approve", "decline"]
    decline_code: str | None
    grade: str | None
    amount_minor: int
    rules_fired: tuple[RuleFired, ...] = ()
    reason_codes: tuple[str, ...] = ()
    next_actions: tuple[str, ...] = ()

    @property
    def amounts(self) -> dict[str, int]:
        return {"amount_minor": self.amount_minor}


_STATE_DECLINES = {"none": "no_line", "closed": "line_closed", "frozen": "line_frozen"}


def line_decline(line_status: str, amount_minor: int, per_order_cap_minor: int | None,
                 available_minor: int) -> str | None:
    """The first decline the line itself gives an order, or None when it can hold the amount.

    In this order: ``no_line`` (``line_status`` "none"), ``line_closed``, ``line_frozen``,
    ``per_order_cap_exceeded``, ``limit_exceeded`` (more than ``available_minor``). The
    ledger's guarded reservation enforces the same rules in one UPDATE.
    """
    if line_status in _STATE_DECLINES:
        return _STATE_DECLINES[line_status]
    if per_order_cap_minor is not None and amount_minor > per_order_cap_minor:
        return "per_order_cap_exceeded"
    if amount_minor > available_minor:
        return "limit_exceeded"
    return None


def decide_checkout(request: CheckoutRequest, policy: Policy) -> CheckoutDecision:
    """The checkout decision: the first decline that applies, in this order, else approve.

    ``no_line``, ``line_closed``, ``line_frozen``, ``in_arrears`` (days past due above
    ``checkout.max_days_past_due``), ``too_high_risk`` (grade in
    ``checkout.too_high_risk_grades``), ``per_order_cap_exceeded``, ``limit_exceeded``.

    Returns
    -------
    CheckoutDecision
        Its next actions are :data:`credit.decisions.codes.CHECKOUT_DECLINE_NEXT_ACTIONS` of the code.
    """
    rules = policy.checkout
    grade = policy.grade_of(request.pd) if request.pd is not None else None
    line = line_decline(request.line_status, request.amount_minor, request.per_order_cap_minor,
                        request.available_minor)
    line_detail = {
        "no_line": "no credit line", "line_closed": "line closed", "line_frozen": "line frozen",
        "per_order_cap_exceeded": f"amount {request.amount_minor} > per-order cap {request.per_order_cap_minor}",
        "limit_exceeded": f"amount {request.amount_minor} > available {request.available_minor}",
    }.get(line)
    checks = [
        (line, line in _STATE_DECLINES.values(), line_detail),  # the line's state before the buyer's standing
        ("in_arrears", request.days_past_due > rules.max_days_past_due,
         f"{request.days_past_due} days past due > {rules.max_days_past_due}"),
        ("too_high_risk", grade in rules.too_high_risk_grades, f"grade {grade} in {list(rules.too_high_risk_grades)}"),
        (line, line is not None, line_detail),  # then what the amount asks of the line
    ]
    for code, applies, detail in checks:
        if applies:
            fired = (RuleFired(code, detail),)
            return CheckoutDecision("decline", code, grade, request.amount_minor, fired, ordered_reason_codes(fired),
                                    ordered_next_actions(CHECKOUT_DECLINE_NEXT_ACTIONS[code]))
    return CheckoutDecision("approve", None, grade, request.amount_minor)
