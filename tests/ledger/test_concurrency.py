"""Many checkouts at once against one line: exactly the authorizations that fit succeed.

Each thread has its own session and commits its own unit of work, as concurrent requests do.
On SQLite the store is a file (WAL) so threads really contend for the write lock; on
PostgreSQL they contend for the line's row under READ COMMITTED.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session

from credit.ledger import Decline, LedgerError, authorize, balances, capture, get_hold, reconcile
from tests.ledger.factories import T0, make_line

THREADS = 32


def _race(store, work, n: int = THREADS) -> Counter:
    """Run ``work(session)`` in ``n`` threads released together; count outcomes by code."""
    start = threading.Barrier(n)

    def one(i: int) -> str:
        start.wait()
        try:
            with Session(store) as session, session.begin():
                work(session, i)
            return "ok"
        except LedgerError as refused:
            return refused.code
        except Exception as unexpected:  # noqa: BLE001 - any other failure is the finding
            return f"{type(unexpected).__name__}: {unexpected}"

    with ThreadPoolExecutor(max_workers=n) as pool:
        return Counter(pool.map(one, range(n)))


def test_32_concurrent_authorizations_take_exactly_the_limit(store):
    with Session(store) as session, session.begin():
        line = make_line(session, limit_minor=1_000_000)

    outcomes = _race(store, lambda session, i: authorize(
        session, line, 70_000, order_reference=f"PO-{i}", now=T0))

    assert outcomes == Counter({"ok": 14, "limit_exceeded": 18})
    with Session(store) as session:
        after = balances(session, line)
        assert (after.posted_minor, after.pending_minor, after.available_minor) == (0, 980_000, 20_000)
        assert reconcile(session).ok


def test_units_of_work_that_read_first_take_the_write_lock_at_begin(store):
    # On SQLite a deferred transaction that read first cannot wait for the write lock once
    # another writer committed ("database is locked"); BEGIN IMMEDIATE makes it queue instead.
    with Session(store) as session, session.begin():
        line = make_line(session, limit_minor=1_000_000)

    def read_then_authorize(session, i):
        balances(session, line)
        authorize(session, line, 70_000, order_reference=f"PO-{i}", now=T0)

    outcomes = _race(store.execution_options(sqlite_begin="IMMEDIATE"), read_then_authorize)

    assert outcomes == Counter({"ok": 14, "limit_exceeded": 18})


def test_concurrent_captures_never_exceed_the_hold(store):
    with Session(store) as session, session.begin():
        line = make_line(session, limit_minor=1_000_000)
        hold = authorize(session, line, 100_000, order_reference="PO-1", now=T0)

    outcomes = _race(store, lambda session, i: capture(session, hold.hold_id, 30_000, now=T0), n=8)

    assert outcomes == Counter({"ok": 3, "capture_exceeds_hold": 5})
    with Session(store) as session:
        assert get_hold(session, hold.hold_id).captured_minor == 90_000
        assert balances(session, line).posted_minor == 90_000 and balances(session, line).pending_minor == 10_000
        assert reconcile(session).ok


def test_mixed_amounts_never_overshoot_and_every_decline_is_a_decline(store):
    with Session(store) as session, session.begin():
        line = make_line(session, limit_minor=500_000)
    amounts = [10_000 * (1 + i % 7) for i in range(THREADS)]  # 10k..70k, 1,280,000 asked in all

    outcomes = _race(store, lambda session, i: authorize(
        session, line, amounts[i], order_reference=f"PO-{i}", now=T0))

    assert set(outcomes) <= {"ok", "limit_exceeded"}, outcomes
    with Session(store) as session:
        after = balances(session, line)
        assert 0 <= after.available_minor < 70_000 and after.pending_minor <= 500_000
        assert reconcile(session).ok
