"""Registering, changing, rotating and disabling webhook endpoints, and queueing redeliveries.

Functions take the session of the caller's unit of work and flush; they never commit. A
disabled endpoint gets nothing sent (its deliveries wait, its cursor stays); enabled again,
it catches up on every event it missed, in order. Disabling writes a
``webhook_endpoint.disabled`` event in the same transaction.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from credit import clock
from credit.events import outbox
from credit.events.catalogue import EVENT_TYPES
from credit.events.tables import Event
from credit.webhooks.signing import new_secret
from credit.webhooks.tables import WebhookDelivery, WebhookEndpoint

log = logging.getLogger("credit.webhooks")

MAX_URL_LENGTH = 2000
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)


_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
URL_PATTERN = rf'^https?://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:{_PORT})?([/?][!-"$-~]*)?$'
"""Every URL an endpoint may have, as the OpenAPI document states it: http(s), a host name (letters,
digits, ``-``, dots), a port up to 65535, then a path or query of printable ASCII without ``#``."""


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an endpoint's, or None: absolute http(s) with a host, no credentials, no fragment."""
    if len(url) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters; got {len(url)}"
    if any(ord(character) < 0x21 or ord(character) == 0x7F for character in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return f"must be an http:// or https:// URL; got scheme {parts.scheme or 'none'!r}"
    if not parts.hostname:
        return "must name a host, e.g. https://example.com/webhooks"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials (user:password@); authenticate by the signature"
    if parts.fragment:
        return "must not have a #fragment"
    if re.fullmatch(URL_PATTERN, url) is None:
        return "must be http(s)://host[:port][/path][?query], the host of letters, digits, '-' and '.'"
    return None


def unknown_types(types: list[str]) -> list[str]:
    """The entries of ``types`` that are no event type."""
    return [name for name in types if name not in EVENT_TYPES]


def create(session: Session, *, url: str, description: str = "", event_types: list[str] | None = None
           ) -> WebhookEndpoint:
    """Register an endpoint, enabled, with a fresh secret; it receives the events committed from now on.

    Raises
    ------
    ValueError
        A URL :func:`url_problem` refuses or an unknown event type.
    """
    _check(url, event_types or [])
    now = clock.now()
    endpoint = WebhookEndpoint(
        url=url, description=description, event_types=sorted(set(event_types or [])), status="enabled",
        secret=new_secret(), cursor=session.scalar(select(func.max(Event.position))) or 0,
        created_at=now, updated_at=now)
    session.add(endpoint)
    session.flush()
    return endpoint


def change(session: Session, endpoint: WebhookEndpoint, *, url: str | None = None, description: str | None = None,
           event_types: list[str] | None = None) -> WebhookEndpoint:
    """Change what is given of an endpoint's URL, description and subscription (for events not yet fanned out)."""
    _check(url if url is not None else endpoint.url, event_types or [])
    if url is not None:
        endpoint.url = url
    if description is not None:
        endpoint.description = description
    if event_types is not None:
        endpoint.event_types = sorted(set(event_types))
    endpoint.updated_at = clock.now()
    session.flush()
    return endpoint


def disable(session: Session, endpoint: WebhookEndpoint, reason: str) -> bool:
    """Disable an endpoint and write ``webhook_endpoint.disabled``; False if it was disabled already."""
    if endpoint.status == "disabled":
        return False
    now = clock.now()
    endpoint.status, endpoint.disabled_reason, endpoint.disabled_at, endpoint.updated_at = "disabled", reason[:300], now, now
    session.flush()
    outbox.emit(session, "webhook_endpoint.disabled", object_id=endpoint.endpoint_id, firm_id=None,
                data=public(endpoint))
    log.error("webhook endpoint %s (%s) disabled: %s", endpoint.endpoint_id, endpoint.url, reason)
    return True


def enable(session: Session, endpoint: WebhookEndpoint) -> bool:
    """Enable an endpoint; its waiting deliveries are due at once, with a fresh retry schedule. False if it was enabled."""
    if endpoint.status == "enabled":
        return False
    now = clock.now()
    endpoint.status, endpoint.disabled_reason, endpoint.disabled_at, endpoint.updated_at = "enabled", None, None, now
    session.execute(update(WebhookDelivery)
                    .where(WebhookDelivery.endpoint_id == endpoint.endpoint_id, WebhookDelivery.status == "pending")
                    .values(next_attempt_at=now, failures=0, first_failed_at=None, lease_token=None))
    session.flush()
    return True


def rotate_secret(session: Session, endpoint: WebhookEndpoint, overlap: timedelta = DEFAULT_OVERLAP) -> str:
    """Give the endpoint a new secret; the old one signs too for ``overlap`` (0: not at all). Returns the new one."""
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise ValueError(f"The overlap must be between 0 and {MAX_OVERLAP.days} days; got {overlap}.")
    now = clock.now()
    endpoint.previous_secret = endpoint.secret if overlap > timedelta(0) else None
    endpoint.previous_secret_expires_at = now + overlap if overlap > timedelta(0) else None
    endpoint.secret = new_secret()
    endpoint.updated_at = now
    session.flush()
    return endpoint.secret


def signing_secrets(endpoint: WebhookEndpoint, at: datetime) -> list[str]:
    """The secrets a delivery sent at ``at`` is signed with: the current one, and the previous one in its overlap."""
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and at < endpoint.previous_secret_expires_at:
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


def redeliver(session: Session, delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue a delivery again, due now, with a fresh retry schedule; it carries the same webhook-id (its event's id)."""
    delivery.status, delivery.next_attempt_at, delivery.failures = "pending", clock.now(), 0
    delivery.first_failed_at, delivery.lease_token, delivery.delivered_at = None, None, None
    session.flush()
    return delivery


def public(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """The endpoint as the API shows it (never its secrets); the data of its events."""
    return {
        "id": endpoint.endpoint_id, "url": endpoint.url, "description": endpoint.description,
        "event_types": list(endpoint.event_types), "status": endpoint.status,
        "disabled_reason": endpoint.disabled_reason, "disabled_at": endpoint.disabled_at,
        "created_at": endpoint.created_at, "updated_at": endpoint.updated_at,
    }


def _check(url: str, event_types: list[str]) -> None:
    problem = url_problem(url)
    if problem is not None:
        raise ValueError(f"url {problem}")
    unknown = unknown_types(event_types)
    if unknown:
        raise ValueError(f"unknown event types {', '.join(map(repr, unknown))}; see GET /v1/events' type enum")
