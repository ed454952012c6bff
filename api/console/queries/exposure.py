"""What a firm owes and may still draw: its credit line, the holds pending on it, its invoices aged by days past due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.ledger.journal import HOLDS, LINES
from credit.standing import days_past_due
from credit.standing import sql as standing
from credit.store.tables import Firm

OPEN_INVOICES_SHOWN = 50

AGEING_BUCKETS: tuple[str, ...] = ("Current", "1–30 days", "31–60 days", "61–90 days", "Over 90 days")
"""Invoice ageing buckets, by whole days past due: not overdue (less than a whole day past due), then 1-30,
31-60, 61-90, over 90."""


@dataclass(frozen=True)
class LineView:
    """A credit line's terms and balances now."""

    line_id: int
    status: str
    limit_minor: int
    posted_minor: int
    pending_minor: int
    per_order_cap_minor: int | None
    created_at: datetime
    updated_at: datetime

    @property
    def exposure_minor(self) -> int:
        return self.posted_minor + self.pending_minor

    @property
    def available_minor(self) -> int:
        return max(self.limit_minor - self.exposure_minor, 0)

    @property
    def utilisation(self) -> Decimal | None:
        """Posted plus pending over the limit; None for a zero limit."""
        return Decimal(self.exposure_minor) / Decimal(self.limit_minor) if self.limit_minor else None


def line_of_firm(session: Session, firm_id: int) -> LineView | None:
    """The firm's credit line as stored now.

    Returns
    -------
    LineView or None
        None when the firm has no line.
    """
    row = session.execute(select(LINES.c.line_id, LINES.c.status, LINES.c.limit_minor, LINES.c.posted_minor,
                                 LINES.c.pending_minor, LINES.c.per_order_cap_minor, LINES.c.created_at,
                                 LINES.c.updated_at).where(LINES.c.firm_id == firm_id)).first()
    return None if row is None else LineView(*row)


def lines_of_firms(session: Session, firm_ids: list[int]) -> dict[int, LineView]:
    """The credit lines of several firms at once.

    Returns
    -------
    dict
        Firm id -> its :class:`LineView`, for the firms that have a line.
    """
    lines: dict[int, LineView] = {}
    for start in range(0, len(firm_ids), 500):
        chunk = firm_ids[start:start + 500]
        for row in session.execute(select(LINES.c.firm_id, LINES.c.line_id, LINES.c.status, LINES.c.limit_minor,
                                          LINES.c.posted_minor, LINES.c.pending_minor, LINES.c.per_order_cap_minor,
                                          LINES.c.created_at, LINES.c.updated_at).where(LINES.c.firm_id.in_(chunk))):
            lines[row.firm_id] = LineView(*row[1:])
    return lines


@dataclass(frozen=True)
class HoldView:
    """A pending authorization on a line: what is still held of it."""

    hold_id: int
    order_reference: str
    amount_minor: int
    captured_minor: int
    held_minor: int
    created_at: datetime
    expires_at: datetime


def pending_holds(session: Session, line_id: int) -> list[HoldView]:
    """The line's pending holds, oldest first.

    Returns
    -------
    list of HoldView
        Each with what is still held of it (authorized less captured and released).
    """
    rows = session.execute(
        select(HOLDS.c.hold_id, HOLDS.c.order_reference, HOLDS.c.amount_minor, HOLDS.c.captured_minor,
               HOLDS.c.released_minor, HOLDS.c.created_at, HOLDS.c.expires_at)
        .where(HOLDS.c.line_id == line_id, HOLDS.c.status == "pending").order_by(HOLDS.c.hold_id))
    return [HoldView(r.hold_id, r.order_reference, r.amount_minor, r.captured_minor,
                     r.amount_minor - r.captured_minor - r.released_minor, r.created_at, r.expires_at) for r in rows]


@dataclass(frozen=True)
class OpenInvoice:
    """An invoice the firm owes with something left to pay."""

    invoice_id: int
    supplier_id: int
    supplier_name: str
    issued_at: datetime
    due_at: datetime
    amount_minor: int
    paid_minor: int
    days_past_due: int
    bucket: str

    @property
    def outstanding_minor(self) -> int:
        return self.amount_minor - self.paid_minor


@dataclass(frozen=True)
class AgeingBucket:
    label: str
    invoices: int
    outstanding_minor: int


@dataclass(frozen=True)
class InvoiceAgeing:
    """What a firm owes as a buyer, by days past due, and its open invoices (most overdue first)."""

    buckets: tuple[AgeingBucket, ...]
    open_invoices: tuple[OpenInvoice, ...]
    open_count: int
    paid_count: int

    @property
    def outstanding_minor(self) -> int:
        return sum(bucket.outstanding_minor for bucket in self.buckets)

    @property
    def overdue_minor(self) -> int:
        return sum(bucket.outstanding_minor for bucket in self.buckets[1:])


def ageing_bucket(days_past_due: int) -> str:
    """The bucket of :data:`AGEING_BUCKETS` for whole days past due (0 or less: current)."""
    if days_past_due <= 0:
        return AGEING_BUCKETS[0]
    if days_past_due <= 30:
        return AGEING_BUCKETS[1]
    if days_past_due <= 60:
        return AGEING_BUCKETS[2]
    if days_past_due <= 90:
        return AGEING_BUCKETS[3]
    return AGEING_BUCKETS[4]


def invoice_ageing(session: Session, firm_id: int, now: datetime, *, shown: int = OPEN_INVOICES_SHOWN) -> InvoiceAgeing:
    """The firm's invoices as a buyer (debtor), issued before now, aged by days past due now.

    Outstanding, days past due and overdue are :mod:`credit.standing`'s (payments before now;
    credit notes not netted): the "Current" bucket holds what is not overdue, so the
    ageing's overdue total is the firm's overdue amount.

    Parameters
    ----------
    shown
        Most open invoices listed (the most overdue first); the buckets count them all.
    """
    owed = standing.owed_invoices(firm_id, now)
    supplier = Firm.__table__
    rows = session.execute(
        owed.add_columns(supplier.c.name).join(supplier, supplier.c.firm_id == owed.selected_columns.supplier_id)
        .order_by(owed.selected_columns.due_at, owed.selected_columns.invoice_id)).all()
    counts = dict.fromkeys(AGEING_BUCKETS, 0)
    sums = dict.fromkeys(AGEING_BUCKETS, 0)
    open_invoices = []
    paid_count = 0
    for row in rows:
        if row.paid_minor >= row.amount_minor:
            paid_count += 1
            continue
        days = days_past_due(row.due_at, now)
        bucket = ageing_bucket(days)
        counts[bucket] += 1
        sums[bucket] += row.amount_minor - row.paid_minor
        open_invoices.append(OpenInvoice(row.invoice_id, row.supplier_id, row.name, row.issued_at, row.due_at,
                                         row.amount_minor, row.paid_minor, max(days, 0), bucket))
    return InvoiceAgeing(buckets=tuple(AgeingBucket(label, counts[label], sums[label]) for label in AGEING_BUCKETS),
                         open_invoices=tuple(open_invoices[:shown]), open_count=len(open_invoices),
                         paid_count=paid_count)
