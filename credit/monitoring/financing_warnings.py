"""Early warnings on the financing book: financings whose repayment is slipping, each with a rule from a fixed catalogue.

The firm-level early-warning list (:mod:`credit.monitoring.early_warning`) flags firms from the
monthly feature panel in a stored monitoring run; these rules flag single financings at the
end of a business day, read live from the journal and the ingested history
(:func:`credit.monitoring.financing_positions.positions`), so they are kept apart in the same
shape: every rule is a pure function of the positions and returns, per financing it flags,
the numbers behind the flag; :func:`financing_warnings` runs them all. A financing is judged
only while something is at risk on it.

======================  ===============================================================
code                    the financing is flagged at the end of ``as_of`` when
======================  ===============================================================
``invoice_overdue``     (receivable, or order once invoiced) paid out, principal
                        outstanding, and its invoice unpaid at least one whole day past
                        its due time (:mod:`credit.standing`'s "overdue": due at or
                        before midnight starting ``as_of``, payments before the end of
                        the day)
``invoice_disputed``    (receivable, order) a dispute on its invoice or its order opened
                        after the financing was booked and still open at the end of the
                        day (booked and not yet paid out counts: do not pay it out)
``order_past_due``      (order) paid out, principal outstanding, and ``as_of`` after its
                        ``due_on`` (the day repayment was expected)
``loan_behind``         (loan) paid out, something owed, and the money repaid by the end
                        of the day (collections and recoveries, principal and fee) below
                        the minimum schedule: ``minimum x elapsed / period_days``, where
                        ``elapsed`` is the days since the value date, capped at what the
                        loan costs in all (paid out + fee charged). At a period end
                        (``elapsed`` a multiple of ``period_days``: the k-th period ends
                        on value date + k x period_days) that is exactly k x minimum; in
                        between it is the straight line from one period end to the next.
                        ``basis`` says which: ``period_end`` when a completed period's
                        minimum is missed (repaid below k x minimum: the loan is
                        overdue), ``straight_line`` when only the mid-period path is
                        missed (it will miss the next minimum unless it catches up)
======================  ===============================================================

``invoice_overdue``, ``order_past_due`` and ``loan_behind`` on basis ``period_end`` make a
financing **overdue** in the book's table (:func:`is_late`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from credit.monitoring.book.snapshots import end_of
from credit.monitoring.financing_positions import Position
from credit.standing import days_past_due

Flags = dict[int, dict[str, Any]]
"""financing_id -> the numbers behind one rule's flag."""

FINANCING_WARNING_REASONS: dict[str, str] = {
    "invoice_overdue": "The financed invoice is past its due date and not paid in full.",
    "invoice_disputed": "The buyer opened a dispute on the financed invoice or its order after the financing was "
                        "booked: its value may be diluted.",
    "order_past_due": "The order advance is past the day it was to be repaid.",
    "loan_behind": "The loan's repayments fell behind its minimum repayment schedule.",
}
"""The fixed catalogue of the financing book's early-warning codes, in display order, with their plain-language text."""

PERIOD_END, STRAIGHT_LINE = "period_end", "straight_line"


@dataclass(frozen=True)
class FinancingWarning:
    """One rule flagging one financing at the end of a business day.

    ``firm_id`` is the firm advanced to (the supplier, or the loan's borrower); ``buyer_id``
    the order's buyer or the invoice's debtor (null for a loan). ``at_risk_minor`` is the
    financing's exposure that day; ``details`` the numbers behind the rule (money in minor units).
    """

    financing_id: int
    kind: str
    firm_id: int
    buyer_id: int | None
    rule: str
    at_risk_minor: int
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return FINANCING_WARNING_REASONS[self.rule]


def invoice_overdue(positions: Iterable[Position], as_of: date) -> Flags:
    """Receivables and invoiced order advances paid out, principal outstanding, their invoice overdue and unpaid.

    Returns
    -------
    dict
        financing_id -> ``invoice_id``, ``due_at`` (ISO time), ``days_past_due`` (whole days at
        the end of the day), ``unpaid_minor``.
    """
    end = end_of(as_of)
    flagged = {}
    for p in positions:
        invoice = p.invoice
        if p.kind == "loan" or invoice is None or not p.is_paid_out or p.outstanding <= 0 or not invoice.unpaid_minor:
            continue
        late = days_past_due(invoice.due_at, end)
        if late >= 1:
            flagged[p.financing_id] = {"invoice_id": invoice.invoice_id, "due_at": invoice.due_at.isoformat(),
                                       "days_past_due": late, "unpaid_minor": invoice.unpaid_minor}
    return flagged


def invoice_disputed(positions: Iterable[Position]) -> Flags:
    """Receivables and order advances at risk with a dispute opened after booking and open at the end of the day.

    Returns
    -------
    dict
        financing_id -> ``disputes`` (ids), ``disputed_minor`` (their amounts), ``opened_on``
        (ISO date of the first), ``reasons``.
    """
    flagged = {}
    for p in positions:
        if p.kind == "loan" or not p.disputes or p.at_risk <= 0:
            continue
        flagged[p.financing_id] = {
            "disputes": [d.dispute_id for d in p.disputes],
            "disputed_minor": sum(d.amount_minor for d in p.disputes),
            "opened_on": min(d.opened_at for d in p.disputes).date().isoformat(),
            "reasons": sorted({d.reason for d in p.disputes})}
    return flagged


def order_past_due(positions: Iterable[Position], as_of: date) -> Flags:
    """Order advances paid out, principal outstanding, after their ``due_on``.

    Returns
    -------
    dict
        financing_id -> ``due_on`` (ISO date), ``days_past_due`` (``as_of - due_on``),
        ``invoice_id`` (the invoice carrying it by then, or null).
    """
    flagged = {}
    for p in positions:
        if p.kind != "order" or not p.is_paid_out or p.outstanding <= 0 or p.due_on is None or as_of <= p.due_on:
            continue
        flagged[p.financing_id] = {"due_on": p.due_on.isoformat(), "days_past_due": (as_of - p.due_on).days,
                                   "invoice_id": p.invoice.invoice_id if p.invoice else None}
    return flagged


def loan_schedule(p: Position, as_of: date) -> tuple[int, int, int]:
    """What a loan must have repaid by the end of ``as_of``: (days elapsed since the value date, completed periods,
    the schedule's minimum in minor units rounded up; see the module)."""
    elapsed = (as_of - p.value_date).days if p.value_date else 0
    if elapsed <= 0 or not p.period_days or p.minimum <= 0:
        return max(elapsed, 0), 0, 0
    cap = p.paid_out + p.fee_charged
    # ceil(minimum x elapsed / period): a whole minor unit repaid short of the exact path is behind it
    return elapsed, elapsed // p.period_days, min(-(-p.minimum * elapsed // p.period_days), cap)


def loan_behind(positions: Iterable[Position], as_of: date) -> Flags:
    """Loans paid out with something owed whose money repaid is below the minimum schedule.

    Returns
    -------
    dict
        financing_id -> ``basis`` (``period_end`` or ``straight_line``), ``elapsed_days``,
        ``periods_completed``, ``required_minor`` (the schedule at the end of the day),
        ``period_minimum_minor`` (completed periods x minimum, capped likewise),
        ``repaid_minor``, ``shortfall_minor`` (required - repaid).
    """
    flagged = {}
    for p in positions:
        if p.kind != "loan" or not p.is_paid_out or p.outstanding + p.fee_owed <= 0:
            continue
        elapsed, periods, required = loan_schedule(p, as_of)
        if p.repaid >= required:
            continue
        period_minimum = min(periods * p.minimum, p.paid_out + p.fee_charged)
        flagged[p.financing_id] = {
            "basis": PERIOD_END if p.repaid < period_minimum else STRAIGHT_LINE, "elapsed_days": elapsed,
            "periods_completed": periods, "required_minor": required, "period_minimum_minor": period_minimum,
            "repaid_minor": p.repaid, "shortfall_minor": required - p.repaid}
    return flagged


def financing_warnings(positions: Sequence[Position], as_of: date) -> tuple[FinancingWarning, ...]:
    """Run every rule on the positions at the end of ``as_of``.

    Returns
    -------
    tuple of FinancingWarning
        One per (financing, rule) flagged, in the catalogue's order of rules, then by financing id.
    """
    rules = {
        "invoice_overdue": invoice_overdue(positions, as_of),
        "invoice_disputed": invoice_disputed(positions),
        "order_past_due": order_past_due(positions, as_of),
        "loan_behind": loan_behind(positions, as_of),
    }
    by_id = {p.financing_id: p for p in positions}
    return tuple(FinancingWarning(financing_id=financing_id, kind=by_id[financing_id].kind,
                                  firm_id=by_id[financing_id].supplier_id, buyer_id=by_id[financing_id].buyer_id,
                                  rule=code, at_risk_minor=by_id[financing_id].at_risk, details=details)
                 for code, flags in rules.items() for financing_id, details in sorted(flags.items()))


def is_late(warning: FinancingWarning) -> bool:
    """Whether the warning makes its financing overdue in the book: repayment missed, not merely at risk."""
    return warning.rule in ("invoice_overdue", "order_past_due") or (
        warning.rule == "loan_behind" and warning.details["basis"] == PERIOD_END)

