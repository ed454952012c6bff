"""Plain factories for checkout API tests: buyers with lines, unpaid invoices, scores, all straight in the store."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from credit import clock
from credit.ledger import open_line
from credit.scoring.tables import ScoreSnapshot
from credit.store.tables import Firm, Invoice, Order, Payment

_ids = count(5_000)


def make_firm(session: Session, **overrides: object) -> int:
    """Insert a verified buyer firm and return its id."""
    row = {
        "firm_id": next(_ids), "name": "Bolt & Nut Trading", "roles": "buyer", "industry": "machinery",
        "region": "east", "size_band": "small", "registered_at": datetime(2022, 5, 1), "verified": True,
        "deposit_minor": 0,
    } | overrides
    session.execute(insert(Firm).values(**row))
    return row["firm_id"]


def make_buyer_with_line(engine: Engine, *, limit_minor: int, per_order_cap_minor: int | None = None) -> tuple[int, int]:
    """A new buyer firm with an active EUR line, committed; returns (firm_id, line_id)."""
    with Session(engine) as session, session.begin():
        firm_id = make_firm(session)
        line_id = open_line(session, firm_id=firm_id, limit_minor=limit_minor, currency="EUR",
                            per_order_cap_minor=per_order_cap_minor)
    return firm_id, line_id


def make_unpaid_invoice(engine: Engine, buyer_id: int, *, days_overdue: float, amount_minor: int = 50_000,
                        paid_minor: int = 0) -> None:
    """An invoice to ``buyer_id`` due ``days_overdue`` days ago, paid ``paid_minor`` so far."""
    now = clock.now()
    due = now - timedelta(days=days_overdue)
    with Session(engine) as session, session.begin():
        supplier = make_firm(session, roles="supplier", name="Steel Supplies")
        order_id, invoice_id = next(_ids), next(_ids)
        session.execute(insert(Order).values(
            order_id=order_id, buyer_id=buyer_id, supplier_id=supplier, created_at=due - timedelta(days=40),
            amount_minor=amount_minor, category="parts", payment_terms="net30"))
        session.execute(insert(Invoice).values(
            invoice_id=invoice_id, order_id=order_id, supplier_id=supplier, buyer_id=buyer_id,
            issued_at=due - timedelta(days=30), due_at=due, amount_minor=amount_minor))
        if paid_minor:
            session.execute(insert(Payment).values(payment_id=next(_ids), invoice_id=invoice_id,
                                                   paid_at=due - timedelta(days=1), amount_minor=paid_minor))


def make_score(engine: Engine, firm_id: int, pd: float) -> None:
    """A score snapshot row for the firm as of today."""
    now = clock.now()
    with Session(engine) as session, session.begin():
        session.add(ScoreSnapshot(firm_id=firm_id, as_of=now.date(), model_name="credit-pd", model_version="7", pd=pd,
                                  features={}, reason_codes=[], reason_catalogue_version=1, scored_at=now))
