"""The database itself refuses what the ledger code never writes: a broken invariant, an edited journal."""

from __future__ import annotations

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from credit.ledger import authorize, balances, reconcile
from credit.ledger.tables import CreditLine, Hold
from tests.ledger.factories import T0, make_line


def test_check_constraint_rejects_exposure_above_the_limit(session):
    line = make_line(session, limit_minor=100_000)
    authorize(session, line, 60_000, order_reference="PO-1", now=T0)

    with pytest.raises(IntegrityError, match="exposure_within_limit"):
        with session.begin_nested():
            session.execute(update(CreditLine).where(CreditLine.line_id == line)
                            .values(posted_minor=CreditLine.posted_minor + 40_001))

    assert balances(session, line).posted_minor == 0


@pytest.mark.parametrize("values", [{"pending_minor": -1}, {"posted_minor": -1}, {"limit_minor": 59_999}])
def test_check_constraints_reject_negative_balances_and_a_limit_under_exposure(session, values):
    line = make_line(session, limit_minor=100_000)
    authorize(session, line, 60_000, order_reference="PO-1", now=T0)
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            session.execute(update(CreditLine).where(CreditLine.line_id == line).values(**values))


def test_check_constraint_rejects_a_hold_captured_beyond_its_amount(session):
    line = make_line(session)
    hold = authorize(session, line, 1_000, order_reference="PO-1", now=T0)
    with pytest.raises(IntegrityError, match="settled_within_amount"):
        with session.begin_nested():
            session.execute(update(Hold).where(Hold.hold_id == hold.hold_id).values(captured_minor=1_001))


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_transfers SET amount_minor = amount_minor + 1",
    "DELETE FROM ledger_transfers",
])
def test_the_journal_is_append_only(session, statement):
    line = make_line(session)
    authorize(session, line, 1_000, order_reference="PO-1", now=T0)
    with pytest.raises(DBAPIError, match="append-only"):
        with session.begin_nested():
            session.execute(text(statement))


def test_reconcile_reports_a_tampered_cached_balance(session):
    line = make_line(session, limit_minor=100_000)
    hold = authorize(session, line, 60_000, order_reference="PO-1", now=T0)
    assert reconcile(session).ok

    session.execute(update(CreditLine).where(CreditLine.line_id == line).values(pending_minor=50_000))
    session.execute(update(Hold).where(Hold.hold_id == hold.hold_id).values(captured_minor=7))
    report = reconcile(session)

    assert not report.ok
    assert [(d.table, d.key, d.column, d.cached, d.recomputed) for d in report.differences] == [
        ("credit_lines", line, "pending_minor", 50_000, 60_000),
        ("holds", hold.hold_id, "captured_minor", 7, 0),
    ]
    assert "pending_minor is 50000 but the transfers give 60000 (off by -10000)" in str(report.differences[0])
