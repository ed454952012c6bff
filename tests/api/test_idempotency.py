"""Idempotency-Key: replays, refusals, crashes and concurrent duplicates never book twice."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from api.kit import idempotency
from api.kit.auth import create_api_key, revoke_api_key, rotate_api_key
from api.kit.errors import Conflict
from api.kit.idempotency import IdempotentRequest, _claim, request_fingerprint
from api.kit.tables import ApiKey, IdempotencyRecord
from tests.api.conftest import LiveServer, auth, build_app, count_bookings, make_key

BOOKING = {"reference": "order-1", "amount": "125.50"}


def _post(client, key, idem, body=BOOKING, path="/v1/test/bookings"):  # noqa: ANN001
    headers = {**auth(key), **({"Idempotency-Key": idem} if idem is not None else {})}
    return client.post(path, json=body, headers=headers)


def test_same_key_and_body_replays_the_stored_response_exactly(client, keys, app):
    first = _post(client, keys["finance"], "key-1")
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    assert first.json() == {"reference": "order-1", "amount_minor": 12550, "amount": "125.50", "booked_by": "test-finance"}
    again = _post(client, keys["finance"], "key-1", body={"amount": "125.50", "reference": "order-1"})
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_bookings(app, "order-1") == 1


def test_same_key_with_a_different_body_is_refused(client, keys, app):
    assert _post(client, keys["finance"], "key-1").status_code == 201
    response = _post(client, keys["finance"], "key-1", body={**BOOKING, "amount": "999.00"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert count_bookings(app, "order-1") == 1


def test_same_key_on_another_path_is_refused(client, keys):
    assert _post(client, keys["admin"], "key-1").status_code == 201
    response = _post(client, keys["admin"], "key-1", body={"name": "x", "role": "analyst"}, path="/v1/api-keys")
    assert response.status_code == 422 and response.json()["error"]["code"] == "idempotency_key_reused"


def test_keys_are_scoped_to_the_client(client, keys, app):
    assert _post(client, keys["finance"], "shared").status_code == 201
    other = _post(client, keys["checkout"], "shared")
    assert other.status_code == 201 and "idempotent-replayed" not in other.headers
    assert count_bookings(app, "order-1") == 2


def test_a_retry_under_the_rotated_key_replays_instead_of_booking_twice(client, keys, app):
    first = _post(client, keys["checkout"], "order-1-attempt")
    assert first.status_code == 201
    with app.state.sessionmaker() as session:
        old_id = session.scalar(select(ApiKey.key_id).where(ApiKey.name == "test-checkout"))
        old, new_id, rotated = rotate_api_key(session, old_id)
        revoke_api_key(session, old_id)
        session.commit()
        new = session.get(ApiKey, new_id)
        assert (new.name, new.client, new.role, old.client) == ("test-checkout", "test-checkout", "checkout",
                                                                "test-checkout")
    assert _post(client, keys["checkout"], "order-1-attempt").status_code == 401  # the old key is revoked
    retried = _post(client, rotated, "order-1-attempt")
    assert retried.status_code == 201 and retried.headers["Idempotent-Replayed"] == "true"
    assert retried.content == first.content
    assert count_bookings(app, "order-1") == 1
    with app.state.sessionmaker() as session:
        assert session.scalars(select(IdempotencyRecord.client)).all() == ["test-checkout"]


def test_two_clients_with_keys_of_the_same_name_are_kept_apart(client, keys, app):
    with app.state.sessionmaker() as session:
        _, shop_a = create_api_key(session, "shop", "checkout", client="shop-a")
        _, shop_b = create_api_key(session, "shop", "checkout", client="shop-b")
        session.commit()
    assert _post(client, shop_a, "same").status_code == 201
    other = _post(client, shop_b, "same")
    assert other.status_code == 201 and "idempotent-replayed" not in other.headers
    assert count_bookings(app, "order-1") == 2


def test_a_revoked_key_is_not_rotated(app, client, keys):
    with app.state.sessionmaker() as session:
        key_id = session.scalar(select(ApiKey.key_id).where(ApiKey.name == "test-checkout"))
        revoke_api_key(session, key_id)
        with pytest.raises(Conflict) as refused:
            rotate_api_key(session, key_id)
        assert refused.value.code == "key_revoked"


def test_a_refused_role_gets_403_without_a_claim(client, keys, app, monkeypatch):
    """The role check runs before the claim: no claim is tried, and a claimed key does not turn the 403 into a 409."""
    claims: list[str] = []

    def counted_claim(engine, key_id, client, key, *arguments):  # noqa: ANN001, ANN202
        claims.append(key)
        return _claim(engine, key_id, client, key, *arguments)

    monkeypatch.setattr(idempotency, "_claim", counted_claim)
    refused = _post(client, keys["analyst"], "key-1")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert refused.json()["error"]["message"] == ("This endpoint is for the roles: checkout, finance, admin; "
                                                  "the key's role is analyst.")
    assert _post(client, keys["analyst"], None).status_code == 403  # before the header is even looked at
    assert claims == []
    analyst_id = _key_id(client, keys, "test-analyst")
    _claim(app.state.engine, analyst_id, "test-analyst", "held", "POST", "/v1/test/bookings", "h",
           timedelta(seconds=60))
    assert _post(client, keys["analyst"], "held").status_code == 403  # not 409 in progress
    assert claims == []
    assert _post(client, keys["finance"], "key-1").status_code == 201
    assert claims == ["key-1"]


def test_missing_or_malformed_key_is_a_400(client, keys):
    missing = _post(client, keys["finance"], None)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "idempotency_key_required"
    for bad in [b"", b"has space", b"x" * 256, "é".encode(), b"tab\there"]:
        response = client.post("/v1/test/bookings", json=BOOKING, headers={**auth(keys["finance"]), "Idempotency-Key": bad})
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "idempotency_key_invalid", bad


def test_a_failed_request_releases_its_key_and_rolls_back_its_writes(client, keys, app):
    refused = _post(client, keys["finance"], "key-1", body={**BOOKING, "refuse": True})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "booking_refused"
    assert count_bookings(app, "order-1") == 0
    retried = _post(client, keys["finance"], "key-1", body={**BOOKING, "refuse": True})
    assert retried.status_code == 409 and "idempotent-replayed" not in retried.headers
    with app.state.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


def test_a_route_that_forgets_respond_commits_nothing(client, keys, app):
    response = client.post("/v1/test/forgetful", headers={**auth(keys["admin"]), "Idempotency-Key": "f"})
    assert response.status_code == 500
    with app.state.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    assert "forgetful" not in client.get("/v1/api-keys", headers=auth(keys["admin"])).text


def test_a_key_whose_process_died_is_taken_over_after_the_lease(client, keys, app):
    """The first attempt claimed the key and died: no completed record, no business writes."""
    fingerprint = request_fingerprint("POST", "/v1/test/bookings", b'{"reference":"order-1","amount":"125.50"}')
    finance_id = _key_id(client, keys, "test-finance")
    record_id, _dead_token = _claim(app.state.engine, finance_id, "test-finance", "key-1", "POST",
                                    "/v1/test/bookings", fingerprint, timedelta(seconds=60))
    in_progress = _post(client, keys["finance"], "key-1")
    assert in_progress.status_code == 409
    assert in_progress.json()["error"]["code"] == "idempotency_request_in_progress"
    with app.state.sessionmaker.begin() as session:  # the lease runs out
        session.execute(update(IdempotencyRecord).values(locked_at=datetime(2000, 1, 1)))
    taken_over = _post(client, keys["finance"], "key-1")
    assert taken_over.status_code == 201 and "idempotent-replayed" not in taken_over.headers
    assert count_bookings(app, "order-1") == 1
    assert _post(client, keys["finance"], "key-1").headers["Idempotent-Replayed"] == "true"


def test_a_slow_attempt_whose_key_was_taken_over_cannot_commit(client, keys, app):
    finance_id = _key_id(client, keys, "test-finance")
    engine = app.state.engine
    record_id, slow_token = _claim(engine, finance_id, "test-finance", "key-1", "POST", "/p", "h",
                                   timedelta(seconds=60))
    with app.state.sessionmaker.begin() as session:
        session.execute(update(IdempotencyRecord).values(locked_at=datetime(2000, 1, 1)))
    retry_id, retry_token = _claim(engine, finance_id, "test-finance", "key-1", "POST", "/p", "h",
                                   timedelta(seconds=60))
    assert retry_id == record_id and retry_token != slow_token
    with app.state.sessionmaker() as session:
        with pytest.raises(Conflict):
            IdempotentRequest(session, record_id, slow_token).respond({"booked": "slow"}, 201)
        session.rollback()
    with app.state.sessionmaker() as session:
        IdempotentRequest(session, retry_id, retry_token).respond({"booked": "retry"}, 201)
        session.commit()
        record = session.get(IdempotencyRecord, record_id)
        assert (record.state, record.response_body) == ("completed", '{"booked":"retry"}')


def test_replaying_a_key_issue_never_returns_the_secret_again(client, keys):
    headers = {**auth(keys["admin"]), "Idempotency-Key": "issue"}
    first = client.post("/v1/api-keys", json={"name": "shop", "role": "checkout"}, headers=headers)
    replay = client.post("/v1/api-keys", json={"name": "shop", "role": "checkout"}, headers=headers)
    assert first.json()["key"].startswith("mck_")
    assert replay.json() == {**first.json(), "key": None}
    assert replay.headers["Idempotent-Replayed"] == "true"


def _key_id(client, keys, name):  # noqa: ANN001
    items = client.get("/v1/api-keys", headers=auth(keys["admin"])).json()["items"]
    return next(k["key_id"] for k in items if k["name"] == name)


def test_concurrent_duplicates_execute_exactly_once(store_settings):
    """16 identical requests at once on a real server: one books, the others replay or wait."""
    app = build_app(store_settings)
    with LiveServer(app) as server:
        key = make_key(app, "checkout", "till-1")
        body = {**BOOKING, "reference": "concurrent", "delay_seconds": 0.3}
        barrier = threading.Barrier(16)
        results: list[httpx.Response] = []
        lock = threading.Lock()

        def send() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                barrier.wait()
                response = http.post("/v1/test/bookings", json=body,
                                     headers={**auth(key), "Idempotency-Key": "same-order"})
            with lock:
                results.append(response)

        threads = [threading.Thread(target=send) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        statuses = sorted((r.status_code, r.headers.get("idempotent-replayed", "")) for r in results)
        executed = [r for r in results if r.status_code == 201 and "idempotent-replayed" not in r.headers]
        assert len(results) == 16
        assert len(executed) == 1, statuses
        for response in results:
            if response.status_code == 409:
                assert response.json()["error"]["code"] == "idempotency_request_in_progress"
            else:
                assert response.status_code == 201 and response.content == executed[0].content, statuses
        assert count_bookings(app, "concurrent") == 1
        with httpx.Client(base_url=server.url) as http:
            replay = http.post("/v1/test/bookings", json=body, headers={**auth(key), "Idempotency-Key": "same-order"})
        assert replay.headers["Idempotent-Replayed"] == "true" and replay.content == executed[0].content
        assert count_bookings(app, "concurrent") == 1


def test_concurrent_requests_with_different_keys_all_execute(store_settings):
    app = build_app(store_settings)
    with LiveServer(app) as server:
        key = make_key(app, "checkout", "till-2")
        barrier = threading.Barrier(8)
        statuses: list[int] = []

        def send(n: int) -> None:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                barrier.wait()
                response = http.post("/v1/test/bookings", json={**BOOKING, "reference": "many"},
                                     headers={**auth(key), "Idempotency-Key": f"order-{n}"})
            statuses.append(response.status_code)

        threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert statuses == [201] * 8
        assert count_bookings(app, "many") == 8
