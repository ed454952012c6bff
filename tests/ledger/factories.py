"""Plain factory functions for ledger tests."""

from __future__ import annotations

from datetime import datetime
from itertools import count

from sqlalchemy import insert
from sqlalchemy.orm import Session

from credit.ledger import open_line
from credit.store.tables import Firm

T0 = datetime(2026, 3, 2, 9, 0, 0)
"""A fixed clock for hand-worked scenarios."""

_firm_ids = count(1_000)


def make_firm(session: Session, **overrides: object) -> int:
    """Insert a verified buyer firm and return its id."""
    row = {
        "firm_id": next(_firm_ids), "name": "Bolt & Nut Trading", "roles": "buyer", "industry": "machinery",
        "region": "east", "size_band": "small", "registered_at": datetime(2022, 5, 1), "verified": True,
        "deposit_minor": 0,
    } | overrides
    session.execute(insert(Firm).values(**row))
    return row["firm_id"]


def make_line(session: Session, *, limit_minor: int = 100_000, per_order_cap_minor: int | None = None,
              currency: str = "EUR", now: datetime = T0) -> int:
    """Open an active line on a new firm and return the line id."""
    return open_line(session, firm_id=make_firm(session), limit_minor=limit_minor, currency=currency,
                     per_order_cap_minor=per_order_cap_minor, now=now)
