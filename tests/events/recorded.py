"""Reading back the events a test's actions wrote, and holding their data to the catalogue."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.events.catalogue import EVENT_TYPES
from credit.events.tables import Event


def written(session: Session, *types: str) -> list[Event]:
    """The events written so far (of ``types``, when given), in insert order, each checked against the catalogue."""
    query = select(Event).order_by(Event.seq).execution_options(populate_existing=True)
    if types:
        query = query.where(Event.type.in_(types))
    events = list(session.scalars(query))
    for event in events:
        assert_catalogued(event)
    return events


def one(session: Session, type_: str) -> Event:
    """The one event of ``type_`` written so far (a second is a failure: each change is announced once)."""
    events = written(session, type_)
    assert len(events) == 1, f"expected one {type_} event, got {[e.data for e in events]}"
    return events[0]


def types(session: Session) -> list[str]:
    return [event.type for event in written(session)]


def assert_catalogued(event: Event) -> None:
    """The event's object type and data fields are exactly the catalogue's (what docs/events.md shows)."""
    kind = EVENT_TYPES[event.type]
    assert event.object_type == kind.object_type
    fields = kind.data_fields()
    stored = set(event.data) - {"id"}  # an object's own id is the envelope's
    assert fields is not None and stored == set(fields), (
        f"{event.type}: data has {sorted(stored ^ set(fields))} unlike the catalogue")
