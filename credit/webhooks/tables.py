"""Webhook endpoints, their deliveries and every attempt (migration ``0019_webhooks``).

* ``webhook_endpoints``: where to POST events, which types, its signing secrets and how far
  into the outbox it has been fanned out (``cursor``: the last event position considered).
  The secrets are stored as they are: signing needs the secret itself (an HMAC key), unlike an
  API key, which is checked against its hash. Whoever reads the table can sign as the service.
* ``webhook_deliveries``: one per event and endpoint. ``pending`` until a 2xx (``delivered``)
  or until the retry schedule is spent (``failed``). ``next_attempt_at`` is when it is due;
  a dispatcher that takes it moves that forward by a lease, so a dispatcher killed
  mid-delivery leaves it due again once the lease runs out (and it is sent again, with the
  same ``webhook-id``).
* ``webhook_attempts``: every attempt, kept: when, the HTTP status or the error, how long,
  and the start of the response.

Events are named by their public id without a foreign key: the outbox stays free to be
pruned of old events without touching the delivery history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from credit.store.tables import Base, Identifier, one_of

ENDPOINT_STATUSES: tuple[str, ...] = ("enabled", "disabled")
DELIVERY_STATUSES: tuple[str, ...] = ("pending", "delivered", "failed")
"""pending: not yet answered 2xx (due at ``next_attempt_at``); delivered: a 2xx came back;
failed: the retry schedule was spent without one (the endpoint was disabled then)."""



class WebhookEndpoint(Base):
    """A URL that receives events, signed with its secret."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint(one_of("status", ENDPOINT_STATUSES), name="status_allowed"),
        CheckConstraint("(status = 'disabled') = (disabled_at IS NOT NULL)", name="disabled_has_time"),
    )

    endpoint_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True, doc="Endpoint id.")
    url: Mapped[str] = mapped_column(String(2000), nullable=False, doc="Where events are POSTed (http or https).")
    description: Mapped[str] = mapped_column(String(500), nullable=False, doc="What the endpoint is for, free text.")
    event_types: Mapped[list] = mapped_column(JSON, nullable=False,
                                              doc="Event types it subscribes to; an empty list means every type.")
    status: Mapped[str] = mapped_column(String(8), nullable=False, doc="enabled or disabled.")
    disabled_reason: Mapped[str | None] = mapped_column(String(300), doc="Why it was disabled, while it is.")
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime, doc="When it was disabled (UTC), while it is.")
    secret: Mapped[str] = mapped_column(String(100), nullable=False,
                                        doc="Signing secret, `whsec_` + base64; stored as is: signing needs it.")
    previous_secret: Mapped[str | None] = mapped_column(String(100), doc="The secret before the last rotation.")
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime, doc="Until when deliveries are signed with the previous secret too (UTC).")
    cursor: Mapped[int] = mapped_column(BigInteger, nullable=False,
                                        doc="Position of the last event fanned out to it (or skipped, unsubscribed).")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When it was registered (UTC).")
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="Last change (UTC).")


class WebhookDelivery(Base):
    """One event to one endpoint, until it is answered 2xx or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(one_of("status", DELIVERY_STATUSES), name="status_allowed"),
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        # The dispatcher's work list, and the per-object order check.
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_object", "endpoint_id", "object_type", "object_id", "position"),
    )

    delivery_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True, doc="Delivery id.")
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.endpoint_id"), nullable=False,
                                             doc="Where it goes.")
    event_id: Mapped[str] = mapped_column(String(40), nullable=False, doc="The event (`evt_...`), the webhook-id.")
    position: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="The event's position in the outbox.")
    event_type: Mapped[str] = mapped_column(String(60), nullable=False, doc="The event's type.")
    object_type: Mapped[str] = mapped_column(String(40), nullable=False, doc="The event's object type.")
    object_id: Mapped[str] = mapped_column(String(60), nullable=False, doc="The event's object id.")
    status: Mapped[str] = mapped_column(String(9), nullable=False, doc="pending, delivered or failed.")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, doc="Attempts made, all told.")
    failures: Mapped[int] = mapped_column(Integer, nullable=False,
                                          doc="Failed attempts since it was last queued: the step of the retry schedule.")
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        DateTime, doc="When it is due (UTC), while pending; moved by a lease while a dispatcher sends it.")
    lease_token: Mapped[str | None] = mapped_column(String(32), doc="The dispatcher attempt that holds it, if any.")
    first_failed_at: Mapped[datetime | None] = mapped_column(DateTime, doc="First failure since it was last queued.")
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime, doc="When a 2xx came back (UTC).")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When it was queued (UTC).")


class WebhookAttempt(Base):
    """One POST of a delivery and what came back."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "attempt_id"),)

    attempt_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True, doc="Attempt id.")
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.delivery_id"), nullable=False,
                                             doc="The delivery.")
    attempted_at: Mapped[datetime] = mapped_column(DateTime, nullable=False,
                                                   doc="When it was sent (UTC); its webhook-timestamp.")
    status_code: Mapped[int | None] = mapped_column(Integer, doc="The HTTP status, if an answer came.")
    error: Mapped[str | None] = mapped_column(String(300), doc="Why no answer came (timeout, refused, ...).")
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False, doc="From sending to the answer or error.")
    response_snippet: Mapped[str | None] = mapped_column(String(500), doc="The first 500 characters of the answer.")
