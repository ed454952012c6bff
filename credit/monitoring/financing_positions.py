"""Each financing as it stood at the end of a business day, read back from its journal and the ingested history.

What the financing book (:mod:`credit.monitoring.financing_book`) and its early warnings
(:mod:`credit.monitoring.financing_warnings`) read. For a business day ``as_of`` every money
figure is the sum of the journal's rows (``financing_entries``) booked on or before it, so a
past day is answered exactly, whatever happened since:

* a financing is **on the book** at ``as_of`` once booked (``created_at`` before the end of
  the day) and unless it was cancelled by then (``closed_at`` before the end of the day);
* it is **paid out** once its payout row is booked (on its value date), and **at risk** is
  then paid out - collected - recovered - written off (principal); before its payout it is at
  risk at its whole advance, like ``credit.financing.exposure.AT_RISK``;
* the invoice carrying it (a receivable's, or an order's once invoiced: the financing's
  ``invoice_id``, else the order's first invoice) counts once issued before the end of the
  day, with what was paid on it strictly before then (:mod:`credit.standing`'s "paid");
* disputes count when opened before the end of the day and not yet resolved by then.

A financing's **status** is not journaled (a move of status alone books no row), so
:attr:`Position.status` is the status as it stands now; the book says so where it uses it.

The end of a business day is midnight UTC after it (:func:`credit.monitoring.book.snapshots.end_of`),
as for the servicing job.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from credit.financing.tables import Financing, FinancingEntry
from credit.monitoring.book.snapshots import end_of
from credit.store.tables import Dispute, Invoice, Payment

F, E = Financing, FinancingEntry


@dataclass(frozen=True)
class CarryingInvoice:
    """The invoice a financing rests on, at the end of the day: due time, amount, paid before then."""

    invoice_id: int
    order_id: int
    due_at: datetime
    amount_minor: int
    paid_minor: int

    @property
    def unpaid_minor(self) -> int:
        return max(self.amount_minor - self.paid_minor, 0)


@dataclass(frozen=True)
class OpenDispute:
    """A dispute on a financing's invoice or order, open at the end of the day."""

    dispute_id: int
    order_id: int
    invoice_id: int | None
    opened_at: datetime
    amount_minor: int
    reason: str


@dataclass(frozen=True)
class Position:
    """One financing at the end of ``as_of``: its terms and its journal's sums up to that day (minor units).

    ``written_off`` and ``written_back`` split the write-off rows by sign: a recovery after a
    write-off can only reach the journal as a reversed (negative) write-off, since a
    written-off financing takes no more money and principal may not be overpaid.
    ``repaid`` is every collection and recovery, principal and fee: what a loan's minimum
    repayment schedule is measured against.
    """

    financing_id: int
    kind: str
    status: str
    supplier_id: int
    buyer_id: int | None
    order_id: int | None
    created_at: datetime
    face: int
    advance: int
    due_on: date | None
    value_date: date | None
    minimum: int
    period_days: int | None
    paid_out: int = 0
    collected: int = 0
    recovered: int = 0
    written_off_principal: int = 0
    fee_charged: int = 0
    fee_collected: int = 0
    fee_recovered: int = 0
    fee_written_off: int = 0
    written_off: int = 0
    written_back: int = 0
    diluted: int = 0
    released: int = 0
    invoice: CarryingInvoice | None = None
    disputes: tuple[OpenDispute, ...] = ()

    @property
    def is_paid_out(self) -> bool:
        return self.paid_out > 0

    @property
    def outstanding(self) -> int:
        """Principal at risk once paid out: paid out - collected - recovered - written off."""
        return self.paid_out - self.collected - self.recovered - self.written_off_principal

    @property
    def at_risk(self) -> int:
        """Exposure at the end of the day: the advance before payout, then the principal outstanding."""
        return self.outstanding if self.is_paid_out else self.advance

    @property
    def fee_owed(self) -> int:
        return self.fee_charged - self.fee_collected - self.fee_recovered - self.fee_written_off

    @property
    def repaid(self) -> int:
        """Money received on it: collections and recoveries, principal and fee."""
        return self.collected + self.fee_collected + self.recovered + self.fee_recovered


_SUMS: dict[tuple[str, str], str] = {
    ("payout", "principal"): "paid_out", ("collection", "principal"): "collected",
    ("collection", "fee"): "fee_collected", ("recovery", "principal"): "recovered",
    ("recovery", "fee"): "fee_recovered", ("fee", "fee"): "fee_charged", ("dilution", "surplus"): "diluted",
    ("release", "surplus"): "released", ("write_off", "principal"): "written_off_principal",
    ("write_off", "fee"): "fee_written_off",
}


def positions(session: Session, as_of: date) -> list[Position]:
    """Every financing on the book at the end of ``as_of``, by financing id (see the module).

    Four statements whatever the size of the book: the financings, their journal's sums by
    kind, part and sign, the invoices carrying them with what was paid on them, the open
    disputes.
    """
    end = end_of(as_of)
    on_book = and_(F.created_at < end, or_(F.status != "cancelled", F.closed_at.is_(None), F.closed_at >= end))
    rows = session.execute(select(
        F.financing_id, F.kind, F.status, F.supplier_id, F.buyer_id, F.order_id, F.invoice_id, F.created_at,
        F.face_minor, F.advance_minor, F.due_on, F.value_date, F.minimum_minor, F.period_days,
    ).where(on_book).order_by(F.financing_id)).all()
    if not rows:
        return []
    sums: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    positive = E.amount_minor > 0
    for financing_id, kind, part, is_positive, amount in session.execute(
            select(E.financing_id, E.kind, E.part, positive, func.sum(E.amount_minor))
            .join(F, F.financing_id == E.financing_id)
            .where(on_book, E.booked_on <= as_of).group_by(E.financing_id, E.kind, E.part, positive)):
        figures = sums[financing_id]
        figures[_SUMS[(kind, part)]] += int(amount)
        if kind == "write_off":
            figures["written_off" if is_positive else "written_back"] += abs(int(amount))
    invoices = _carrying_invoices(session, on_book, end)
    disputes = _open_disputes(session, on_book, end)
    listed = []
    for row in rows:
        invoice = invoices.get(row.invoice_id) if row.invoice_id is not None else None
        if invoice is None and row.kind == "order":
            invoice = invoices.get(("order", row.order_id))
        objects = {row.order_id, invoice.order_id if invoice else None} - {None}
        own = tuple(d for d in disputes if d.opened_at >= row.created_at and (
            d.order_id in objects or (invoice is not None and d.invoice_id == invoice.invoice_id)))
        listed.append(Position(
            financing_id=row.financing_id, kind=row.kind, status=row.status, supplier_id=row.supplier_id,
            buyer_id=row.buyer_id, order_id=row.order_id, created_at=row.created_at, face=int(row.face_minor),
            advance=int(row.advance_minor), due_on=row.due_on, value_date=row.value_date,
            minimum=int(row.minimum_minor), period_days=row.period_days, invoice=invoice, disputes=own,
            **sums.get(row.financing_id, {})))
    return listed


def _carrying_invoices(session: Session, on_book, end: datetime) -> dict:  # noqa: ANN001
    """Invoices issued before ``end`` that carry a financing on the book: by invoice id, and an order's first by
    ``("order", order_id)``; each with its payments made before ``end``."""
    financed = select(F.invoice_id).where(on_book, F.invoice_id.is_not(None))
    ordered = select(F.order_id).where(on_book, F.kind == "order")
    paid = (select(func.coalesce(func.sum(Payment.amount_minor), 0))
            .where(Payment.invoice_id == Invoice.invoice_id, Payment.paid_at < end).scalar_subquery())
    found: dict = {}
    for invoice_id, order_id, due_at, amount, paid_minor in session.execute(
            select(Invoice.invoice_id, Invoice.order_id, Invoice.due_at, Invoice.amount_minor, paid)
            .where(Invoice.issued_at < end, or_(Invoice.invoice_id.in_(financed), Invoice.order_id.in_(ordered)))
            .order_by(Invoice.invoice_id)):
        invoice = CarryingInvoice(int(invoice_id), int(order_id), due_at, int(amount), int(paid_minor))
        found[invoice.invoice_id] = invoice
        found.setdefault(("order", invoice.order_id), invoice)
    return found


def _open_disputes(session: Session, on_book, end: datetime) -> list[OpenDispute]:  # noqa: ANN001
    """Disputes opened before ``end``, unresolved then, on a financed order or invoice (or an invoice's order)."""
    financed_invoices = select(F.invoice_id).where(on_book, F.invoice_id.is_not(None))
    orders = select(F.order_id).where(on_book, F.order_id.is_not(None)).union(
        select(Invoice.order_id).where(Invoice.invoice_id.in_(financed_invoices)))
    return [OpenDispute(int(d.dispute_id), int(d.order_id), d.invoice_id, d.opened_at, int(d.amount_minor), d.reason)
            for d in session.execute(
                select(Dispute.dispute_id, Dispute.order_id, Dispute.invoice_id, Dispute.opened_at,
                       Dispute.amount_minor, Dispute.reason)
                .where(Dispute.opened_at < end, or_(Dispute.resolved_at.is_(None), Dispute.resolved_at >= end),
                       or_(Dispute.order_id.in_(orders), Dispute.invoice_id.in_(financed_invoices)))
                .order_by(Dispute.dispute_id))]
