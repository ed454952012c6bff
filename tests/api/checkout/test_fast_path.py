"""The authorization's fast path (api/checkout/fast_path.py) answers as the FastAPI route does.

Each case sends one request the fast path answers (``Content-Type: application/json``) and its
twin the fast path hands to the FastAPI route (``application/json; charset=utf-8``: same body,
its own order reference and Idempotency-Key), and compares what comes back.
"""

from __future__ import annotations

import re
import sqlite3

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from starlette.requests import Request

from api.checkout import fast_path
from api.kit.db import kept_unit_of_work
from tests.api.checkout.factories import make_buyer_with_line
from tests.api.conftest import auth

FAST = "application/json"
ROUTED = "application/json; charset=utf-8"


@pytest.fixture
def handed_on(monkeypatch):  # noqa: ANN001, ANN201
    """The content types of the requests the fast path handed to the router."""
    seen: list[str] = []
    original = fast_path.AuthorizeFastPath._hand_on

    async def counting(self, scope, receive, send, body):  # noqa: ANN001, ANN202
        seen.append(dict(scope["headers"]).get(b"content-type", b"").decode())
        await original(self, scope, receive, send, body)

    monkeypatch.setattr(fast_path.AuthorizeFastPath, "_hand_on", counting)
    return seen


def _post(client, key, content_type, body, idem, extra=None):  # noqa: ANN001, ANN202
    return client.post("/v1/checkout/authorizations", content=body,
                       headers=auth(key) | {"Idempotency-Key": idem, "Content-Type": content_type} | (extra or {}))


def _order(buyer: int, reference: str, amount: str) -> str:
    return f'{{"buyer_id": {buyer}, "order_reference": "{reference}", "amount": "{amount}"}}'


def _without_ids(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k not in ("hold_id", "decision_id", "order_reference", "expires_at")}


def test_an_approval_and_a_decline_are_the_same_answer_on_both_paths(client, app, keys, handed_on):
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    key = keys["checkout"]
    fast = _post(client, key, FAST, _order(buyer, "PO-1", "300.00"), "k1")
    routed = _post(client, key, ROUTED, _order(buyer, "PO-2", "300.00"), "k2")
    assert handed_on == [ROUTED]
    assert (fast.status_code, routed.status_code) == (201, 201)
    assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
    first, second = fast.json(), routed.json()
    # Worked out: a 1,000.00 line, 300.00 held by each; the second sees the first's hold.
    assert (first["balances"]["pending"], first["balances"]["available"]) == ("300.00", "700.00")
    assert (second["balances"]["pending"], second["balances"]["available"]) == ("600.00", "400.00")
    assert _without_ids(first) | {"balances": None} == _without_ids(second) | {"balances": None}
    # Over what is left (400.00): declined (200) on both paths, nothing held.
    fast = _post(client, key, FAST, _order(buyer, "PO-3", "500.00"), "k3")
    routed = _post(client, key, ROUTED, _order(buyer, "PO-4", "500.00"), "k4")
    assert (fast.status_code, routed.status_code) == (200, 200)
    assert fast.json()["decline_code"] == routed.json()["decline_code"] == "limit_exceeded"
    assert _without_ids(fast.json()) == _without_ids(routed.json())


def test_a_replay_of_a_fast_answer_is_its_bytes(client, app, keys, handed_on):
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    body = _order(buyer, "PO-R", "10.00")
    first = _post(client, keys["checkout"], FAST, body, "replayed")
    again = _post(client, keys["checkout"], FAST, body, "replayed")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert handed_on == []  # the replay was raised by the claim, inside the fast path


@pytest.mark.parametrize("case", ["unknown_firm", "duplicate_reference", "forbidden", "unauthenticated",
                                  "idempotency_key_reused"])
def test_refusals_are_the_same_error_on_both_paths(client, app, keys, handed_on, case):
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    key = {"forbidden": keys["finance"], "unauthenticated": "mck_" + "x" * 43}.get(case, keys["checkout"])
    answers = []
    for content_type, tag in ((FAST, "f"), (ROUTED, "r")):
        reference = f"PO-{case}-{tag}"
        if case == "duplicate_reference":
            _post(client, key, content_type, _order(buyer, reference, "1.00"), f"{case}-{tag}-first")
        if case == "idempotency_key_reused":
            _post(client, key, content_type, _order(buyer, reference, "1.00"), f"{case}-{tag}")
        target = 999_999_999 if case == "unknown_firm" else buyer
        response = _post(client, key, content_type, _order(target, reference, "2.00"), f"{case}-{tag}")
        answers.append((response.status_code, response.json()["error"]))
    (fast_status, fast_error), (routed_status, routed_error) = answers
    assert fast_error["code"] == case
    assert fast_status == routed_status
    for error in (fast_error, routed_error):  # the references and the holds named differ, nothing else
        error.pop("details", None)
        error["message"] = re.sub(r"PO-[a-z_]+-[fr]|[0-9]+", "", error["message"])
    assert fast_error == routed_error
    assert handed_on == [ROUTED] * (2 if case in ("duplicate_reference", "idempotency_key_reused") else 1)


@pytest.mark.parametrize("variation", [
    {"content": '{"buyer_id": 1, "order_reference": "PO-\\u0001", "amount": "1.00"}'},  # an escape
    {"content": '{"buyer_id": 1, "order_reference": "PO-x", "amount": "-1.00"}'},  # the model refuses it
    {"content": "not json"},
    {"idem": ""},  # no Idempotency-Key header
    {"content_type": "text/plain"},
])
def test_anything_unusual_is_handed_to_the_fastapi_route(client, keys, handed_on, variation):
    headers = auth(keys["checkout"]) | {"Content-Type": variation.get("content_type", FAST)}
    if variation.get("idem", "k"):
        headers["Idempotency-Key"] = "k"
    response = client.post("/v1/checkout/authorizations",
                           content=variation.get("content", '{"buyer_id": 1, "order_reference": "PO", "amount": "1"}'),
                           headers=headers)
    assert len(handed_on) == 1
    assert 400 <= response.status_code < 500  # the FastAPI route's own refusal (tests/api/checkout cover which)


def test_the_openapi_document_has_no_trace_of_the_fast_path(app):
    assert isinstance(app.router.routes[0], fast_path.AuthorizeFastPath)
    operation = app.openapi()["paths"][fast_path.PATH]["post"]
    assert operation["operationId"].startswith("authorize")


def test_sqlite_authorizations_share_one_kept_connection_given_back_at_shutdown(app, keys, handed_on):
    with TestClient(app) as client:
        buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
        answers = [_post(client, keys["checkout"], FAST, _order(buyer, "PO-K0", "10.00"), "kept-0")]
        kept, checked_out = app.state.kept_connection, app.state.engine.pool.checkedout()
        answers += [_post(client, keys["checkout"], FAST, _order(buyer, f"PO-K{i}", "10.00"), f"kept-{i}")
                    for i in (1, 2)]
        assert [answer.status_code for answer in answers] == [201, 201, 201]
        assert app.state.kept_connection is kept and not kept.closed and not kept.in_transaction()
        assert app.state.engine.pool.checkedout() == checked_out  # no other connection taken from the pool
        # Worked out: 10.00 held three times on one line, each seeing the ones before it on the same connection.
        assert [answer.json()["balances"]["pending"] for answer in answers] == ["10.00", "20.00", "30.00"]
    assert handed_on == []
    assert app.state.kept_connection is None and kept.closed


def test_a_kept_connection_in_a_transaction_is_left_to_it(app, keys):
    with TestClient(app) as client:
        buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
        assert _post(client, keys["checkout"], FAST, _order(buyer, "PO-T1", "10.00"), "t-1").status_code == 201
        kept = app.state.kept_connection
        kept.begin()  # as if a unit of work on it were still open
        try:
            request = Request({"type": "http", "app": app, "headers": []})
            session, _ = kept_unit_of_work(request)
            assert session.connection() is not kept  # a pooled connection of its own
            session.close()
        finally:
            kept.rollback()


def test_an_unknown_key_is_refused_without_the_write_lock(app, keys, settings):
    # Another writer holds SQLite's write lock: a 401 must not wait for it (it would wait the busy
    # timeout, 30 s, and fail with "database is locked"), as CallerDep's autocommit read does not.
    with TestClient(app) as client:
        buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
        assert _post(client, keys["checkout"], FAST, _order(buyer, "PO-L1", "1.00"), "l-1").status_code == 201
        writer = sqlite3.connect(make_url(settings.resolved_database_url()).database, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        try:
            refused = _post(client, "mck_" + "y" * 43, FAST, _order(buyer, "PO-L2", "1.00"), "l-2")
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        assert (refused.status_code, refused.json()["error"]["code"]) == (401, "unauthenticated")
