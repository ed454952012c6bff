"""The daily job and a capture at the same moment on PostgreSQL: both finish, in the ledger's lock order.

Every writer of a line locks an order's hold before the line (captures, voids, refunds), so two
of them never wait for each other in a circle. The daily job defaulting a line voids the line's
pending holds; here a capture of one of them has already updated its hold when the job starts:
the job must wait for the hold, not take the line first and then wait for the hold while the
capture waits for the line (a deadlock: PostgreSQL aborts one of the two).

The interleaving is forced: the capture pauses right after its UPDATE of the hold until the
job has locked the line, or for two seconds when the job (rightly) waits for the hold first.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from credit import clock, ledger
from credit.servicing import receivables
from credit.servicing.run import run_day
from tests.ledger.factories import make_line
from tests.servicing import invariants
from tests.servicing.book import POLICY

T0 = datetime(2027, 1, 10, 9, 0)
AS_OF = (T0 + timedelta(days=30 + 90)).date()  # the shipment 90 days past due at the day's end
CAPTURED_AT = T0 + timedelta(days=120, hours=12)


@pytest.mark.postgres
def test_the_daily_job_defaulting_a_line_and_a_capture_on_it_do_not_deadlock(store):
    if store.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    with Session(store) as session, session.begin():
        line = make_line(session, limit_minor=100_000)
        shipped = ledger.authorize(session, line, 50_000, order_reference="PO-1", terms_days=30, now=T0).hold_id
        receivables.book_capture(session, hold_id=shipped, amount_minor=50_000, shipment_reference="S-1",
                                 authorized_by=None, policy=POLICY, now=T0)
        pending = ledger.authorize(session, line, 20_000, order_reference="PO-2", terms_days=30, now=T0,
                                   hold_for=timedelta(days=200)).hold_id

    hold_updated, line_locked = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def capture() -> None:
        with store.connect() as connection:
            @event.listens_for(connection, "after_cursor_execute")
            def pause(conn, cursor, statement, *args):  # noqa: ANN001, ANN202
                if statement.lstrip().upper().startswith("UPDATE HOLDS") and not hold_updated.is_set():
                    hold_updated.set()
                    line_locked.wait(timeout=2)

            with Session(bind=connection) as session, session.begin():
                receivables.book_capture(session, hold_id=pending, amount_minor=10_000, shipment_reference="S-2",
                                         authorized_by=None, policy=POLICY, now=CAPTURED_AT)

    def servicing_day() -> None:
        hold_updated.wait(timeout=10)
        with store.connect() as connection:
            @event.listens_for(connection, "after_cursor_execute")
            def locked(conn, cursor, statement, *args):  # noqa: ANN001, ANN202
                if "FROM credit_lines" in statement and "FOR UPDATE" in statement.upper():
                    line_locked.set()

            with Session(bind=connection) as session, session.begin():
                run_day(session, AS_OF, POLICY)

    def run(work) -> None:  # noqa: ANN001
        try:
            work()
        except BaseException as failure:  # noqa: BLE001 - reported below
            failures.append(failure)

    with clock.frozen(CAPTURED_AT):
        threads = [threading.Thread(target=run, args=(work,)) for work in (capture, servicing_day)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not failures, failures

    # the capture went first (10,000 of the 20,000 hold), then the job defaulted the line: the rest
    # of the hold voided, both receivables charged off (50,000 + 10,000), the line closed
    with Session(store) as session:
        hold = ledger.get_hold(session, pending)
        assert (hold.captured_minor, hold.released_minor, hold.status) == (10_000, 10_000, "closed")
        line_now = invariants.line_row(session, line)
        assert (line_now.status, line_now.posted_minor, line_now.pending_minor) == ("closed", 0, 0)
        assert sorted(r.status for r in invariants.receivables(session).values()) == ["charged_off", "charged_off"]
        invariants.assert_exposure(session, [line])
