"""0010_servicing rebuilds two ledger tables on SQLite: a populated store keeps its rows and rules."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from migrations import upgrade

BEFORE = "0009_hold_authorized_by"


def _populate(engine) -> None:  # noqa: ANN001
    with engine.begin() as c:
        c.execute(text("INSERT INTO firms (firm_id, name, roles, industry, region, size_band, registered_at, verified, "
                       "deposit_minor) "
                       "VALUES (7, 'Acme', 'buyer', 'machinery', 'north', 'small', '2020-01-01', true, 0)"))
        c.execute(text("INSERT INTO credit_lines (line_id, firm_id, currency, limit_minor, status, posted_minor, "
                       "pending_minor, created_at, updated_at) VALUES (3, 7, 'EUR', 1000, 'active', 300, 200, "
                       "'2026-01-01', '2026-01-01')"))
        c.execute(text("INSERT INTO holds (hold_id, line_id, order_reference, amount_minor, captured_minor, "
                       "released_minor, refunded_minor, status, expires_at, created_at, updated_at) VALUES "
                       "(5, 3, 'PO-1', 500, 300, 0, 0, 'pending', '2026-02-01', '2026-01-01', '2026-01-01')"))
        c.execute(text("INSERT INTO ledger_transfers (line_id, hold_id, kind, amount_minor, created_at) VALUES "
                       "(3, 5, 'hold', 500, '2026-01-01'), (3, 5, 'post', 300, '2026-01-02')"))


def test_a_populated_store_keeps_its_rows_and_the_ledger_rules(unmigrated_store):
    upgrade(unmigrated_store, BEFORE)
    _populate(unmigrated_store)
    upgrade(unmigrated_store)
    with unmigrated_store.begin() as c:
        assert c.execute(text("SELECT posted_minor, pending_minor, frozen_by FROM credit_lines")).one() == (300, 200, None)
        assert c.execute(text("SELECT count(*) FROM ledger_transfers")).scalar() == 2
        assert c.execute(text("SELECT terms_days FROM holds")).scalar() is None
        # the new line-level kind is accepted, without a hold
        c.execute(text("INSERT INTO ledger_transfers (line_id, kind, amount_minor, created_at) "
                       "VALUES (3, 'charge_off', 10, '2026-01-03')"))
    # still append-only after the rebuild
    with pytest.raises(DBAPIError, match="append-only"), unmigrated_store.begin() as c:
        c.execute(text("UPDATE ledger_transfers SET amount_minor = 1"))
    # an active line still cannot go over its limit; a frozen one may (a returned payment)
    with pytest.raises(DBAPIError, match="exposure_within_limit"), unmigrated_store.begin() as c:
        c.execute(text("UPDATE credit_lines SET posted_minor = 900"))
    with unmigrated_store.begin() as c:
        c.execute(text("UPDATE credit_lines SET posted_minor = 900, status = 'frozen', frozen_by = 'servicing'"))
    # a repay still needs no hold, a post still needs one
    with pytest.raises(DBAPIError, match="hold_unless_line_transfer"), unmigrated_store.begin() as c:
        c.execute(text("INSERT INTO ledger_transfers (line_id, kind, amount_minor, created_at) "
                       "VALUES (3, 'post', 10, '2026-01-03')"))
    with unmigrated_store.begin() as c:
        assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1 if unmigrated_store.dialect.name == "sqlite" else True
