"""Authorizations that arrive together share one transaction (api/checkout/group_commit.py), and answer as alone.

The requests are sent to the app at once, in its own event loop (as a loaded server reads
several in one turn of its loop), so the fast path finds them all waiting for one batch. The
store's COMMITs and ROLLBACKs are counted: together, a batch commits once; when one of its
authorizations raises, the batch rolls back and each runs alone, committing its own.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import threading

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from api.checkout import group_commit
from api.checkout.fast_path import AuthorizeFastPath
from api.kit import idempotency
from api.kit.tables import IdempotencyRecord
from credit.audit.tables import DecisionRecord
from credit.events.tables import Event
from credit.ledger.tables import Hold
from tests.api.checkout.factories import make_buyer_with_line
from tests.api.conftest import build_app, make_key


@pytest.fixture
def served(store_settings):  # noqa: ANN001, ANN201
    """The app running (its lifespan) on SQLite and on PostgreSQL, a checkout key, and its transaction counts."""
    yield from _serve(store_settings)


@pytest.fixture
def served_on_sqlite(settings):  # noqa: ANN001, ANN201
    """As ``served``, on a SQLite file only."""
    yield from _serve(settings)


def _serve(settings):  # noqa: ANN001, ANN202
    app = build_app(settings)
    with TestClient(app) as client:
        ends = {"commit": 0, "rollback": 0}
        for name in ends:
            event.listen(app.state.engine, name, lambda _connection, name=name: ends.__setitem__(name, ends[name] + 1))
        yield app, client, make_key(app, "checkout"), ends


async def _asgi_call(app: FastAPI, key: str, idempotency_key: str, body: dict) -> tuple[int, dict, dict]:
    """One authorization sent to the app as ASGI; its (status, JSON, headers)."""
    raw = json.dumps(body).encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/checkout/authorizations", "raw_path": b"/v1/checkout/authorizations",
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
             "headers": [(b"host", b"test"), (b"authorization", f"Bearer {key}".encode()),
                         (b"idempotency-key", idempotency_key.encode()), (b"content-type", b"application/json"),
                         (b"content-length", str(len(raw)).encode())]}
    sent, out = False, []

    async def receive() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await asyncio.Event().wait()
        return {}

    async def send(message: dict) -> None:
        out.append(message)

    await app(scope, receive, send)
    body_bytes = b"".join(message.get("body", b"") for message in out if message["type"] == "http.response.body")
    headers = {name.decode(): value.decode() for name, value in out[0]["headers"]}
    return out[0]["status"], json.loads(body_bytes), headers


async def _asgi_calls(app: FastAPI, requests: list[tuple[str, str, dict]]) -> list[tuple[int, dict, dict]]:
    """(key, Idempotency-Key, body) sent at once to the app; (status, JSON, headers) in the same order."""
    return list(await asyncio.gather(*(_asgi_call(app, *request) for request in requests)))


def _send_together(client: TestClient, app: FastAPI, requests: list[tuple[str, str, dict]]) -> list[tuple[int, dict, dict]]:
    """The requests sent at once in the app's own event loop (its lifespan's), as a loaded server reads them."""

    async def together() -> list[tuple[int, dict, dict]]:
        return await _asgi_calls(app, requests)

    return client.portal.call(together)


def _batches(app: FastAPI) -> int:
    route = app.router.routes[0]
    assert isinstance(route, AuthorizeFastPath)
    return route.group_commit.batches


def _count(app: FastAPI, table, *where) -> int:  # noqa: ANN001
    with app.state.sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(table).where(*where))


def _order(buyer: int, reference: str, amount: str) -> dict:
    return {"buyer_id": buyer, "order_reference": reference, "amount": amount}


def test_authorizations_sent_together_commit_once_and_each_sees_the_ones_before(served):
    app, client, key, ends = served
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    batches, commits = _batches(app), ends["commit"]
    answers = _send_together(client, app, [(key, f"t-{i}", _order(buyer, f"PO-{i}", "300.00")) for i in range(5)])
    assert _batches(app) - batches == 1 and ends["commit"] - commits == 1
    # Worked out: a 1,000.00 line; 300.00 held three times in order of arrival, then 100.00 is left.
    assert [status for status, _, _ in answers] == [201, 201, 201, 200, 200]
    assert [answer["balances"]["pending"] for _, answer, _ in answers] == ["300.00", "600.00", "900.00",
                                                                            "900.00", "900.00"]
    assert [answer.get("decline_code") for _, answer, _ in answers[3:]] == ["limit_exceeded", "limit_exceeded"]
    assert len({answer["decision_id"] for _, answer, _ in answers}) == 5
    assert _count(app, Hold, Hold.line_id.isnot(None), Hold.order_reference.like("PO-%")) == 3
    assert _count(app, DecisionRecord, DecisionRecord.kind == "checkout") == 5
    assert _count(app, Event, Event.type.in_(["authorization.approved", "authorization.declined"])) == 5
    assert _count(app, IdempotencyRecord, IdempotencyRecord.state == "completed") == 5


def test_a_refusal_in_a_batch_rolls_it_back_and_each_runs_alone(served):
    app, client, key, ends = served
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    batches, commits, rollbacks = _batches(app), ends["commit"], ends["rollback"]
    answers = _send_together(client, app, [
        (key, "r-1", _order(buyer, "PO-A", "100.00")),
        (key, "r-2", _order(buyer, "PO-A", "100.00")),  # the same order under a new key: 409
        (key, "r-3", _order(999_999_999, "PO-C", "100.00")),  # no such firm: 404
        (key, "r-4", _order(buyer, "PO-B", "100.00")),
    ])
    assert [status for status, _, _ in answers] == [201, 409, 404, 201]
    assert [answers[1][1]["error"]["code"], answers[2][1]["error"]["code"]] == ["duplicate_reference", "unknown_firm"]
    # Alone, in order: the two approvals hold 100.00 each, the first sees none before it.
    assert [answers[0][1]["balances"]["pending"], answers[3][1]["balances"]["pending"]] == ["100.00", "200.00"]
    assert _batches(app) - batches == 1
    # The batch's rollback, then each alone: two commits, two rollbacks (the refusals).
    assert (ends["commit"] - commits, ends["rollback"] - rollbacks) == (2, 3)
    assert _count(app, Hold, Hold.order_reference.in_(["PO-A", "PO-B"])) == 2
    assert _count(app, IdempotencyRecord, IdempotencyRecord.idempotency_key.in_(["r-1", "r-2", "r-3", "r-4"])) == 2


def test_a_retry_in_the_same_batch_replays_the_first_answer(served):
    app, client, key, _ = served
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    body = _order(buyer, "PO-R", "10.00")
    (first, first_body, first_headers), (again, again_body, again_headers) = _send_together(
        client, app, [(key, "same", body), (key, "same", body)])
    assert (first, again) == (201, 201)
    assert again_body == first_body and again_headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first_headers
    assert _count(app, Hold, Hold.order_reference == "PO-R") == 1


def test_an_unknown_key_is_answered_alone_while_the_others_commit_together(served):
    app, client, key, ends = served
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    commits = ends["commit"]
    answers = _send_together(client, app, [
        (key, "u-1", _order(buyer, "PO-U1", "10.00")),
        ("mck_" + "y" * 43, "u-2", _order(buyer, "PO-U2", "10.00")),
        (key, "u-3", _order(buyer, "PO-U3", "10.00")),
    ])
    assert [status for status, _, _ in answers] == [201, 401, 201]
    assert answers[1][1]["error"]["code"] == "unauthenticated"
    assert [answers[0][1]["balances"]["pending"], answers[2][1]["balances"]["pending"]] == ["10.00", "20.00"]
    assert ends["commit"] - commits == 1


def test_a_request_that_comes_as_a_batch_ends_gets_a_batch_of_its_own(served, monkeypatch):
    # A request can reach the fast path after the batch runner's last look for work and before
    # its task is cleaned up (on a uvicorn worker: the next request of a client just answered).
    # Played here by a request whose task is created inside the runner's last step.
    app, client, key, _ = served
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    late: list[asyncio.Task] = []
    run_sql = group_commit.run_sql

    async def run_then_a_request_comes(*arguments: object) -> object:
        answers = await run_sql(*arguments)
        if not late:
            late.append(asyncio.get_running_loop().create_task(
                _asgi_call(app, key, "late", _order(buyer, "PO-LATE", "1.00"))))
        return answers

    monkeypatch.setattr(group_commit, "run_sql", run_then_a_request_comes)

    async def scenario() -> tuple[int, int]:
        (early, _, _), = await _asgi_calls(app, [(key, "early", _order(buyer, "PO-EARLY", "1.00"))])
        status, answer, _ = await asyncio.wait_for(late[0], 10)
        return early, status, answer["balances"]["pending"]

    assert client.portal.call(scenario) == (201, 201, "2.00")


def test_a_batch_waiting_for_another_writer_leaves_the_loop_free_and_takes_whoever_arrives(served_on_sqlite,
                                                                                           monkeypatch):
    # Another writer (another worker process, played by an flock on a file description of its own)
    # holds the store's writer lock. The first authorization waits for it without blocking the
    # event loop, so the three sent after it are read and join its batch once the lock is free.
    # Counted in turns of the loop, not seconds: the faketime pass of `make test-dates` freezes timers.
    app, client, key, ends = served_on_sqlite
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    monkeypatch.setattr(group_commit, "TURN_POLL_SECONDS", 0)  # try again at every turn of the loop
    monkeypatch.setattr(group_commit, "TURN_PATIENCE_SECONDS", 3600)
    other_writer = os.open(app.state.engine.url.database + "-writer", os.O_RDWR | os.O_CREAT)
    fcntl.flock(other_writer, fcntl.LOCK_EX)
    released = threading.Lock()

    def let_go() -> None:  # closing the file gives its lock back
        if released.acquire(blocking=False):
            os.close(other_writer)

    # Should the first wait with its loop blocked (the bug), only another thread can let go: a
    # failure then, not a hang.
    rescue = threading.Timer(10, let_go)
    rescue.daemon = True
    rescue.start()
    batches, commits = _batches(app), ends["commit"]

    async def turns(count: int) -> None:
        for _ in range(count):
            await asyncio.sleep(0)

    async def scenario() -> list[tuple[int, dict, dict]]:
        try:
            loop = asyncio.get_running_loop()
            first = loop.create_task(_asgi_call(app, key, "w-0", _order(buyer, "PO-W0", "1.00")))
            await turns(50)
            assert not first.done()  # waiting for the lock, and the loop goes on
            rest = loop.create_task(_asgi_calls(app, [(key, f"w-{i}", _order(buyer, f"PO-W{i}", "1.00"))
                                                      for i in (1, 2, 3)]))
            await turns(50)
            assert not first.done() and not rest.done()
        finally:
            let_go()
        return [await first, *await rest]

    try:
        answers = client.portal.call(scenario)
    finally:
        rescue.cancel()
    assert [(status, answer["balances"]["pending"]) for status, answer, _ in answers] == [
        (201, "1.00"), (201, "2.00"), (201, "3.00"), (201, "4.00")]
    assert _batches(app) - batches == 1 and ends["commit"] - commits == 1


def test_the_key_and_the_fingerprint_are_worked_out_before_the_batch_on_sqlite(served, monkeypatch):
    # Worker processes take turns at SQLite's one write lock, which a batch holds from its start
    # to its COMMIT: what needs no transaction is done as each request arrives. On a database
    # server the key is looked up in the batch's own transaction (it sees every revocation).
    app, client, key, _ = served
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    in_batch, seen = [False], {"lookup": [], "fingerprint": []}
    run, authenticate_on, fingerprint = (group_commit.GroupCommit._run, group_commit.authenticate_on,
                                         idempotency.request_fingerprint)

    def batch(self, *arguments):  # noqa: ANN001, ANN002, ANN202
        in_batch[0] = True
        try:
            return run(self, *arguments)
        finally:
            in_batch[0] = False

    def looked_up(*arguments):  # noqa: ANN002, ANN202
        seen["lookup"].append(in_batch[0])
        return authenticate_on(*arguments)

    def fingerprinted(*arguments):  # noqa: ANN002, ANN202
        seen["fingerprint"].append(in_batch[0])
        return fingerprint(*arguments)

    monkeypatch.setattr(group_commit.GroupCommit, "_run", batch)
    monkeypatch.setattr(group_commit, "authenticate_on", looked_up)
    monkeypatch.setattr(idempotency, "request_fingerprint", fingerprinted)
    batches = _batches(app)
    answers = _send_together(client, app, [(key, f"b-{i}", _order(buyer, f"PO-B{i}", "10.00")) for i in range(3)]
                             + [("mck_" + "z" * 43, "b-x", _order(buyer, "PO-BX", "10.00"))])
    assert [status for status, _, _ in answers] == [201, 201, 201, 401]
    assert [answer["balances"]["pending"] for _, answer, _ in answers[:3]] == ["10.00", "20.00", "30.00"]
    assert _batches(app) - batches == 1
    on_sqlite = app.state.engine.dialect.name == "sqlite"
    assert seen == {"lookup": [not on_sqlite] * 4, "fingerprint": [False] * 4}
