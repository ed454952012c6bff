"""Plain factories for loan tests: firms, scores and settled sales, straight in the store (no ingest)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import count

from sqlalchemy import insert
from sqlalchemy.orm import Session

from credit.scoring.tables import ScoreSnapshot
from credit.store.tables import Invoice, Order, Payment
from tests.api.checkout.factories import make_firm

_ids = count(900_000)

GRADE_C_PD = 0.007
"""On the default master scale (C: PD in [0.005, 0.01)): share 0.10, fee 0.06, withholding 0.12."""


def firm(session: Session, *, roles: str = "both") -> int:
    return make_firm(session, firm_id=next(_ids), roles=roles)


def score(session: Session, firm_id: int, pd: float, as_of: date) -> None:
    session.add(ScoreSnapshot(firm_id=firm_id, as_of=as_of, model_name="pd-test", model_version="1", pd=pd,
                              features={}, reason_codes=[], reason_catalogue_version=1,
                              scored_at=datetime.combine(as_of, datetime.min.time())))
    session.flush()


def sale(session: Session, supplier_id: int, buyer_id: int, amount_minor: int, paid_at: datetime) -> int:
    """An order of ``buyer_id`` from ``supplier_id``, invoiced and paid in full at ``paid_at``; the payment id."""
    order_id, invoice_id, payment_id = next(_ids), next(_ids), next(_ids)
    issued = paid_at - timedelta(days=5)
    session.execute(insert(Order).values(
        order_id=order_id, buyer_id=buyer_id, supplier_id=supplier_id, created_at=issued - timedelta(days=1),
        amount_minor=amount_minor, category="parts", payment_terms="net30", confirmed_at=issued - timedelta(days=1)))
    session.execute(insert(Invoice).values(
        invoice_id=invoice_id, order_id=order_id, supplier_id=supplier_id, buyer_id=buyer_id, issued_at=issued,
        due_at=issued + timedelta(days=30), amount_minor=amount_minor))
    session.execute(insert(Payment).values(payment_id=payment_id, invoice_id=invoice_id, paid_at=paid_at,
                                           amount_minor=amount_minor))
    return payment_id


AS_OF = date(2027, 3, 15)
"""The day the worked history's offer is computed for (judged at 2027-03-16 00:00)."""


def seller_with_history(session: Session, *, pd: float = GRADE_C_PD) -> tuple[int, int]:
    """A seller with the worked history of the loan tests, and a buyer; (seller, buyer).

    The 12 whole months before March 2027 (2026-03 .. 2027-02) each have one sale paid on the
    20th: 8,000.00 and 12,000.00 in turn (mean 10,000.00, population std 2,000.00, CV 0.2);
    2027-03-05 adds 5,000.00 (trailing only: the current month). Not counted: a sale paid
    2026-02-20 (before both windows) and one the seller paid as a buyer. Trailing sales (365 days to 2027-03-16 00:00):
    12 x 10,000.00 + 5,000.00 = 125,000.00.
    """
    seller, buyer = firm(session), firm(session)
    score(session, seller, pd, date(2027, 3, 1))
    for i in range(12):
        month = date(2026, 3, 1).replace(year=2026 + (2 + i) // 12, month=(2 + i) % 12 + 1)
        sale(session, seller, buyer, 800_000 if i % 2 == 0 else 1_200_000, datetime.combine(month, datetime.min.time())
             .replace(day=20, hour=11))
    sale(session, seller, buyer, 500_000, datetime(2027, 3, 5, 9))
    sale(session, seller, buyer, 9_900_000, datetime(2026, 2, 20, 11))
    sale(session, buyer, seller, 9_900_000, datetime(2027, 1, 10, 11))
    return seller, buyer
