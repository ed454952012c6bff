"""Shared helpers of servicing tests: a line, an order on terms, and reads of the book."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from credit import ledger
from credit.policy import default_policy
from credit.servicing import receivables
from credit.servicing.amounts import EXPOSURE, RECEIVABLES
from credit.servicing.tables import Receivable

POLICY = default_policy()


def order(session: Session, line_id: int, amount_minor: int, *, reference: str, now: datetime,
          terms_days: int | None = 30) -> int:
    """Authorize an order on terms and return the hold id."""
    return ledger.authorize(session, line_id, amount_minor, order_reference=reference, terms_days=terms_days,
                            now=now).hold_id


def ship(session: Session, hold_id: int, amount_minor: int, *, reference: str, now: datetime) -> int:
    """Capture part of a hold and return the receivable booked."""
    return receivables.book_capture(session, hold_id=hold_id, amount_minor=amount_minor, shipment_reference=reference,
                                    authorized_by=None, policy=POLICY, now=now)[1]


def receivable(session: Session, receivable_id: int) -> Receivable:
    return session.get(Receivable, receivable_id, populate_existing=True)


def live_exposure(session: Session, line_id: int) -> int:
    """Open principal of the line's receivables not charged off: must equal the line's posted."""
    return int(session.execute(select(func.coalesce(func.sum(EXPOSURE), 0))
                               .where(RECEIVABLES.c.line_id == line_id)).scalar_one())
