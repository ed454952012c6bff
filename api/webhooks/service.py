"""The webhook-endpoint routes' work: look up (404 otherwise), change through credit.webhooks, shape the answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.kit.auth import Caller
from api.kit.db import take_write_lock
from api.kit.errors import NotFound, invalid
from api.webhooks.schemas import (AttemptOut, DeliveryOut, DeliveryPage, EndpointChange, EndpointCreate,
                                  EndpointCreated, EndpointOut, EndpointPage, RotationOut, SecretOut)
from credit import clock
from credit.paging import InvalidCursor, decode_cursor, encode_cursor
from credit.webhooks import endpoints
from credit.webhooks.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint

MAX_PAGE = 100


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else at.replace(tzinfo=UTC)


def endpoint_out(endpoint: WebhookEndpoint) -> EndpointOut:
    shown = endpoints.public(endpoint)
    return EndpointOut(**{**shown, **{name: _utc(shown[name]) for name in ("disabled_at", "created_at", "updated_at")}})


def _endpoint(session: Session, endpoint_id: int, *, for_update: bool = False) -> WebhookEndpoint:
    if for_update:
        take_write_lock(session)
    endpoint = session.get(WebhookEndpoint, endpoint_id, with_for_update=for_update)
    if endpoint is None:
        raise NotFound(f"No webhook endpoint {endpoint_id}.", code="webhook_endpoint_not_found")
    return endpoint


def _cursor(name: str, cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        return decode_cursor(name, cursor)
    except InvalidCursor as exc:
        raise invalid("query", "cursor", str(exc)) from None


def create(session: Session, body: EndpointCreate) -> EndpointCreated:
    try:
        endpoint = endpoints.create(session, url=body.url, description=body.description,
                                    event_types=[t.value for t in body.event_types])
    except ValueError as exc:  # the schema checks the same; kept for callers that bypass it
        raise invalid("body", "url", str(exc)) from None
    return EndpointCreated(**endpoint_out(endpoint).model_dump(), secret=endpoint.secret)


def page(session: Session, cursor: str | None, limit: int) -> EndpointPage:
    after = _cursor("webhook_endpoints", cursor) or 0
    found = session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.endpoint_id > after)
                            .order_by(WebhookEndpoint.endpoint_id).limit(limit + 1)).all()
    shown = found[:limit]
    return EndpointPage(items=[endpoint_out(e) for e in shown],
                        next_cursor=encode_cursor("webhook_endpoints", shown[-1].endpoint_id) if len(found) > limit else None)


def one(session: Session, endpoint_id: int) -> EndpointOut:
    return endpoint_out(_endpoint(session, endpoint_id))


def change(session: Session, endpoint_id: int, body: EndpointChange, caller: Caller) -> EndpointOut:
    endpoint = _endpoint(session, endpoint_id, for_update=True)
    try:
        endpoints.change(session, endpoint, url=body.url, description=body.description,
                         event_types=None if body.event_types is None else [t.value for t in body.event_types])
    except ValueError as exc:
        raise invalid("body", "url", str(exc)) from None
    if body.status == "disabled":
        endpoints.disable(session, endpoint, f"disabled by API key {caller.key_id} ({caller.name})")
    elif body.status == "enabled":
        endpoints.enable(session, endpoint)
    return endpoint_out(endpoint)


def remove(session: Session, endpoint_id: int) -> None:
    endpoint = _endpoint(session, endpoint_id, for_update=True)
    deliveries = select(WebhookDelivery.delivery_id).where(WebhookDelivery.endpoint_id == endpoint_id)
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
    session.delete(endpoint)
    session.flush()


def secret(session: Session, endpoint_id: int) -> SecretOut:
    endpoint = _endpoint(session, endpoint_id)
    current = endpoints.signing_secrets(endpoint, clock.now())
    return SecretOut(secret=endpoint.secret, previous_secret=current[1] if len(current) > 1 else None,
                     previous_secret_expires_at=_utc(endpoint.previous_secret_expires_at) if len(current) > 1 else None)


def rotate(session: Session, endpoint_id: int, overlap_seconds: int) -> RotationOut:
    endpoint = _endpoint(session, endpoint_id, for_update=True)
    new = endpoints.rotate_secret(session, endpoint, timedelta(seconds=overlap_seconds))
    return RotationOut(secret=new, previous_secret_expires_at=_utc(endpoint.previous_secret_expires_at))


def delivery_out(delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.delivery_id, event_id=delivery.event_id, event_type=delivery.event_type, status=delivery.status,
        attempts=[AttemptOut(attempted_at=_utc(a.attempted_at), status_code=a.status_code, error=a.error,
                             duration_ms=a.duration_ms, response_snippet=a.response_snippet) for a in attempts],
        next_attempt_at=_utc(delivery.next_attempt_at) if delivery.status == "pending" else None,
        delivered_at=_utc(delivery.delivered_at), created_at=_utc(delivery.created_at))


def deliveries(session: Session, endpoint_id: int, cursor: str | None, limit: int, status: str | None) -> DeliveryPage:
    _endpoint(session, endpoint_id)
    before = _cursor("webhook_deliveries", cursor)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if before is not None:
        query = query.where(WebhookDelivery.delivery_id < before)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    found = session.scalars(query.order_by(WebhookDelivery.delivery_id.desc()).limit(limit + 1)).all()
    shown = found[:limit]
    attempts: dict[int, list[WebhookAttempt]] = {d.delivery_id: [] for d in shown}
    if shown:
        for attempt in session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(list(attempts)))
                                       .order_by(WebhookAttempt.attempt_id)):
            attempts[attempt.delivery_id].append(attempt)
    return DeliveryPage(items=[delivery_out(d, attempts[d.delivery_id]) for d in shown],
                        next_cursor=encode_cursor("webhook_deliveries", shown[-1].delivery_id)
                        if len(found) > limit else None)


def redeliver(session: Session, endpoint_id: int, delivery_id: int) -> DeliveryOut:
    _endpoint(session, endpoint_id, for_update=True)
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.endpoint_id != endpoint_id:
        raise NotFound(f"No delivery {delivery_id} to webhook endpoint {endpoint_id}.", code="webhook_delivery_not_found")
    endpoints.redeliver(session, delivery)
    attempts = session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
                               .order_by(WebhookAttempt.attempt_id)).all()
    return delivery_out(delivery, list(attempts))
