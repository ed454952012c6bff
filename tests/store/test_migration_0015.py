"""0015_financing rebuilds financings into the book: a booking made before it survives as an approved advance."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from migrations import upgrade

BEFORE = "0006_applications"


def test_a_booking_before_the_lifecycles_becomes_an_approved_advance_and_the_new_rules_hold(unmigrated_store):
    upgrade(unmigrated_store, BEFORE)
    with unmigrated_store.begin() as c:
        for firm in (1, 2):
            c.execute(text("INSERT INTO firms (firm_id, name, roles, industry, region, size_band, registered_at, "
                           "verified, deposit_minor) VALUES (:id, 'F', 'buyer', 'machinery', 'east', 'small', "
                           "'2022-01-01', true, 0)"), {"id": firm})
        c.execute(text("INSERT INTO orders (order_id, buyer_id, supplier_id, created_at, amount_minor, category, "
                       "payment_terms) VALUES (4, 1, 2, '2026-01-01', 100000, 'parts', 'net30')"))
        c.execute(text("INSERT INTO invoices (invoice_id, order_id, buyer_id, supplier_id, issued_at, due_at, "
                       "amount_minor) VALUES (5, 4, 1, 2, '2026-01-01', '2026-01-31', 100000)"))
        c.execute(text("INSERT INTO financings (kind, decision_id, supplier_id, buyer_id, invoice_id, advance_minor, "
                       "fee_minor, tenor_days, status, actor, created_at) VALUES ('receivable', 'd-1', 2, 1, 5, "
                       "90000, 900, 40, 'outstanding', 'checkout', '2026-01-02 10:00:00')"))

    upgrade(unmigrated_store)

    with unmigrated_store.begin() as c:
        row = c.execute(text("SELECT status, face_minor, advance_minor, paid_out_minor, updated_at FROM financings"
                             )).one()
        assert (row.status, row.face_minor, row.advance_minor, row.paid_out_minor) == ("approved", 90000, 90000, 0)
        assert str(row.updated_at).startswith("2026-01-02 10:00:00")
        c.execute(text("INSERT INTO financings (kind, decision_id, supplier_id, face_minor, advance_minor, fee_minor, "
                       "tenor_days, status, recourse, actor, created_at, updated_at) VALUES ('loan', 'd-2', 2, "
                       "500000, 500000, 20000, 360, 'approved', false, 'checkout', '2026-02-01', '2026-02-01')"))
    with pytest.raises(DBAPIError, match="financed_object"), unmigrated_store.begin() as c:
        c.execute(text("INSERT INTO financings (kind, decision_id, supplier_id, buyer_id, face_minor, advance_minor, "
                       "fee_minor, tenor_days, status, recourse, actor, created_at, updated_at) VALUES ('loan', "
                       "'d-3', 2, 1, 1, 1, 0, 1, 'approved', false, 'x', '2026-02-01', '2026-02-01')"))
    with pytest.raises(DBAPIError, match="status_allowed"), unmigrated_store.begin() as c:
        c.execute(text("UPDATE financings SET status = 'outstanding'"))
