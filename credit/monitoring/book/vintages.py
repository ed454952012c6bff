"""Vintage curves: how the receivables captured in one month performed, month end by month end.

A **vintage** is a capture month: the month of a terms receivable's ``issued_at``. The
installments of a split capture belong to their capture's vintage, and each receivable
carries the principal it holds now (``principal - refunded - rescheduled``), so a capture's
principal counts once however it was split, net of seller refunds.

At each month-end snapshot day ``d`` (:func:`~credit.monitoring.book.snapshots.month_end_days`,
the roll rates' days), ``months_on_book`` after the vintage month (0: the capture month's own
month end), read at the end of ``d``:

* **charged off** (cumulative, gross of recoveries): the ``charged_off_minor`` of the
  vintage's receivables whose line was charged off by then (its first ``charge_off`` ledger
  transfer, :func:`~credit.monitoring.book.snapshots.line_charge_offs`);
* **more than 30 days past due**: the principal still owed then on the vintage's receivables
  not charged off by then that were more than 30 days past their due date (ageing bucket
  31-60 or worse, :func:`credit.standing.definition.days_past_due`). Principal owed then is
  the principal it carries less the principal allocations booked before the end of ``d``
  (``repayment_allocations``, returned payments' reversals included).

Both as amounts (integer minor units) and as shares of the vintage's principal.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from itertools import accumulate

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.monitoring.book.snapshots import end_of, line_charge_offs, month_end_days, month_index
from credit.servicing.amounts import RECEIVABLES
from credit.servicing.tables import RepaymentAllocation
from credit.standing.definition import days_past_due

PAST_DUE_DAYS = 30
"""A receivable more than this many days past due counts as delinquent on the curve."""

_ALLOCATIONS = RepaymentAllocation.__table__


@dataclass(frozen=True)
class VintagePoint:
    """A vintage at one month end, ``months_on_book`` months after its capture month."""

    months_on_book: int
    as_of: date
    charged_off_minor: int
    past_due_minor: int
    charged_off_share: float | None
    past_due_share: float | None


@dataclass(frozen=True)
class VintageCurve:
    """The captures of one month: how many, their principal, and their points by months on book."""

    vintage: date
    captures: int
    principal_minor: int
    points: tuple[VintagePoint, ...]


@dataclass(frozen=True)
class _Receivable:
    receivable_id: int
    line_id: int
    due_at: datetime
    principal_minor: int
    charged_off_minor: int


def vintage_curves(session: Session) -> tuple[VintageCurve, ...]:
    """The curve of every capture month, oldest first (see the module docstring).

    Parameters
    ----------
    session
        A session on the store.

    Returns
    -------
    tuple of VintageCurve
        One per month with a capture; points only at month ends from the capture month on
        (none before the capture month has ended by the latest snapshot).
    """
    r = RECEIVABLES.c
    rows = session.execute(select(r.receivable_id, r.parent_id, r.kind, r.line_id, r.issued_at, r.due_at,
                                  (r.principal_minor - r.refunded_minor - r.rescheduled_minor).label("carried"),
                                  r.charged_off_minor)).all()
    if not rows:
        return ()
    issued = {row.receivable_id: row.issued_at for row in rows}
    vintages: dict[date, list[_Receivable]] = defaultdict(list)
    captures: dict[date, int] = defaultdict(int)
    for row in rows:
        month = issued[row.parent_id or row.receivable_id].date().replace(day=1)
        vintages[month].append(_Receivable(row.receivable_id, row.line_id, row.due_at, int(row.carried),
                                           int(row.charged_off_minor)))
        captures[month] += row.kind == "terms"
    paid = _principal_paid(session)
    charged_at = line_charge_offs(session)
    days = month_end_days(session)
    curves = []
    for month in sorted(vintages):
        receivables = vintages[month]
        principal = sum(item.principal_minor for item in receivables)
        points = tuple(_point(day, month_index(day) - month_index(month), receivables, principal, paid, charged_at)
                       for day in days if month_index(day) >= month_index(month))
        curves.append(VintageCurve(month, captures[month], principal, points))
    return tuple(curves)


def _point(day: date, months_on_book: int, receivables: list[_Receivable], principal: int,
           paid: dict[int, tuple[list[datetime], list[int]]], charged_at: dict[int, datetime]) -> VintagePoint:
    moment = end_of(day)
    charged_off = past_due = 0
    for item in receivables:
        line_charged = charged_at.get(item.line_id)
        if item.charged_off_minor and line_charged is not None and line_charged < moment:
            charged_off += item.charged_off_minor
            continue
        owed = item.principal_minor - _paid_before(paid.get(item.receivable_id), moment)
        if owed > 0 and days_past_due(item.due_at, moment) > PAST_DUE_DAYS:
            past_due += owed
    return VintagePoint(months_on_book, day, charged_off, past_due, charged_off / principal if principal else None,
                        past_due / principal if principal else None)


def _principal_paid(session: Session) -> dict[int, tuple[list[datetime], list[int]]]:
    """Per receivable: the times of its principal allocations and the running total after each."""
    a = _ALLOCATIONS.c
    moves: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for receivable_id, created_at, amount in session.execute(
            select(a.receivable_id, a.created_at, a.amount_minor).where(a.part == "principal")
            .order_by(a.created_at, a.allocation_id)):
        moves[receivable_id].append((created_at, int(amount)))
    return {rid: ([when for when, _ in rows], list(accumulate(amount for _, amount in rows)))
            for rid, rows in moves.items()}


def _paid_before(history: tuple[list[datetime], list[int]] | None, moment: datetime) -> int:
    if history is None:
        return 0
    times, totals = history
    booked = bisect_left(times, moment)  # allocations strictly before the moment
    return totals[booked - 1] if booked else 0
