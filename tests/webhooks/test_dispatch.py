"""The dispatcher against a receiver that verifies every delivery with its own Standard Webhooks check.

The clock is frozen and moved by hand; passes are run one at a time (``run_once``), so the
retry schedule's hours take no time.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from credit import clock
from credit.events import outbox
from credit.events.tables import Event
from credit.webhooks import endpoints
from credit.webhooks.dispatch import SCHEDULE, Dispatcher, retry_delay
from credit.webhooks.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.webhooks.receiver import Receiver, verifies

T0 = datetime(2028, 2, 28, 23, 0, 0)


class Highest(random.Random):
    """Draws the top of every jitter range: the schedule's own steps."""

    def uniform(self, a: float, b: float) -> float:
        return b


def _endpoint(store: Engine, receiver: Receiver, **options) -> WebhookEndpoint:
    with Session(store, expire_on_commit=False) as session:
        endpoint = endpoints.create(session, url=receiver.url, **options)
        session.commit()
    receiver.secrets.append(endpoint.secret)
    return endpoint


def _emit(store: Engine, *events: tuple[str, int]) -> list[str]:
    with Session(store) as session:
        ids = [outbox.emit(session, kind, object_id=object_id, firm_id=9, data={"n": number})
               for number, (kind, object_id) in enumerate(events)]
        session.commit()
    return ids


def _drain(dispatcher: Dispatcher, passes: int = 20) -> int:
    """Passes until one does nothing; how many did something."""
    for done in range(passes):
        result = dispatcher.run_once()
        if not (result.queued or result.sent):
            return done
    raise AssertionError("the dispatcher kept finding work")


def test_every_event_arrives_signed_once_and_in_order_per_object(store: Engine, receiver: Receiver) -> None:
    with clock.frozen(T0):
        _endpoint(store, receiver)
        ids = _emit(store, ("credit_line.opened", 1), ("authorization.approved", 50), ("credit_line.changed", 1),
                    ("authorization.captured", 50), ("credit_line.frozen", 1))
        dispatcher = Dispatcher(store)
        first = dispatcher.run_once()
        # One pass sends the first pending event of each object only: line 1's and hold 50's.
        assert (first.queued, first.sent, first.delivered) == (5, 2, 2)
        assert [r.webhook_id for r in receiver.received] == [ids[0], ids[1]]
        assert _drain(dispatcher) == 2  # two more passes: line 1 has three events
    assert receiver.rejected == []
    assert sorted(r.webhook_id for r in receiver.received) == sorted(ids)  # each once, none lost
    by_object: dict[str, list[str]] = {}
    for item in receiver.received:
        by_object.setdefault(item.event["data"]["id"], []).append(item.event["type"])
    assert by_object == {"1": ["credit_line.opened", "credit_line.changed", "credit_line.frozen"],
                         "50": ["authorization.approved", "authorization.captured"]}
    with Session(store) as session:
        stored = {e.event_id: e for e in session.scalars(select(Event))}
    for item in receiver.received:  # the body is the event as GET /v1/events serves it
        assert item.event == json.loads(json.dumps(outbox.payload(stored[item.webhook_id])))
        assert item.headers["webhook-timestamp"] == str(int((T0 - datetime(1970, 1, 1)).total_seconds()))
        assert item.headers["content-type"] == "application/json"


def test_an_endpoint_gets_only_the_types_it_subscribes_to_and_only_events_after_it_was_made(
        store: Engine, receiver: Receiver) -> None:
    with clock.frozen(T0):
        _emit(store, ("credit_line.opened", 1))
        dispatcher = Dispatcher(store)
        dispatcher.run_once()  # sequenced before the endpoint exists
        _endpoint(store, receiver, event_types=["credit_line.frozen", "authorization.expired"])
        ids = _emit(store, ("credit_line.changed", 1), ("credit_line.frozen", 1), ("authorization.expired", 7),
                    ("authorization.approved", 8))
        _drain(dispatcher)
    assert [r.webhook_id for r in receiver.received] == [ids[1], ids[2]]


def test_a_failing_delivery_is_retried_on_the_schedule_until_it_succeeds(store: Engine, receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    with clock.frozen(T0) as now:
        endpoint = _endpoint(store, receiver)
        [event_id] = _emit(store, ("credit_line.frozen", 3))
        dispatcher = Dispatcher(store, rng=Highest())
        assert dispatcher.run_once().sent == 1  # 500
        now.advance(timedelta(seconds=4))
        assert dispatcher.run_once().sent == 0  # due at +5 s
        now.advance(timedelta(seconds=1))
        assert dispatcher.run_once().sent == 1  # 503, next at +5 s + 5 min
        now.advance(timedelta(minutes=5) - timedelta(seconds=1))
        assert dispatcher.run_once().sent == 0
        now.advance(timedelta(seconds=1))
        assert dispatcher.run_once().delivered == 1
    assert [r.webhook_id for r in receiver.received] == [event_id] * 3  # one webhook-id across retries
    assert [r.headers["webhook-timestamp"] for r in receiver.received] == [
        str(int((at - datetime(1970, 1, 1)).total_seconds()))
        for at in (T0, T0 + timedelta(seconds=5), T0 + timedelta(seconds=305))]
    with Session(store) as session:
        delivery = session.scalar(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.endpoint_id))
        attempts = session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.attempt_id)).all()
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == ("delivered", 3, T0 + timedelta(seconds=305))
    assert [(a.status_code, a.attempted_at, a.response_snippet) for a in attempts] == [
        (500, T0, "ok"), (503, T0 + timedelta(seconds=5), "ok"), (200, T0 + timedelta(seconds=305), "ok")]


def test_after_a_day_of_failures_the_delivery_fails_and_the_endpoint_is_disabled_with_an_event(
        store: Engine, receiver: Receiver) -> None:
    watcher = Receiver()  # another endpoint, subscribed to the disabled event only
    receiver.default = 500
    try:
        with clock.frozen(T0) as now:
            endpoint = _endpoint(store, receiver)
            _endpoint(store, watcher, event_types=["webhook_endpoint.disabled"])
            [event_id] = _emit(store, ("authorization.expired", 11))
            dispatcher = Dispatcher(store, rng=Highest())
            dispatcher.run_once()
            for step in SCHEDULE:  # 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: 27 h 35 min 5 s in all
                now.advance(step - timedelta(seconds=1))
                assert dispatcher.run_once().sent == 0
                now.advance(timedelta(seconds=1))
                result = dispatcher.run_once()
                assert result.sent == 1
            assert result.disabled == [endpoint.endpoint_id]
            assert now.now() - T0 == timedelta(hours=27, minutes=35, seconds=5)
            _drain(dispatcher)
            now.advance(timedelta(days=3))
            assert _drain(dispatcher) == 0  # nothing more goes to a disabled endpoint
        assert len(receiver.received) == 8 and {r.webhook_id for r in receiver.received} == {event_id}
        with Session(store) as session:
            delivery = session.scalar(select(WebhookDelivery).where(WebhookDelivery.event_id == event_id))
            stored = session.get(WebhookEndpoint, endpoint.endpoint_id)
            [disabled] = session.scalars(select(Event).where(Event.type == "webhook_endpoint.disabled")).all()
        assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 8, None)
        assert stored.status == "disabled" and stored.disabled_at == T0 + timedelta(seconds=99305)
        assert stored.disabled_reason.startswith(f"delivery {delivery.delivery_id} of {event_id} failed 8 times since "
                                                 "2028-02-28 23:00:00 UTC; last: HTTP 500")
        assert (disabled.object_id, disabled.data["status"], disabled.data["url"]) == (
            str(endpoint.endpoint_id), "disabled", receiver.url)
        assert [r.webhook_id for r in watcher.received] == [disabled.event_id]  # the client is told too
        assert "secret" not in watcher.received[0].body.decode()
    finally:
        watcher.close()


def test_retry_waits_are_drawn_between_zero_and_the_step() -> None:
    rng = random.Random(16)
    for failures, step in enumerate(SCHEDULE, start=1):
        waits = [retry_delay(failures, rng) for _ in range(200)]
        assert all(timedelta(0) <= wait <= step for wait in waits)
        assert min(waits) < step * 0.1 and max(waits) > step * 0.9  # spread over the whole range: full jitter
    assert retry_delay(12, Highest()) == SCHEDULE[-1]  # past the schedule, its last step again


def test_during_a_rotation_both_secrets_sign_and_after_it_only_the_new(store: Engine, receiver: Receiver) -> None:
    with clock.frozen(T0) as now:
        endpoint = _endpoint(store, receiver)
        old = endpoint.secret
        with Session(store, expire_on_commit=False) as session:
            new = endpoints.rotate_secret(session, session.get(WebhookEndpoint, endpoint.endpoint_id),
                                          timedelta(hours=1))
            session.commit()
        receiver.secrets = [new, old]
        dispatcher = Dispatcher(store)
        _emit(store, ("credit_line.changed", 1))
        _drain(dispatcher)
        now.advance(timedelta(hours=1))  # the overlap ends
        _emit(store, ("credit_line.changed", 2))
        _drain(dispatcher)
    during, after = receiver.received
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verifies(old, during.headers, during.body) and verifies(new, during.headers, during.body)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert verifies(new, after.headers, after.body) and not verifies(old, after.headers, after.body)
    assert new != old and new.startswith("whsec_") and len(new) == len("whsec_") + 44  # 32 bytes


def test_a_redelivery_carries_the_same_webhook_id_and_body(store: Engine, receiver: Receiver) -> None:
    with clock.frozen(T0) as now:
        _endpoint(store, receiver)
        [event_id] = _emit(store, ("receivable.overdue", 4))
        dispatcher = Dispatcher(store)
        _drain(dispatcher)
        now.advance(timedelta(hours=3))
        with Session(store) as session:
            endpoints.redeliver(session, session.scalar(select(WebhookDelivery)))
            session.commit()
        _drain(dispatcher)
    first, again = receiver.received
    assert first.webhook_id == again.webhook_id == event_id and first.body == again.body
    assert int(again.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 3 * 3600


def test_a_disabled_endpoint_gets_nothing_and_catches_up_in_order_once_enabled(store: Engine, receiver: Receiver) -> None:
    with clock.frozen(T0):
        endpoint = _endpoint(store, receiver)
        with Session(store) as session:
            assert endpoints.disable(session, session.get(WebhookEndpoint, endpoint.endpoint_id), "maintenance")
            session.commit()
        ids = _emit(store, ("credit_line.frozen", 1), ("credit_line.unfrozen", 1))
        dispatcher = Dispatcher(store)
        assert _drain(dispatcher) == 0
        with Session(store) as session:
            assert endpoints.enable(session, session.get(WebhookEndpoint, endpoint.endpoint_id))
            session.commit()
        assert _drain(dispatcher) == 2
    # Its own disabled event first (it was written before the others), then what it missed, in order.
    assert [r.event["type"] for r in receiver.received] == [
        "webhook_endpoint.disabled", "credit_line.frozen", "credit_line.unfrozen"]
    assert [r.webhook_id for r in receiver.received][1:] == ids


def test_a_timeout_is_a_failed_attempt_retried_later(store: Engine, receiver: Receiver) -> None:
    receiver.delay = 1.0
    with clock.frozen(T0):
        _endpoint(store, receiver)
        _emit(store, ("credit_line.opened", 1))
        result = Dispatcher(store, timeout=0.3, rng=Highest()).run_once()
    assert (result.sent, result.delivered) == (1, 0)
    with Session(store) as session:
        attempt = session.scalar(select(WebhookAttempt))
        delivery = session.scalar(select(WebhookDelivery))
    assert (attempt.status_code, attempt.error) == (None, "timed out after 0.3 s")
    assert 250 <= attempt.duration_ms < 1000
    assert (delivery.status, delivery.next_attempt_at) == ("pending", T0 + timedelta(seconds=5))


def test_a_refused_connection_is_a_failed_attempt(store: Engine) -> None:
    gone = Receiver()
    gone.close()  # nothing listens on its port any more
    with clock.frozen(T0):
        with Session(store, expire_on_commit=False) as session:
            endpoints.create(session, url=gone.url)
            session.commit()
        _emit(store, ("credit_line.opened", 1))
        assert Dispatcher(store).run_once().delivered == 0
    with Session(store) as session:
        attempt = session.scalar(select(WebhookAttempt))
    assert attempt.status_code is None and attempt.error.startswith("ConnectError")


def test_claimed_deliveries_are_leased_long_enough_for_those_before_them_and_let_go_on_stop(
        store: Engine, receiver: Receiver) -> None:
    import threading

    with clock.frozen(T0):
        _endpoint(store, receiver)
        ids = _emit(store, ("credit_line.opened", 1), ("credit_line.opened", 2), ("credit_line.opened", 3))
        dispatcher = Dispatcher(store, timeout=10, sends=2)
        dispatcher.fan_out()
        claimed = dispatcher.claim_due()
        with Session(store) as session:
            due = dict(session.execute(select(WebhookDelivery.event_id, WebhookDelivery.next_attempt_at)).all())
        assert [c.webhook_id for c in claimed] == ids[:2]  # two per pass
        assert due == {ids[0]: T0 + timedelta(seconds=15), ids[1]: T0 + timedelta(seconds=25), ids[2]: T0}

        stop = threading.Event()
        stop.set()
        assert dispatcher.run_once(stop).sent == 0  # claims the third, sends nothing, lets it go
        with Session(store) as session:
            third = session.scalar(select(WebhookDelivery).where(WebhookDelivery.event_id == ids[2]))
        assert (third.lease_token, third.next_attempt_at) == (None, T0)
    assert receiver.received == []
