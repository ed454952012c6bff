"""``GET /v1/events``: the outbox, in commit order, for pollers.

Every role may read events: they are what the marketplace's integration acts on. A page ends
where the committed events end; ``next_cursor`` then still points past the last event read, so a
poller keeps asking with it and gets each event once, in order.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.events import service
from api.events.schemas import EventOut, EventPageOut, EventType
from api.kit.auth import CallerDep
from api.kit.db import SessionDep, runs_sql
from api.kit.errors import responses

router = APIRouter(tags=["events"])

TypeFilter = Annotated[list[EventType] | None, Query(
    alias="type", max_length=len(EventType), description="Only these event types (repeat the parameter for several).")]


@router.get("/v1/events", response_model=EventPageOut, responses=responses(401, 422))
@runs_sql
def list_events(session: SessionDep, _caller: CallerDep,
                cursor: Annotated[str | None, Query(max_length=60, description="`next_cursor` of the page before.")] = None,
                limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE, description="Events per page.")] = 100,
                types: TypeFilter = None) -> EventPageOut:
    """Events after ``cursor`` (from the first without one), oldest first."""
    return service.page(session, cursor, limit, frozenset(t.value for t in types or ()))


@router.get("/v1/events/{event_id}", response_model=EventOut, responses=responses(401, 404, 422))
@runs_sql
def get_event(session: SessionDep, _caller: CallerDep,
              event_id: Annotated[str, Path(pattern=r"^evt_[0-9a-f]{32}$", description="The event's id.")]) -> EventOut:
    """One event by its id (the `webhook-id` of its deliveries)."""
    return service.one(session, event_id)
