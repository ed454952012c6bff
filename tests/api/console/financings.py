"""One financing of each product on a console store, straight through the ORM and the journal (real booking code).

Amounts (minor units), worked out by hand for the tests that read them back:

* an order advance of 4,000.00, approved, never paid out: exposure 4,000.00;
* a receivables advance of 8,000.00 on an invoice's 10,000.00 (reserve 2,000.00), paid out,
  3,000.00 collected (outstanding 5,000.00), then 500.00 of the invoice diluted;
* a transaction-flow loan of 2,500.00, paid out, then overdue.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.financing import journal
from credit.financing.journal import Entry
from credit.financing.tables import Financing
from credit.store.tables import Invoice, Order


@dataclass(frozen=True)
class Financings:
    order: Financing
    receivable: Financing
    loan: Financing


def _financing(now: datetime, **fields: object) -> Financing:
    return Financing(decision_id=str(uuid.uuid4()), fee_minor=0, tenor_days=30, status="approved", actor="test",
                     created_at=now, updated_at=now, **fields)


def seed_financings(session: Session, now: datetime) -> Financings:
    """Book the three financings of the module's docstring on the store behind ``session`` and commit."""
    invoice = session.execute(select(Invoice).order_by(Invoice.invoice_id).limit(1)).scalar_one()
    order = session.execute(select(Order).where(Order.order_id != invoice.order_id)
                            .order_by(Order.order_id).limit(1)).scalar_one()
    financed = _financing(now, kind="order", supplier_id=order.supplier_id, buyer_id=order.buyer_id,
                          order_id=order.order_id, face_minor=500_000, advance_minor=400_000, annual_rate="0.08")
    factored = _financing(now, kind="receivable", supplier_id=invoice.supplier_id, buyer_id=invoice.buyer_id,
                          invoice_id=invoice.invoice_id, face_minor=1_000_000, advance_minor=800_000,
                          reserve_minor=200_000, recourse=False)
    loan = _financing(now, kind="loan", supplier_id=order.supplier_id, face_minor=250_000, advance_minor=250_000,
                      withholding_rate="0.1", minimum_minor=50_000, period_days=30)
    session.add_all([financed, factored, loan])
    session.flush()
    today = now.date()
    journal.pay_out(session, factored.financing_id, reference="SEED-PO-1", value_date=today, actor="test", now=now)
    journal.pay_out(session, loan.financing_id, reference="SEED-PO-2", value_date=today, actor="test", now=now)
    journal.post(session, factored, [Entry("collection", "principal", 300_000, "api:SEED-PAY-1")], booked_on=today,
                 actor="test", now=now)
    journal.post(session, factored, [Entry("dilution", "surplus", 50_000, "return:seed")], booked_on=today,
                 actor="test", now=now)
    journal.post(session, loan, [], booked_on=today, actor="test", now=now, status="overdue")
    session.commit()
    for financing in (financed, factored, loan):
        session.refresh(financing)  # loaded, so the caller may read them after the session ends
    return Financings(financed, factored, loan)
