"""Plain factories for servicing tests: a buyer with a line, a captured order and its receivable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from credit.ledger import authorize, capture, open_line
from credit.servicing.tables import Receivable
from tests.api.checkout.factories import make_firm


@dataclass(frozen=True)
class Booked:
    firm_id: int
    line_id: int
    hold_id: int
    receivable_id: int


def book_receivable(session: Session, *, principal_minor: int, issued_at: datetime, terms_days: int = 30,
                    limit_minor: int = 1_000_000, held_minor: int | None = None) -> Booked:
    """A buyer with a line, an order held for ``held_minor`` and ``principal_minor`` of it captured at
    ``issued_at`` on net ``terms_days``, with the receivable the capture creates (no fee owed by the buyer)."""
    firm_id = make_firm(session)
    line_id = open_line(session, firm_id=firm_id, limit_minor=limit_minor, currency="EUR", now=issued_at)
    hold = authorize(session, line_id, held_minor or principal_minor, order_reference=f"PO-{firm_id}",
                     terms_days=terms_days, now=issued_at)
    capture(session, hold.hold_id, principal_minor, reference=f"SHIP-{firm_id}", now=issued_at)
    receivable_id = session.execute(insert(Receivable).values(
        line_id=line_id, firm_id=firm_id, hold_id=hold.hold_id, kind="terms", shipment_reference=f"SHIP-{firm_id}",
        terms_days=terms_days, issued_at=issued_at, due_at=issued_at + timedelta(days=terms_days),
        principal_minor=principal_minor, refunded_minor=0, rescheduled_minor=0, fee_minor=0, merchant_fee_minor=0,
        late_fee_minor=0, paid_principal_minor=0, paid_fee_minor=0, paid_late_fee_minor=0, charged_off_minor=0,
        recovered_minor=0, status="open", created_at=issued_at, updated_at=issued_at,
    ).returning(Receivable.receivable_id)).scalar_one()
    return Booked(firm_id, line_id, hold.hold_id, receivable_id)
