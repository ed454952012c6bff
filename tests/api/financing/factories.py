"""Plain factories for financing tests: scored firms, confirmed orders, invoices, all straight in the store.

Scores are written under the model the test app serves (:data:`SERVED`), so the API uses the
stored PD as it is; a stub stands in for the champion's serving files.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from types import SimpleNamespace

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from credit import clock
from credit.models import REGISTERED_MODEL
from credit.scoring.tables import ScoreSnapshot
from tests.api.checkout.factories import make_firm

SERVED = SimpleNamespace(name=REGISTERED_MODEL, version="9")
_ids = count(70_000)


def make_scored_firm(engine: Engine, pd: float, *, roles: str = "both", **features: float) -> int:
    """A verified firm with a score snapshot under :data:`SERVED`; ``features`` go into the snapshot."""
    now = clock.now()
    with Session(engine) as session, session.begin():
        firm_id = make_firm(session, firm_id=next(_ids), roles=roles)
        session.add(ScoreSnapshot(firm_id=firm_id, as_of=now.date(), model_name=SERVED.name,
                                  model_version=SERVED.version, pd=pd, features=features, reason_codes=[],
                                  reason_catalogue_version=1, scored_at=now))
    return firm_id


def make_order(engine: Engine, buyer_id: int, supplier_id: int, amount_minor: int, *, confirmed: bool = True) -> int:
    now = clock.now()
    order_id = next(_ids)
    with Session(engine) as session, session.begin():
        session.execute(insert(_order_table()).values(
            order_id=order_id, buyer_id=buyer_id, supplier_id=supplier_id, created_at=now - timedelta(days=2),
            amount_minor=amount_minor, category="parts", payment_terms="net30",
            confirmed_at=now - timedelta(days=1) if confirmed else None))
    return order_id


def make_invoice(engine: Engine, supplier_id: int, debtor_id: int, amount_minor: int, *, issued_days_ago: int = 10,
                 due_in_days: int = 20, disputed: bool = False) -> int:
    """An unpaid invoice of ``supplier_id`` on ``debtor_id`` with its order; optionally an open dispute."""
    from credit.store.tables import Dispute, Invoice

    now = clock.now()
    order_id = make_order(engine, debtor_id, supplier_id, amount_minor)
    invoice_id = next(_ids)
    with Session(engine) as session, session.begin():
        session.execute(insert(Invoice).values(
            invoice_id=invoice_id, order_id=order_id, supplier_id=supplier_id, buyer_id=debtor_id,
            issued_at=now - timedelta(days=issued_days_ago), due_at=now + timedelta(days=due_in_days),
            amount_minor=amount_minor))
        if disputed:
            session.execute(insert(Dispute).values(
                dispute_id=next(_ids), order_id=order_id, invoice_id=invoice_id, opened_at=now - timedelta(days=1),
                amount_minor=amount_minor, reason="quality"))
    return invoice_id


def _order_table():  # noqa: ANN202
    from credit.store.tables import Order

    return Order


