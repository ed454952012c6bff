"""The dispatcher: fan the outbox's events out into deliveries, and send the due ones.

One pass (:meth:`Dispatcher.run_once`):

1. **Sequence** the committed events (:func:`credit.events.outbox.sequence`).
2. **Fan out.** For each enabled endpoint (row-locked, ``SKIP LOCKED`` on PostgreSQL), read
   the events after its ``cursor``, queue a delivery for each one it subscribes to, and move
   the cursor, all in one transaction: an event is queued exactly once per endpoint.
3. **Claim** a few due deliveries in a short transaction (``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL; SQLite has one writer): each gets a lease token and its ``next_attempt_at``
   moves past the time it could take to send it and those claimed before it, so no other
   dispatcher takes it meanwhile. A delivery is not claimed while an
   earlier delivery of an event about the same object to the same endpoint is pending: events
   reach an endpoint in order per object.
4. **Send** each claimed delivery with no transaction open: POST the event's JSON, signed
   (:mod:`credit.webhooks.signing`), ``webhook-id`` = the event's id.
5. **Record** the attempt, in a new transaction. A 2xx marks the delivery delivered; anything
   else (or a timeout, a refused connection) schedules a retry after a delay drawn between 0
   and the schedule's step (full jitter): :data:`SCHEDULE`. After the schedule is spent, and
   at least :data:`GIVE_UP_AFTER` after the first failure, the delivery fails and the endpoint
   is disabled (:func:`credit.webhooks.endpoints.disable`: an event, and an error in the log).

At least once: a delivery is marked delivered only after its 2xx is recorded. A dispatcher
killed between sending and recording leaves the delivery pending with its lease; once the
lease runs out the next pass sends it again, with the same ``webhook-id``.

Time is the one clock's (:mod:`credit.clock`); durations are measured with ``time.monotonic``.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from sqlalchemy import Engine, and_, exists, insert, select, update
from sqlalchemy.orm import Session, aliased

from credit import clock
from credit.events import outbox
from credit.events.tables import Event
from credit.webhooks import endpoints, signing
from credit.webhooks.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint

log = logging.getLogger("credit.webhooks")

SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
    timedelta(hours=5), timedelta(hours=10), timedelta(hours=10),
)
"""The upper bound of the wait before each retry (the wait is drawn between 0 and it)."""
GIVE_UP_AFTER = timedelta(days=1)
"""A delivery fails only once the schedule is spent and this long has passed since its first failure."""
USER_AGENT = "marketplace-credit-webhooks/1"
SNIPPET = 500


@dataclass
class PassResult:
    """What one pass did."""

    queued: int = 0
    """Deliveries queued by the fan-out."""
    sent: int = 0
    """Attempts made."""
    delivered: int = 0
    """Attempts answered 2xx."""
    disabled: list[int] = field(default_factory=list)
    """Endpoints disabled because a delivery ran out of retries."""


@dataclass
class _Claimed:
    delivery_id: int
    endpoint_id: int
    token: str
    url: str
    webhook_id: str
    body: bytes
    secrets: list[str]


@dataclass
class Dispatcher:
    """Delivers the outbox's events to the enabled endpoints.

    Parameters
    ----------
    engine
        The store.
    timeout
        Seconds to wait for an endpoint's answer.
    batch
        Events fanned out per endpoint per round of a pass.
    sends
        Deliveries claimed per pass, sent one after another; the n-th is leased for n timeouts
        plus 5 s, time enough for those before it to time out.
    rng
        Draws the jittered retry delays (``uniform``); tests pass one that is predictable.
    """

    engine: Engine
    timeout: float = 10.0
    batch: int = 100
    sends: int = 10
    rng: random.Random = field(default_factory=random.SystemRandom)
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    def lease(self, place: int) -> timedelta:
        """How long the ``place``-th delivery claimed in a pass (from 1) is held: until all up to it could time out."""
        return timedelta(seconds=place * self.timeout + 5)

    def run_once(self, stop: threading.Event | None = None) -> PassResult:
        """One pass: sequence, fan out, send what is due; once ``stop`` is set, the deliveries not yet sent are let go."""
        result = PassResult()
        result.queued = self.fan_out()
        claimed = self.claim_due()
        for place, delivery in enumerate(claimed):
            if stop is not None and stop.is_set():
                self._release(claimed[place:])
                break
            self._send(delivery, result)
        return result

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Pass after pass until ``stop`` is set; straight on after a pass that did something, else wait ``interval``."""
        while not stop.is_set():
            try:
                result = self.run_once(stop)
            except Exception:  # noqa: BLE001 - a lost database or a bug: log, wait, try again
                log.exception("webhook dispatch pass failed; trying again in %s s", interval)
                stop.wait(interval)
                continue
            if result.queued or result.sent:
                log.info("webhooks: %d queued, %d sent, %d delivered", result.queued, result.sent, result.delivered)
            else:
                stop.wait(interval)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- the steps ---------------------------------------------------------------------------

    def fan_out(self) -> int:
        """Queue a delivery of every new event to each enabled endpoint that subscribes to it; return how many."""
        with Session(self.engine) as session:
            outbox.sequence(session)
            session.commit()
        queued = 0
        with Session(self.engine) as session:
            postgres = self._begin_writing(session)
            query = select(WebhookEndpoint).where(WebhookEndpoint.status == "enabled").order_by(WebhookEndpoint.endpoint_id)
            if postgres:
                query = query.with_for_update(skip_locked=True)
            now = clock.now()
            for endpoint in session.scalars(query).all():
                while True:
                    events = outbox.read(session, after=endpoint.cursor, limit=self.batch)
                    if not events:
                        break
                    wanted = [event for event in events if not endpoint.event_types or event.type in endpoint.event_types]
                    if wanted:
                        session.execute(insert(WebhookDelivery), [dict(
                            endpoint_id=endpoint.endpoint_id, event_id=event.event_id, position=event.position,
                            event_type=event.type, object_type=event.object_type, object_id=event.object_id,
                            status="pending", attempts=0, failures=0, next_attempt_at=now, created_at=now,
                        ) for event in wanted])
                    endpoint.cursor = events[-1].position
                    queued += len(wanted)
                    if len(events) < self.batch:
                        break
            session.commit()
        return queued

    def claim_due(self) -> list[_Claimed]:
        """Lease the due deliveries (the first pending one per endpoint and object) and read what to send."""
        with Session(self.engine) as session:
            postgres = self._begin_writing(session)
            now = clock.now()
            earlier = aliased(WebhookDelivery)
            delivery = WebhookDelivery
            blocked = exists().where(and_(
                earlier.endpoint_id == delivery.endpoint_id, earlier.object_type == delivery.object_type,
                earlier.object_id == delivery.object_id, earlier.position < delivery.position,
                earlier.status == "pending"))
            query = (select(delivery, WebhookEndpoint)
                     .join(WebhookEndpoint, WebhookEndpoint.endpoint_id == delivery.endpoint_id)
                     .where(delivery.status == "pending", delivery.next_attempt_at <= now,
                            WebhookEndpoint.status == "enabled", ~blocked)
                     .order_by(delivery.next_attempt_at, delivery.delivery_id).limit(self.sends))
            if postgres:
                query = query.with_for_update(of=delivery, skip_locked=True)
            rows = session.execute(query).all()
            if not rows:
                return []
            events = {event.event_id: event for event in session.scalars(
                select(Event).where(Event.event_id.in_([row[0].event_id for row in rows])))}
            claimed = []
            for place, (row, endpoint) in enumerate(rows, start=1):
                token = secrets.token_hex(16)
                row.lease_token, row.next_attempt_at = token, now + self.lease(place)
                event = events[row.event_id]
                body = json.dumps(outbox.payload(event), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
                claimed.append(_Claimed(row.delivery_id, row.endpoint_id, token, endpoint.url, event.event_id, body,
                                        endpoints.signing_secrets(endpoint, now)))
            session.commit()
            return claimed

    def _release(self, unsent: list[_Claimed]) -> None:
        """Give back claimed deliveries that were not sent: due again at once, for whichever dispatcher runs next."""
        with Session(self.engine) as session:
            self._begin_writing(session)
            for claimed in unsent:
                session.execute(update(WebhookDelivery).where(
                    WebhookDelivery.delivery_id == claimed.delivery_id, WebhookDelivery.lease_token == claimed.token,
                ).values(lease_token=None, next_attempt_at=clock.now()))
            session.commit()

    def _send(self, claimed: _Claimed, result: PassResult) -> None:
        at = clock.now()
        headers = {"content-type": "application/json", "user-agent": USER_AGENT,
                   **signing.headers(claimed.webhook_id, at, claimed.body, claimed.secrets)}
        status_code = error = snippet = None
        started = time.monotonic()
        try:
            response = self._http().post(claimed.url, content=claimed.body, headers=headers)
            status_code, snippet = response.status_code, response.text[:SNIPPET]
        except httpx.TimeoutException:
            error = f"timed out after {self.timeout:g} s"
        except Exception as exc:  # noqa: BLE001 - refused, reset, a URL httpx cannot send to: a failed attempt
            error = f"{type(exc).__name__}: {exc}"[:300]
        duration_ms = round((time.monotonic() - started) * 1000)
        result.sent += 1
        ok = status_code is not None and 200 <= status_code < 300
        result.delivered += ok
        disabled = self._record(claimed, at.replace(microsecond=0), status_code, error, duration_ms, snippet, ok)
        if disabled is not None:
            result.disabled.append(disabled)

    def _record(self, claimed: _Claimed, at, status_code, error, duration_ms, snippet, ok) -> int | None:  # noqa: ANN001
        """Keep the attempt; mark the delivery delivered, or schedule its retry, or fail it. The endpoint disabled, if."""
        with Session(self.engine) as session:
            postgres = self._begin_writing(session)
            # A failure may disable the endpoint: lock it before the delivery, in the order the API's
            # changes take them (endpoint, then its deliveries), so the two never wait on each other.
            endpoint = None if ok else session.get(WebhookEndpoint, claimed.endpoint_id, with_for_update=postgres)
            query = select(WebhookDelivery).where(WebhookDelivery.delivery_id == claimed.delivery_id)
            delivery = session.scalar(query.with_for_update() if postgres else query)
            if delivery is None:  # the endpoint was deleted meanwhile, with its deliveries
                return None
            session.execute(insert(WebhookAttempt).values(
                delivery_id=claimed.delivery_id, attempted_at=at, status_code=status_code, error=error,
                duration_ms=duration_ms, response_snippet=snippet))
            delivery.attempts += 1
            now = clock.now()
            if ok:
                if delivery.status == "pending":  # a 2xx is a delivery, whoever holds the lease now
                    delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
                    delivery.lease_token = None
                session.commit()
                return None
            if delivery.status != "pending" or delivery.lease_token != claimed.token:
                session.commit()  # redelivered or taken over meanwhile: its new schedule stands
                return None
            delivery.failures += 1
            delivery.first_failed_at = delivery.first_failed_at or at
            delivery.lease_token = None
            disabled = None
            if delivery.failures > len(SCHEDULE) and now - delivery.first_failed_at >= GIVE_UP_AFTER:
                delivery.status, delivery.next_attempt_at = "failed", None
                reason = (f"delivery {delivery.delivery_id} of {delivery.event_id} failed {delivery.failures} times "
                          f"since {delivery.first_failed_at:%Y-%m-%d %H:%M:%S} UTC; last: "
                          f"{f'HTTP {status_code}' if status_code is not None else error}")
                if endpoints.disable(session, endpoint, reason):
                    disabled = endpoint.endpoint_id
            else:
                delivery.next_attempt_at = now + retry_delay(delivery.failures, self.rng)
            session.commit()
            return disabled

    def _begin_writing(self, session: Session) -> bool:
        """Start a writing transaction (SQLite: take the write lock first); True on PostgreSQL."""
        if session.get_bind().dialect.name == "postgresql":
            return True
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        return False

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, follow_redirects=False)
        return self._client


def retry_delay(failures: int, rng: random.Random) -> timedelta:
    """The wait after the ``failures``-th failure in a row: full jitter, between 0 and the schedule's step."""
    step = SCHEDULE[min(failures, len(SCHEDULE)) - 1]
    return timedelta(seconds=rng.uniform(0, step.total_seconds()))
