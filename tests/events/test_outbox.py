"""The outbox: an event commits or rolls back with its change, and readers see committed events in one order."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from credit import clock
from credit.events import outbox
from credit.events.tables import Event


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Event))


def test_an_event_commits_with_its_change_and_a_rollback_leaves_none(store: Engine) -> None:
    with Session(store) as session:
        outbox.emit(session, "credit_line.frozen", object_id=7, firm_id=3, data={"status": "frozen"})
        session.rollback()
    assert _count(store) == 0

    with clock.frozen(datetime(2028, 2, 29, 12, 0)), Session(store) as session:
        event_id = outbox.emit(session, "credit_line.changed", object_id=7, firm_id=3,
                               data={"limit": Decimal("1500.00"), "at": datetime(2028, 2, 29, 11, 0)})
        session.commit()

    with Session(store) as session:
        assert outbox.sequence(session) == 1
        session.commit()
        [event] = outbox.read(session)
        assert outbox.payload(event) == {
            "id": event_id, "type": "credit_line.changed", "timestamp": "2028-02-29T12:00:00Z",
            "data": {"object": "credit_line", "id": "7", "firm_id": 3, "limit": "1500.00",
                     "at": "2028-02-29T11:00:00Z"},
        }
        assert event_id.startswith("evt_") and len(event_id) == 36


def test_an_unknown_type_is_refused_with_where_to_look(store: Engine) -> None:
    with Session(store) as session, pytest.raises(ValueError, match="Unknown event type 'line.melted'.*catalogue"):
        outbox.emit(session, "line.melted", object_id=1, firm_id=None, data={})


@pytest.mark.postgres
def test_an_event_that_commits_late_is_read_after_the_ones_already_read(postgres_url: str) -> None:
    from credit.store.engine import make_engine

    engine = make_engine(postgres_url)
    early, late = Session(engine), Session(engine)
    outbox.emit(early, "credit_line.frozen", object_id=1, firm_id=1, data={})  # smaller seq, commits last
    early.flush()
    outbox.emit(late, "credit_line.frozen", object_id=2, firm_id=2, data={})
    late.commit()

    with Session(engine) as reader:
        assert outbox.sequence(reader) == 1
        reader.commit()
        first = outbox.read(reader)
    assert [e.object_id for e in first] == ["2"]

    early.commit()
    with Session(engine) as reader:
        assert outbox.sequence(reader) == 1
        reader.commit()
        after = outbox.read(reader, after=first[-1].position)
    assert [e.object_id for e in after] == ["1"]  # not skipped although its seq is the smaller
    assert after[0].seq < first[0].seq
    early.close(), late.close()
    engine.dispose()
