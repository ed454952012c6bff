"""Two clock moves at once: the second waits for the first and starts from its now, so no day is lost or run twice."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from credit import clock
from credit.policy import default_policy
from credit.sandbox import moves
from credit.sandbox.seed import ensure_seeded

T = datetime(2028, 2, 27, 22, 0)


def test_concurrent_moves_of_a_day_each_add_up_to_two_days(store: Engine) -> None:
    policy = default_policy()
    outcomes: list[moves.Move] = []
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def move_a_day() -> None:
        try:
            start.wait()
            with Session(store) as session, session.begin():
                session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
                outcomes.append(moves.move_to(session, timedelta(days=1), policy))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    with clock.frozen(T):
        ensure_seeded(store, policy)
        threads = [threading.Thread(target=move_a_day) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == []
        with Session(store) as session:
            state = moves.state(session)
    first, second = sorted(outcomes, key=lambda m: m.before)
    assert (first.before, first.after, second.before, second.after) == (T, T + timedelta(days=1), T + timedelta(days=1),
                                                                         T + timedelta(days=2))
    assert (first.days_run, second.days_run) == ((date(2028, 2, 27),), (date(2028, 2, 28),))  # each day once
    assert (state.offset, state.serviced_through) == (timedelta(days=2), date(2028, 2, 28))
