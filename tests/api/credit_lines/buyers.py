"""Pick buyers of the scored marketplace by what the store says about them now (see tests/api/marketplace.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from credit import clock
from credit.policy import default_policy
from credit.scoring.tables import ScoreSnapshot
from credit.store.tables import CreditEvent, Firm, Invoice, Payment


@dataclass(frozen=True)
class Buyer:
    firm_id: int
    pd: float
    grade: str
    gmv_365d: float
    overdue_invoices: int
    defaulted: bool
    verified: bool
    tenure_days: float


def buyers(engine: Engine, now: datetime | None = None) -> list[Buyer]:
    """Every scored firm with its snapshot PD, grade and purchases, and its arrears and defaults now."""
    now = now or clock.now()
    policy = default_policy()
    with Session(engine) as session:
        paid: dict[int, int] = {}
        for invoice_id, amount, paid_at in session.execute(
                select(Payment.invoice_id, Payment.amount_minor, Payment.paid_at)):
            if paid_at < now:
                paid[invoice_id] = paid.get(invoice_id, 0) + amount
        overdue: dict[int, int] = {}
        # whole days past due, as the service counts them: an invoice due 5 hours ago is not overdue yet
        for invoice in session.scalars(select(Invoice).where(Invoice.due_at <= now - timedelta(days=1))):
            if paid.get(invoice.invoice_id, 0) < invoice.amount_minor:
                overdue[invoice.buyer_id] = overdue.get(invoice.buyer_id, 0) + 1
        defaulted = set(session.scalars(select(CreditEvent.firm_id).where(CreditEvent.occurred_at < now)))
        found = []
        for firm, score in session.execute(select(Firm, ScoreSnapshot).join(
                ScoreSnapshot, ScoreSnapshot.firm_id == Firm.firm_id)):
            found.append(Buyer(firm.firm_id, score.pd, policy.grade_of(Decimal(repr(score.pd))),
                               score.features.get("buyer_gmv_365d") or 0.0, overdue.get(firm.firm_id, 0),
                               firm.firm_id in defaulted, firm.verified,
                               (now - firm.registered_at) / timedelta(days=1)))
    return found


def clean(buyer: Buyer) -> bool:
    """Passes every knock-out of the default policy."""
    return (buyer.verified and not buyer.defaulted and buyer.overdue_invoices == 0 and buyer.tenure_days >= 180
            and buyer.grade != "H")
