"""Reading the outbox for the API: sequence what committed, then page by position."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.events.schemas import EventOut, EventPageOut
from api.kit.errors import NotFound, invalid
from credit.events import outbox
from credit.events.tables import Event
from credit.paging import InvalidCursor, decode_cursor, encode_cursor

MAX_PAGE = 500
_CURSOR = "events"


def page(session: Session, cursor: str | None, limit: int, types: frozenset[str]) -> EventPageOut:
    """The events after ``cursor``; 422 naming ``cursor`` for one this service did not give."""
    after = 0
    if cursor is not None:
        try:
            after = decode_cursor(_CURSOR, cursor)
        except InvalidCursor as exc:
            raise invalid("query", "cursor", str(exc)) from None
    outbox.sequence(session)
    events = outbox.read(session, after=after, limit=limit, types=types or None)
    last = events[-1].position if events else after
    return EventPageOut(items=[EventOut(**outbox.payload(event)) for event in events],
                        next_cursor=encode_cursor(_CURSOR, last) if last else None)


def one(session: Session, event_id: str) -> EventOut:
    event = session.scalar(select(Event).where(Event.event_id == event_id))
    if event is None:
        raise NotFound(f"No event {event_id}.", code="event_not_found")
    return EventOut(**outbox.payload(event))
