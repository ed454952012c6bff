"""Plain factories for servicing tests: a buyer with a line, an order on terms and its first shipment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from credit.ledger import open_line
from tests.api.checkout.factories import make_firm
from tests.servicing.book import order, ship


@dataclass(frozen=True)
class Booked:
    firm_id: int
    line_id: int
    hold_id: int
    receivable_id: int


def book_receivable(session: Session, *, principal_minor: int, issued_at: datetime, terms_days: int = 30,
                    limit_minor: int = 1_000_000, held_minor: int | None = None) -> Booked:
    """A buyer with a line, an order held for ``held_minor`` on net ``terms_days`` and ``principal_minor`` of
    it shipped at ``issued_at`` (the shipped policy: the merchant pays the terms fee, the buyer owes the principal)."""
    firm_id = make_firm(session)
    line_id = open_line(session, firm_id=firm_id, limit_minor=limit_minor, currency="EUR", now=issued_at)
    hold_id = order(session, line_id, held_minor or principal_minor, reference=f"PO-{firm_id}", now=issued_at,
                    terms_days=terms_days)
    receivable_id = ship(session, hold_id, principal_minor, reference=f"SHIP-{firm_id}", now=issued_at)
    return Booked(firm_id, line_id, hold_id, receivable_id)
