"""Plain factories for receivables-financing tests: a financed invoice, and the debtor's payments, credit notes and
disputes on it, straight in the store (as the ingest would put them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import count

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from credit.financing.tables import Financing, FinancingEntry
from credit.store.tables import Dispute, Invoice, Order, Payment, Return
from tests.api.checkout.factories import make_firm

_ids = count(910_000)


@dataclass(frozen=True)
class Financed:
    financing_id: int
    invoice_id: int
    order_id: int
    supplier_id: int
    debtor_id: int


def book_receivable(session: Session, *, invoice_minor: int, face_minor: int, advance_minor: int, fee_minor: int,
                    recourse: bool, issued_at: datetime, due_at: datetime, booked_at: datetime) -> Financed:
    """A supplier's invoice on a debtor, and a receivables financing of it booked (``approved``) at ``booked_at``."""
    supplier_id = make_firm(session, firm_id=next(_ids), roles="both")
    debtor_id = make_firm(session, firm_id=next(_ids), roles="both")
    order_id, invoice_id = next(_ids), next(_ids)
    session.execute(insert(Order).values(
        order_id=order_id, buyer_id=debtor_id, supplier_id=supplier_id, created_at=issued_at - timedelta(days=3),
        amount_minor=invoice_minor, category="parts", payment_terms="net30",
        confirmed_at=issued_at - timedelta(days=2), shipped_at=issued_at))
    session.execute(insert(Invoice).values(
        invoice_id=invoice_id, order_id=order_id, supplier_id=supplier_id, buyer_id=debtor_id, issued_at=issued_at,
        due_at=due_at, amount_minor=invoice_minor))
    financing = Financing(
        kind="receivable", decision_id=str(uuid.uuid4()), supplier_id=supplier_id, buyer_id=debtor_id,
        invoice_id=invoice_id, face_minor=face_minor, advance_minor=advance_minor, fee_minor=fee_minor,
        reserve_minor=face_minor - advance_minor, recourse=recourse, tenor_days=max((due_at - booked_at).days, 1),
        due_on=due_at.date() + timedelta(days=10), status="approved", actor="test", created_at=booked_at,
        updated_at=booked_at)
    session.add(financing)
    session.flush()
    return Financed(financing.financing_id, invoice_id, order_id, supplier_id, debtor_id)


def pay(session: Session, book: Financed, amount_minor: int, at: datetime) -> int:
    """The debtor pays ``amount_minor`` on the invoice at ``at``."""
    payment_id = next(_ids)
    session.execute(insert(Payment).values(payment_id=payment_id, invoice_id=book.invoice_id, paid_at=at,
                                           amount_minor=amount_minor))
    return payment_id


def credit_note(session: Session, book: Financed, amount_minor: int, at: datetime) -> int:
    """Goods returned: a credit note of ``amount_minor`` on the invoice at ``at``."""
    return_id = next(_ids)
    session.execute(insert(Return).values(return_id=return_id, order_id=book.order_id, invoice_id=book.invoice_id,
                                          returned_at=at, amount_minor=amount_minor, reason="defective"))
    return return_id


def dispute(session: Session, book: Financed, amount_minor: int, *, opened_at: datetime, resolved_at: datetime | None,
            resolution: str | None, on_invoice: bool = True) -> int:
    """A dispute on the invoice (or only its order), resolved at ``resolved_at`` with ``resolution``."""
    dispute_id = next(_ids)
    session.execute(insert(Dispute).values(
        dispute_id=dispute_id, order_id=book.order_id, invoice_id=book.invoice_id if on_invoice else None,
        opened_at=opened_at, amount_minor=amount_minor, reason="quality", resolution=resolution,
        resolved_at=resolved_at))
    return dispute_id


def journal_of(session: Session, financing_id: int) -> list[tuple[str, str, int, str, date]]:
    """The financing's journal: (kind, part, amount, source, booked_on) in the order written."""
    e = FinancingEntry
    return [tuple(row) for row in session.execute(
        select(e.kind, e.part, e.amount_minor, e.source, e.booked_on).where(e.financing_id == financing_id)
        .order_by(e.entry_id))]


def totals(session: Session, financing_id: int) -> dict[str, int]:
    """The financing's cached totals that money moved, and its status."""
    f = session.execute(select(Financing).where(Financing.financing_id == financing_id)
                        .execution_options(populate_existing=True)).scalar_one()
    names = ("paid_out", "collected", "recovered", "written_off", "fee_charged", "fee_collected", "fee_recovered",
             "fee_written_off", "diluted", "released")
    return {name: getattr(f, f"{name}_minor") for name in names} | {"status": f.status}
