"""The event as served and delivered: the Standard Webhooks envelope."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, Field

from api.kit.contract import UtcDateTime
from credit.events.catalogue import EVENT_TYPES

EventType = Enum("EventType", {name.replace(".", "_"): name for name in EVENT_TYPES}, type=str)
EventType.__doc__ = "Every event type (credit/events/catalogue.py)."


class EventOut(BaseModel):
    """One event: what happened to which object; the same body a webhook delivery carries."""

    id: str = Field(pattern=r"^evt_[0-9a-f]{32}$", description="Stable id; the `webhook-id` of every delivery.")
    type: EventType
    timestamp: UtcDateTime = Field(description="When the change was made, UTC.")
    data: dict[str, Any] = Field(description="`object` (its type), `id`, `firm_id` and the object after the change.")


class EventPageOut(BaseModel):
    """Events in the order they committed; pass `next_cursor` as `cursor` to read on."""

    items: list[EventOut]
    next_cursor: str | None = Field(description="Opaque; pass it back to read the events after this page. Null "
                                                "when the page is empty: poll again with the same cursor.")
