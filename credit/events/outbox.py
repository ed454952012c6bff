"""Writing events beside the change they report, and giving committed events their read order.

Use in the service code that makes a change, in the same session::

    emit(session, "credit_line.frozen", object_id=line_id, firm_id=firm_id, data=line_json)

Nothing is committed here: the event commits or rolls back with the caller's unit of work.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from credit import clock
from credit.events.catalogue import EVENT_TYPES
from credit.events.tables import Event
from credit.store.prepared import PreparedStatement

EVENTS = Event.__table__
# Built once and run on the driver's cursor (credit.store.prepared): every change writes one, checkout's
# authorization among them, where building the INSERT with its values cost more than running it.
_INSERT = PreparedStatement(insert(EVENTS), column_keys=[
    "event_id", "type", "object_type", "object_id", "firm_id", "occurred_at", "data"])
_SEQUENCER_LOCK = 0x6576656E7473  # "events": PostgreSQL advisory lock held while positions are given
_BATCH = 5_000


def new_event_id() -> str:
    """A fresh public event id: ``evt_`` and 32 hex digits (128 random bits)."""
    return "evt_" + secrets.token_hex(16)


def emit(session: Session, type: str, *, object_id: int | str, firm_id: int | None, data: dict[str, Any],
         occurred_at: datetime | None = None) -> str:
    """Add an event to the session's unit of work and return its id.

    Parameters
    ----------
    session
        The session of the change the event reports; the event commits with it.
    type
        One of :data:`credit.events.catalogue.EVENT_TYPES`.
    object_id
        The id of the object the event is about (its type comes from the catalogue).
    firm_id
        The firm the object belongs to, or None.
    data
        The object after the change; Decimals, dates and instants are turned into JSON text.
    occurred_at
        When the change was made; now by default.

    Raises
    ------
    ValueError
        An unknown event type.
    """
    kind = EVENT_TYPES.get(type)
    if kind is None:
        raise ValueError(f"Unknown event type {type!r}; the known ones are in credit/events/catalogue.py.")
    event_id = new_event_id()
    _INSERT.rows(session, {
        "event_id": event_id, "type": type, "object_type": kind.object_type, "object_id": str(object_id),
        "firm_id": firm_id, "occurred_at": occurred_at if occurred_at is not None else clock.now(),
        "data": jsonable(data)})
    return event_id


def jsonable(value: Any) -> Any:
    """``value`` with Decimals as text, instants as UTC ``...Z`` text, dates as ISO text, enums as values."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def utc_text(at: datetime) -> str:
    """A naive UTC instant (the store's) as ISO 8601 with ``Z``."""
    if at.tzinfo is not None:
        raise ValueError(f"Instants in the store are naive UTC; got an aware one: {at!r}.")
    return at.isoformat() + "Z"  # as the API's models write instants: microseconds only when there are some


def sequence(session: Session) -> int:
    """Give every committed event without a position the next ones, in insert order; return how many.

    Runs in the caller's transaction and holds the sequencer's lock (PostgreSQL advisory lock,
    SQLite's write lock) until it commits, so two sequencers never hand out the same positions.
    An event whose transaction is still open is not visible here; it gets a position later,
    after everything already sequenced: a reader that went by position has seen nothing past it.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SEQUENCER_LOCK})
    elif not session.in_transaction():  # a caller's open transaction keeps its own begin mode
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    top = session.scalar(select(func.max(EVENTS.c.position))) or 0
    given = 0
    while True:
        waiting = session.scalars(
            select(EVENTS.c.seq).where(EVENTS.c.position.is_(None)).order_by(EVENTS.c.seq).limit(_BATCH)
        ).all()
        if not waiting:
            return given
        session.execute(update(Event), [{"seq": seq, "position": top + index}  # by primary key
                                        for index, seq in enumerate(waiting, start=1)])
        top += len(waiting)
        given += len(waiting)


def read(session: Session, *, after: int = 0, limit: int = 100, types: frozenset[str] | None = None,
         object_type: str | None = None, object_id: str | None = None) -> list[Event]:
    """Sequenced events after position ``after``, oldest first, at most ``limit``."""
    query = select(Event).where(Event.position > after)
    if types:
        query = query.where(Event.type.in_(sorted(types)))
    if object_type is not None:
        query = query.where(Event.object_type == object_type)
    if object_id is not None:
        query = query.where(Event.object_id == object_id)
    return list(session.scalars(query.order_by(Event.position).limit(limit)))


def payload(event: Event) -> dict[str, Any]:
    """The event as delivered and served: the Standard Webhooks envelope (``type``, ``timestamp``, ``data``).

    ``data`` carries the object's id and type beside what was stored, so a receiver needs
    nothing else to route it.
    """
    return {
        "id": event.event_id,
        "type": event.type,
        "timestamp": utc_text(event.occurred_at),
        # The envelope's keys last: an object whose own fields include ``id`` keeps it, as the object's id.
        "data": {**event.data, "object": event.object_type, "id": event.object_id, "firm_id": event.firm_id},
    }
