"""Request and response bodies of the webhook-endpoint routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.events.schemas import EventType
from api.kit.contract import UtcDateTime
from credit.webhooks.endpoints import MAX_OVERLAP, MAX_URL_LENGTH, URL_PATTERN, url_problem

_URL = "Where events are POSTed: an absolute http:// or https:// URL, without credentials or #fragment."
_DESCRIPTION = "What the endpoint is for (free text; control characters but tab, line feed and carriage return are refused, as everywhere)."
_TYPES = "Event types to receive; empty: every type, present and future."
_EXAMPLE_URL = ["https://marketplace.example/hooks/credit"]


def _check_url(url: str) -> str:
    problem = url_problem(url)
    if problem is not None:
        raise ValueError(f"url {problem}")
    return url


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=MAX_URL_LENGTH, json_schema_extra={"pattern": URL_PATTERN}, examples=_EXAMPLE_URL, description=_URL)
    description: str = Field(default="", max_length=500, description=_DESCRIPTION)
    event_types: list[EventType] = Field(default_factory=list, max_length=len(EventType), description=_TYPES)

    _url = field_validator("url")(_check_url)


class EndpointChange(BaseModel):
    """What to change; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=MAX_URL_LENGTH, json_schema_extra={"pattern": URL_PATTERN}, examples=_EXAMPLE_URL, description=_URL)
    description: str | None = Field(default=None, max_length=500, description=_DESCRIPTION)
    event_types: list[EventType] | None = Field(default=None, max_length=len(EventType), description=_TYPES)
    status: Literal["enabled", "disabled"] | None = Field(
        default=None, description="`disabled`: nothing is sent until enabled again. `enabled`: every delivery "
                                  "waiting is due at once, then the events it missed, in order.")

    @field_validator("url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        return None if url is None else _check_url(url)


class EndpointOut(BaseModel):
    """A webhook endpoint (never its secret)."""

    id: int = Field(description="The endpoint's id.")
    url: str
    description: str
    event_types: list[EventType] = Field(description="Subscribed types; empty: every type.")
    status: Literal["enabled", "disabled"]
    disabled_reason: str | None = Field(description="Why it is disabled (e.g. a day of failed deliveries); null if enabled.")
    disabled_at: UtcDateTime | None = Field(description="When it was disabled, UTC; null if enabled.")
    created_at: UtcDateTime
    updated_at: UtcDateTime


class EndpointCreated(EndpointOut):
    secret: str | None = Field(
        pattern=r"^whsec_[A-Za-z0-9+/]+={0,2}$",
        description="The signing secret (`whsec_` + base64), in this response only. Null when the response is a "
                    "replay (`Idempotent-Replayed: true`); read it at `GET .../secret`.")


class EndpointPage(BaseModel):
    items: list[EndpointOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class SecretOut(BaseModel):
    """The endpoint's signing secrets (stored as they are: signing needs them)."""

    secret: str = Field(description="The current secret; every delivery is signed with it.")
    previous_secret: str | None = Field(description="The secret before the last rotation, while it still signs too.")
    previous_secret_expires_at: UtcDateTime | None = Field(description="Until when the previous secret signs too, UTC.")


class RotationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_seconds: int = Field(
        default=86_400, ge=0, le=int(MAX_OVERLAP.total_seconds()),
        description="How long the old secret keeps signing beside the new one (each delivery then carries two "
                    "signatures); 0 ends it at once. Default 24 h, at most 7 days.")


class RotationOut(BaseModel):
    secret: str | None = Field(description="The new secret, in this response only; null on a replay "
                                           "(read it at `GET .../secret`).")
    previous_secret_expires_at: UtcDateTime | None = Field(description="Until when the old secret signs too, UTC.")


class AttemptOut(BaseModel):
    attempted_at: UtcDateTime = Field(description="When it was sent (its `webhook-timestamp`), UTC.")
    status_code: int | None = Field(description="The endpoint's HTTP status; null if none came.")
    error: str | None = Field(description="Why no answer came (timeout, connection refused, ...).")
    duration_ms: int = Field(description="From sending to the answer or the error.")
    response_snippet: str | None = Field(description="The first 500 characters of the answer.")


class DeliveryOut(BaseModel):
    """One event to one endpoint, and every attempt."""

    id: int = Field(description="The delivery's id.")
    event_id: str = Field(pattern=r"^evt_[0-9a-f]{32}$", description="The event; the `webhook-id` of every attempt.")
    event_type: EventType
    status: Literal["pending", "delivered", "failed"] = Field(
        description="pending: not yet answered 2xx; delivered: answered 2xx; failed: retries spent (the endpoint "
                    "was disabled).")
    attempts: list[AttemptOut] = Field(description="Every attempt, oldest first.")
    next_attempt_at: UtcDateTime | None = Field(description="When it is due next, UTC, while pending.")
    delivered_at: UtcDateTime | None
    created_at: UtcDateTime


class DeliveryPage(BaseModel):
    items: list[DeliveryOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null on the last.")
