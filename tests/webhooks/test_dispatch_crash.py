"""``credit webhooks dispatch`` as a real process: SIGKILLed mid-delivery it loses nothing; two at once never send twice.

The dispatcher runs as a subprocess on the store (an SQLite file, and PostgreSQL) against a
receiver that takes its time to answer. Killed while a delivery is in flight, the delivery
stays pending under its lease; a new dispatcher sends it again once the lease runs out, with
the same ``webhook-id``, so a receiver that deduplicates by it acts on each event once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from credit.events import outbox
from credit.store.engine import make_engine
from credit.webhooks import endpoints
from credit.webhooks.tables import WebhookAttempt, WebhookDelivery
from migrations import upgrade
from tests.stores import empty_all_tables
from tests.webhooks.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 2.5  # the dispatcher's HTTP timeout; its lease is 5 s longer


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, tmp_path) -> Iterator[str]:  # noqa: ANN001
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        upgrade(make_engine(url))
        yield url
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    empty_all_tables(make_engine(url))


def _dispatcher(url: str) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, "-c", "from cli import app; app()", "webhooks", "dispatch", "--timeout", str(TIMEOUT),
         "--interval", "0.1", "--database-url", url],
        cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _setup(engine: Engine, receiver: Receiver, events: list[tuple[str, int]]) -> list[str]:
    with Session(engine, expire_on_commit=False) as session:
        endpoint = endpoints.create(session, url=receiver.url)
        session.commit()
    receiver.secrets.append(endpoint.secret)
    with Session(engine) as session:
        ids = [outbox.emit(session, kind, object_id=object_id, firm_id=1, data={}) for kind, object_id in events]
        session.commit()
    return ids


def _wait(condition, seconds: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(0.05)


def _delivered(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status == "delivered"))


def test_a_dispatcher_killed_mid_delivery_loses_nothing_and_resends_with_the_same_webhook_id(store_url: str) -> None:
    engine = make_engine(store_url)
    receiver = Receiver(delay=1.0)  # answers a second after a delivery arrives
    first = second = None
    try:
        ids = _setup(engine, receiver, [("credit_line.opened", 1), ("authorization.approved", 7),
                                        ("credit_line.changed", 1), ("authorization.captured", 7)])
        first = _dispatcher(store_url)
        _wait(lambda: len(receiver.received) >= 2, 60, "two deliveries to arrive")
        time.sleep(0.3)  # the second is in flight: the receiver holds it for a second
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        in_flight = receiver.received[-1].webhook_id
        assert first.returncode == -signal.SIGKILL
        with Session(engine) as session:
            pending = session.scalar(select(WebhookDelivery).where(WebhookDelivery.event_id == in_flight))
            assert pending.status == "pending" and pending.lease_token is not None  # sent, never recorded

        second = _dispatcher(store_url)
        _wait(lambda: _delivered(engine) == 4, 60, "every delivery to be recorded delivered")
        second.send_signal(signal.SIGTERM)  # stops after its pass, cleanly
        output, _ = second.communicate(timeout=20)
        assert second.returncode == 0 and "webhooks dispatcher stopped" in output
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
        receiver.close()

    assert receiver.rejected == []
    got = [r.webhook_id for r in receiver.received]
    assert sorted(set(got)) == sorted(ids)  # none lost
    assert got.count(in_flight) == 2 and len(got) == 5  # the one in flight, once more, with its webhook-id
    by_object: dict[str, list[str]] = {}
    for item in receiver.unique():
        by_object.setdefault(item.event["data"]["id"], []).append(item.webhook_id)
    assert by_object == {"1": [ids[0], ids[2]], "7": [ids[1], ids[3]]}  # in order per object
    with Session(engine) as session:
        attempts = session.scalar(select(func.count()).select_from(WebhookAttempt))
    assert attempts == 4  # the killed attempt was never recorded: that is why it was sent again
    engine.dispose()


def test_two_dispatchers_at_once_never_send_a_delivery_twice(store_url: str) -> None:
    engine = make_engine(store_url)
    receiver = Receiver(delay=0.4)
    dispatchers = []
    try:
        ids = _setup(engine, receiver, [("credit_line.opened", n) for n in range(1, 9)])
        dispatchers = [_dispatcher(store_url), _dispatcher(store_url)]
        _wait(lambda: _delivered(engine) == 8, 60, "every delivery to be recorded delivered")
    finally:
        for process in dispatchers:
            process.send_signal(signal.SIGTERM)
        for process in dispatchers:
            process.communicate(timeout=20)
        receiver.close()
    assert sorted(r.webhook_id for r in receiver.received) == sorted(ids)  # each exactly once
    assert [process.returncode for process in dispatchers] == [0, 0]
    engine.dispose()


def test_credit_serve_with_dispatch_delivers_what_the_api_writes_and_stops_with_the_server(tmp_path) -> None:  # noqa: ANN001
    import httpx

    from api.kit.auth import create_api_key
    from tests.api.checkout.server import free_port

    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        _, admin = create_api_key(session, "ops", "admin")
        session.commit()
    receiver = Receiver()
    port = free_port()
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    server = subprocess.Popen(
        [sys.executable, "-c", "from cli import app; app()", "serve", "--dispatch", "--port", str(port),
         "--database-url", url], cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                return httpx.get(f"{base}/v1/health", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        _wait(answers, 60, "the server to answer")
        headers = {"Authorization": f"Bearer {admin}"}
        created = httpx.post(f"{base}/v1/webhook-endpoints", json={"url": receiver.url},
                             headers=headers | {"Idempotency-Key": "serve-1"}).json()
        receiver.secrets.append(created["secret"])
        # Disabling it through the API writes an event; enabled again, the endpoint receives it.
        for status in ("disabled", "enabled"):
            assert httpx.patch(f"{base}/v1/webhook-endpoints/{created['id']}", json={"status": status},
                               headers=headers).status_code == 200
        _wait(lambda: len(receiver.received) == 1, 30, "the dispatcher thread to deliver the event")
        assert receiver.received[0].event["type"] == "webhook_endpoint.disabled"
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=40)
        assert server.returncode == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
        receiver.close()
        engine.dispose()
