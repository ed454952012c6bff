"""Factories of the journal tests: two firms, an order between them, a financing booked on it, a loan."""

from __future__ import annotations

from datetime import date, datetime
from itertools import count

from sqlalchemy import insert
from sqlalchemy.orm import Session

from credit.financing.tables import Financing
from credit.store.tables import Order
from tests.api.checkout.factories import make_firm

_orders = count(880_001)


def make_order(session: Session, *, buyer_id: int, supplier_id: int, amount_minor: int, created_at: datetime) -> int:
    """A confirmed purchase order of ``buyer_id`` from ``supplier_id``; returns its id."""
    order_id = next(_orders)
    session.execute(insert(Order).values(
        order_id=order_id, buyer_id=buyer_id, supplier_id=supplier_id, created_at=created_at,
        amount_minor=amount_minor, category="parts", payment_terms="net30", confirmed_at=created_at))
    return order_id


def book_order_financing(session: Session, *, advance_minor: int, annual_rate: str = "0.100000",
                         booked_at: datetime = datetime(2026, 3, 1, 9), tenor_days: int = 60,
                         buyer_id: int | None = None, supplier_id: int | None = None) -> Financing:
    """An approved (not yet paid out) order financing of ``advance_minor`` at ``annual_rate`` a year."""
    buyer_id = buyer_id or make_firm(session)
    supplier_id = supplier_id or make_firm(session, roles="supplier", name="Steel Works")
    order_id = make_order(session, buyer_id=buyer_id, supplier_id=supplier_id, amount_minor=advance_minor * 2,
                          created_at=booked_at)
    financing = Financing(
        kind="order", decision_id=f"test-{order_id}", supplier_id=supplier_id, buyer_id=buyer_id, order_id=order_id,
        face_minor=advance_minor * 2, advance_minor=advance_minor, fee_minor=0, annual_rate=annual_rate,
        tenor_days=tenor_days, due_on=booked_at.date() + (date(2026, 1, 2) - date(2026, 1, 1)) * tenor_days,
        status="approved", recourse=True, actor="test", created_at=booked_at, updated_at=booked_at)
    session.add(financing)
    session.flush()
    return financing


def book_loan(session: Session, *, amount_minor: int, fee_minor: int, booked_at: datetime) -> Financing:
    """An approved transaction-flow loan of ``amount_minor`` with a flat ``fee_minor`` to a new seller."""
    borrower = make_firm(session, roles="supplier", name="Valve Makers")
    loan = Financing(
        kind="loan", decision_id=f"loan-{borrower}", supplier_id=borrower, face_minor=amount_minor,
        advance_minor=amount_minor, fee_minor=fee_minor, withholding_rate="0.10", minimum_minor=1,
        period_days=60, tenor_days=360, status="approved", recourse=False, actor="test", created_at=booked_at,
        updated_at=booked_at)
    session.add(loan)
    session.flush()
    return loan
