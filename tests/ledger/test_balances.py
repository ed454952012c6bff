"""Hand-worked balance sequences: every step's limit, posted, pending and available."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from credit.ledger import (
    Balances,
    authorize,
    balances,
    capture,
    change_limit,
    expire_holds,
    get_hold,
    refund,
    repay,
    void,
)
from credit.ledger.reconcile import reconcile
from credit.ledger.tables import LedgerTransfer
from tests.ledger.factories import T0, make_line


def _journal(session, line_id):
    return session.execute(
        select(LedgerTransfer.kind, LedgerTransfer.amount_minor)
        .where(LedgerTransfer.line_id == line_id).order_by(LedgerTransfer.transfer_id)
    ).all()


def test_hold_partial_captures_void_refund_repay(session):
    line = make_line(session, limit_minor=100_000)

    hold = authorize(session, line, 30_000, order_reference="PO-1", now=T0)
    assert hold.balances == Balances(limit_minor=100_000, posted_minor=0, pending_minor=30_000)
    assert hold.balances.available_minor == 70_000

    capture(session, hold.hold_id, 10_000, reference="SHIP-1", now=T0)
    assert balances(session, line) == Balances(100_000, 10_000, 20_000)
    after_second = capture(session, hold.hold_id, 5_000, reference="SHIP-2", now=T0)
    assert (after_second.captured_minor, after_second.remaining_minor, after_second.status) == (15_000, 15_000, "pending")
    assert balances(session, line) == Balances(100_000, 15_000, 15_000)

    voided = void(session, hold.hold_id, now=T0)
    assert (voided.captured_minor, voided.released_minor, voided.status) == (15_000, 15_000, "closed")
    assert balances(session, line) == Balances(100_000, 15_000, 0)

    refund(session, hold.hold_id, 5_000, reference="RMA-1", now=T0)
    assert balances(session, line) == Balances(100_000, 10_000, 0)
    after = repay(session, line, 10_000, reference="PAY-1", now=T0)
    assert after == Balances(100_000, 0, 0) and after.available_minor == 100_000

    assert _journal(session, line) == [
        ("hold", 30_000), ("post", 10_000), ("post", 5_000), ("void", 15_000), ("refund", 5_000), ("repay", 10_000)]
    assert reconcile(session).ok


def test_full_capture_closes_the_hold_and_moves_it_all_to_posted(session):
    line = make_line(session, limit_minor=50_000)
    hold = authorize(session, line, 50_000, order_reference="PO-2", now=T0)
    assert hold.balances.available_minor == 0

    state = capture(session, hold.hold_id, 50_000, now=T0)

    assert (state.status, state.remaining_minor) == ("closed", 0)
    assert balances(session, line) == Balances(50_000, 50_000, 0)


def test_two_orders_share_the_line_and_repayment_restores_headroom(session):
    line = make_line(session, limit_minor=100_000)
    first = authorize(session, line, 60_000, order_reference="PO-A", now=T0)
    authorize(session, line, 40_000, order_reference="PO-B", now=T0)
    assert balances(session, line).available_minor == 0

    capture(session, first.hold_id, 60_000, now=T0)
    repay(session, line, 25_000, now=T0)

    assert balances(session, line) == Balances(100_000, 35_000, 40_000)
    assert balances(session, line).available_minor == 25_000


def test_expiry_releases_what_was_not_captured_and_runs_idempotently(session):
    line = make_line(session, limit_minor=100_000)
    short = authorize(session, line, 20_000, order_reference="PO-S", now=T0, hold_for=timedelta(days=2))
    long = authorize(session, line, 30_000, order_reference="PO-L", now=T0, hold_for=timedelta(days=10))
    capture(session, short.hold_id, 5_000, now=T0 + timedelta(days=1))

    assert expire_holds(session, now=T0 + timedelta(days=1, hours=23)) == []
    assert expire_holds(session, now=T0 + timedelta(days=2)) == [short.hold_id]
    assert expire_holds(session, now=T0 + timedelta(days=3)) == []

    expired = get_hold(session, short.hold_id)
    assert (expired.status, expired.captured_minor, expired.released_minor) == ("expired", 5_000, 15_000)
    assert get_hold(session, long.hold_id).status == "pending"
    assert balances(session, line) == Balances(100_000, 5_000, 30_000)
    assert _journal(session, line)[-1] == ("expire", 15_000)
    assert reconcile(session).ok


def test_raising_the_limit_adds_headroom_and_lowering_to_exposure_is_allowed(session):
    line = make_line(session, limit_minor=100_000)
    authorize(session, line, 70_000, order_reference="PO-1", now=T0)

    assert change_limit(session, line, 150_000, now=T0).available_minor == 80_000
    assert change_limit(session, line, 70_000, now=T0) == Balances(70_000, 0, 70_000)
