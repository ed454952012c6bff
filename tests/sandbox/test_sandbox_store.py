"""The sandbox's store through the library: the seed, a reset, and the clock moves that take the in-arrears buyer
through its dunning, on SQLite and PostgreSQL.

The clock stands at 2028-02-27 22:00 UTC: the in-arrears buyer's receivable fell due on 2028-02-17 at 22:00,
and a servicing day is judged at the next midnight, so 30 days past due (freeze) is first judged at the end of
2028-03-18 and 90 days past due (default, charge-off, the line closed) at the end of 2028-05-17.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from credit import clock, ledger
from credit.ledger.journal import HOLDS
from credit.policy import default_policy
from credit.sandbox import moves
from credit.sandbox.buyers import TEST_BUYERS
from credit.sandbox.seed import ensure_seeded, reset
from credit.servicing.tables import Receivable

T = datetime(2028, 2, 27, 22, 0)
POLICY = default_policy()


@pytest.fixture
def sandbox(store: Engine) -> Iterator[Engine]:
    with clock.frozen(T):
        assert ensure_seeded(store, POLICY) is True
        assert ensure_seeded(store, POLICY) is False  # seeded once
        yield store


def move(engine: Engine, to: datetime) -> moves.Move:
    with Session(engine) as session, session.begin():
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        return moves.move_to(session, to, POLICY)


def line_status(engine: Engine, firm_id: int) -> str:
    with Session(engine) as session:
        return ledger.line_of_firm(session, firm_id).status


def test_the_seed_gives_each_buyer_its_line_and_the_arrears_buyer_its_past(sandbox: Engine) -> None:
    with Session(sandbox) as session:
        lines = {b.firm_id: ledger.find_line_of_firm(session, b.firm_id) for b in TEST_BUYERS}
        overdue = session.execute(select(Receivable.firm_id, Receivable.due_at, Receivable.principal_minor,
                                         Receivable.late_fee_minor, Receivable.status)).all()
        state = moves.state(session)
    assert {firm: (line.status, line.balances.limit_minor, line.per_order_cap_minor)
            for firm, line in lines.items() if line} == {
        2001: ("active", 5_000_000, 2_500_000), 2003: ("frozen", 5_000_000, 2_500_000),
        2004: ("closed", 5_000_000, 2_500_000), 2005: ("active", 5_000_000, 2_500_000),
        2006: ("active", 5_000_000, 2_500_000), 2007: ("active", 5_000_000, 100_000), 2008: ("active", 100_000, None)}
    # 5,000.00 due 10 days ago; the late fee at 7 days past due: 25.00 + 1% of 5,000.00 a month = 75.00.
    assert overdue == [(2005, datetime(2028, 2, 17, 22, 0), 500_000, 7_500, "overdue")]
    assert (state.now, state.offset, state.serviced_through) == (T, timedelta(0), date(2028, 2, 26))


def test_moves_freeze_then_default_the_arrears_buyer_at_the_midnights_the_policy_says(sandbox: Engine) -> None:
    with clock.frozen(T):
        assert move(sandbox, datetime(2028, 3, 18, 23, 59, 59)).servicing_steps == {"reminder": 1}  # 15 days
        assert line_status(sandbox, 2005) == "active"
        frozen = move(sandbox, datetime(2028, 3, 19))
        assert (frozen.days_run, frozen.servicing_steps) == ((date(2028, 3, 18),), {"reminder": 1, "freeze": 1})
        assert line_status(sandbox, 2005) == "frozen"
        assert move(sandbox, datetime(2028, 5, 17, 23, 59, 59)).servicing_steps == {}  # reminders end at 30 days
        defaulted = move(sandbox, datetime(2028, 5, 18))
        assert defaulted.servicing_steps == {"default": 1, "charge_off": 1}
        assert line_status(sandbox, 2005) == "closed"
        with Session(sandbox) as session:
            state = moves.state(session)
        assert (state.now, state.serviced_through) == (datetime(2028, 5, 18), date(2028, 5, 17))
        assert state.offset == datetime(2028, 5, 18) - T
        assert clock.now() == T


def test_a_reset_empties_the_store_and_seeds_it_again_with_ids_from_one(sandbox: Engine) -> None:
    with clock.frozen(T):
        with Session(sandbox) as session, session.begin():
            ledger.authorize(session, ledger.line_of_firm(session, 2001).line_id, 10_000, order_reference="x")
        move(sandbox, T + timedelta(days=3))
        report = reset(sandbox, POLICY)
    assert (report.buyers, report.kept, report.seeded_at) == (11, {"api_keys": 0, "webhook_endpoints": 0}, T)
    with Session(sandbox) as session:
        holds = session.execute(select(HOLDS.c.hold_id, HOLDS.c.order_reference)).all()
        assert holds == [(1, "sandbox-arrears-order")]  # identities restart: the seed's hold is 1 again
        assert moves.state(session).offset == timedelta(0)
    with pytest.raises(DBAPIError, match="append-only"), sandbox.begin() as connection:
        connection.execute(text("DELETE FROM decisions"))  # the audit trail's triggers are back
