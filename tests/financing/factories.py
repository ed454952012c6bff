"""Plain factories for financing library tests: firms, orders, invoices, payments and a booked order advance.

Everything goes straight into the session (a rolled-back test session); a booking is the row
:func:`api.financing.service.order_financing` writes for an approved quote, with a yearly rate
chosen by the test so that its fees can be worked out by hand.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import count

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from credit.financing.tables import Financing
from credit.store.tables import Invoice, Order, Payment
from tests.ledger.factories import make_firm

_ids = count(80_000)


def make_parties(session: Session) -> tuple[int, int]:
    """A verified buyer and a verified supplier; returns (buyer_id, supplier_id)."""
    return make_firm(session, roles="buyer"), make_firm(session, roles="supplier", name="Gear Works")


def make_order(session: Session, buyer_id: int, supplier_id: int, amount_minor: int, *, at: datetime) -> int:
    """A purchase order placed a day before ``at`` and confirmed at ``at``."""
    order_id = next(_ids)
    session.execute(insert(Order).values(
        order_id=order_id, buyer_id=buyer_id, supplier_id=supplier_id, created_at=at - timedelta(days=1),
        amount_minor=amount_minor, category="parts", payment_terms="net30", confirmed_at=at))
    return order_id


def ship_and_invoice(session: Session, order_id: int, amount_minor: int, *, at: datetime, due_in_days: int = 30) -> int:
    """The order ships at ``at`` and its invoice is issued then; returns the invoice id."""
    order = session.get(Order, order_id)
    session.execute(update(Order).where(Order.order_id == order_id).values(shipped_at=at))
    invoice_id = next(_ids)
    session.execute(insert(Invoice).values(
        invoice_id=invoice_id, order_id=order_id, supplier_id=order.supplier_id, buyer_id=order.buyer_id,
        issued_at=at, due_at=at + timedelta(days=due_in_days), amount_minor=amount_minor))
    return invoice_id


def cancel_order(session: Session, order_id: int, *, at: datetime) -> None:
    session.execute(update(Order).where(Order.order_id == order_id).values(cancelled_at=at))


def pay_invoice(session: Session, invoice_id: int, amount_minor: int, *, at: datetime) -> int:
    """An ingested payment of the buyer on the invoice; returns the payment id."""
    payment_id = next(_ids)
    session.execute(insert(Payment).values(payment_id=payment_id, invoice_id=invoice_id, paid_at=at,
                                           amount_minor=amount_minor))
    return payment_id


def book_order_financing(session: Session, order_id: int, advance_minor: int, *, annual_rate: str, tenor_days: int,
                         booked_on: date, now: datetime) -> int:
    """An approved order advance (status ``approved``), due ``tenor_days`` after ``booked_on``; returns its id."""
    order = session.get(Order, order_id)
    financing = Financing(
        kind="order", decision_id=f"quote-{next(_ids)}", supplier_id=order.supplier_id, buyer_id=order.buyer_id,
        order_id=order_id, face_minor=order.amount_minor, advance_minor=advance_minor, fee_minor=0,
        annual_rate=annual_rate, recourse=True, tenor_days=tenor_days, due_on=booked_on + timedelta(days=tenor_days),
        status="approved", actor="test", created_at=now, updated_at=now)
    session.add(financing)
    session.flush()
    return financing.financing_id


def book_receivable_financing(session: Session, invoice_id: int, advance_minor: int, *, now: datetime) -> int:
    """An approved receivables advance on the invoice (the double financing an order advance must not repeat)."""
    invoice = session.get(Invoice, invoice_id)
    financing = Financing(
        kind="receivable", decision_id=f"quote-{next(_ids)}", supplier_id=invoice.supplier_id,
        buyer_id=invoice.buyer_id, invoice_id=invoice_id, face_minor=invoice.amount_minor,
        advance_minor=advance_minor, reserve_minor=invoice.amount_minor - advance_minor, fee_minor=0, recourse=True,
        tenor_days=30, due_on=invoice.due_at.date(), status="approved", actor="test", created_at=now, updated_at=now)
    session.add(financing)
    session.flush()
    return financing.financing_id
