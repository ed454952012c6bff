"""API keys and roles: 401 without a valid key, 403 for a role an endpoint does not allow."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from api.kit.auth import create_api_key, hash_key
from api.kit.tables import ApiKey
from tests.api.conftest import ROLES, auth, make_key

# (method, path, roles allowed, needs an idempotency key and body)
GUARDED = [
    ("GET", "/v1/api-keys", {"admin"}),
    ("GET", "/v1/metrics", {"analyst", "admin"}),
    ("POST", "/v1/test/lines/7/approve", {"finance", "admin"}),
    ("POST", "/v1/test/bookings", {"checkout", "finance", "admin"}),
    ("POST", "/v1/api-keys", {"admin"}),
]


def _call(client, method, path, headers, n=0):  # noqa: ANN001
    headers = {**headers, "Idempotency-Key": f"matrix-{n}"}
    if path == "/v1/test/bookings":
        return client.request(method, path, headers=headers, json={"reference": f"m{n}", "amount": "1.00"})
    if path == "/v1/api-keys" and method == "POST":
        return client.request(method, path, headers=headers, json={"name": f"m{n}", "role": "analyst"})
    return client.request(method, path, headers=headers)


@pytest.mark.parametrize(("method", "path", "allowed"), GUARDED)
def test_each_role_gets_in_only_where_allowed(client, keys, method, path, allowed):
    for n, role in enumerate(ROLES):
        response = _call(client, method, path, auth(keys[role]), n)
        if role in allowed:
            assert response.status_code in (200, 201), (role, response.text)
        else:
            assert response.status_code == 403, role
            assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path", "allowed"), GUARDED)
def test_no_key_unknown_key_or_malformed_header_is_401(client, keys, method, path, allowed):
    wrong = ["", "mck_" + "A" * 43, "not-a-key", keys["admin"] + "x", keys["admin"][:-1] + "Z"]
    for headers in [{}, {"Authorization": "Basic Zm9vOmJhcg=="}, *[auth(k) for k in wrong if k]]:
        response = _call(client, method, path, headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_x_api_key_header_works_like_bearer(client, keys):
    assert client.get("/v1/api-keys", headers={"X-API-Key": keys["admin"]}).status_code == 200


def test_a_checkout_key_can_never_approve_a_line(client, keys):
    response = client.post("/v1/test/lines/1/approve", headers=auth(keys["checkout"]))
    assert response.status_code == 403
    assert client.post("/v1/test/lines/1/approve", headers=auth(keys["finance"])).json()["approved_by"] == "finance"


def test_a_revoked_key_is_refused_from_the_next_request(client, keys, app):
    victim = make_key(app, "finance", "leaked")
    assert client.post("/v1/test/lines/1/approve", headers=auth(victim)).status_code == 200
    key_id = next(k["key_id"] for k in client.get("/v1/api-keys", headers=auth(keys["admin"])).json()["items"]
                  if k["name"] == "leaked")
    revoked = client.delete(f"/v1/api-keys/{key_id}", headers=auth(keys["admin"]))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    response = client.post("/v1/test/lines/1/approve", headers=auth(victim))
    assert response.status_code == 401
    assert response.json()["error"] == {"code": "unauthenticated", "message": "The API key has been revoked."}
    again = client.delete(f"/v1/api-keys/{key_id}", headers=auth(keys["admin"]))
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]


def test_revoking_an_unknown_key_is_404(client, keys):
    response = client.delete("/v1/api-keys/999999", headers=auth(keys["admin"]))
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_only_the_sha256_of_a_key_is_stored(app, client):
    with app.state.sessionmaker() as session:
        key_id, plaintext = create_api_key(session, "ops", "analyst")
        session.commit()
        stored = session.get(ApiKey, key_id)
    assert stored.key_hash == hashlib.sha256(plaintext.encode()).hexdigest() == hash_key(plaintext)
    assert plaintext not in (stored.name, stored.prefix) and plaintext.startswith(stored.prefix)
    assert len(plaintext) == 47 and plaintext.startswith("mck_")


def test_an_issued_key_works_and_its_listing_never_shows_secrets(client, keys, app):
    issued = client.post("/v1/api-keys", json={"name": "shop", "role": "checkout"},
                         headers={**auth(keys["admin"]), "Idempotency-Key": "issue-1"})
    assert issued.status_code == 201
    new_key = issued.json()["key"]
    assert client.post("/v1/test/bookings", json={"reference": "r", "amount": "5"},
                       headers={**auth(new_key), "Idempotency-Key": "b"}).status_code == 201
    listing = client.get("/v1/api-keys", headers=auth(keys["admin"])).text
    with app.state.sessionmaker() as session:
        hashes = session.scalars(select(ApiKey.key_hash)).all()
    assert new_key not in listing and not any(h in listing for h in hashes)


def test_issuing_a_key_with_an_unknown_role_is_refused(client, keys):
    response = client.post("/v1/api-keys", json={"name": "x", "role": "root"},
                           headers={**auth(keys["admin"]), "Idempotency-Key": "bad-role"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"] == ["body", "role"]


def test_create_api_key_validates_its_arguments(app, client):
    with app.state.sessionmaker() as session, pytest.raises(ValueError, match="`role` must be one of"):
        create_api_key(session, "x", "superuser")
    with app.state.sessionmaker() as session, pytest.raises(ValueError, match="`name` must have"):
        create_api_key(session, "  ", "admin")


def test_an_admin_issues_a_payments_key_over_the_api(client, keys):
    issued = client.post("/v1/api-keys", json={"name": "payment-system", "role": "payments"},
                         headers=auth(keys["admin"]) | {"Idempotency-Key": "payments-key"})
    assert (issued.status_code, issued.json()["role"]) == (201, "payments")


def test_the_payments_role_migration_keeps_every_key_and_what_points_at_it_on_sqlite(tmp_path):
    # SQLite rebuilds api_keys to change its CHECK; idempotency records reference the keys and
    # must survive the rebuild with their foreign key still enforced.
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from credit.store.engine import make_engine
    from migrations import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'before.db'}")
    upgrade(engine, "0004_api_access")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO api_keys (name, role, key_hash, prefix, created_at) "
                                "VALUES ('storefront', 'checkout', 'h1', 'mck_1', '2026-01-05 10:00:00')"))
        connection.execute(text(
            "INSERT INTO idempotency_records (key_id, idempotency_key, request_method, request_path, request_hash, "
            "state, lock_token, locked_at, created_at) VALUES (1, 'k', 'POST', '/v1/x', 'h', 'in_progress', 't', "
            "'2026-01-05 10:00:00', '2026-01-05 10:00:00')"))

    upgrade(engine, "0012_payments_role")

    with engine.begin() as connection:
        assert connection.execute(text("SELECT key_id, name, role FROM api_keys")).all() == [(1, "storefront", "checkout")]
        assert connection.execute(text("SELECT key_id FROM idempotency_records")).all() == [(1,)]
        connection.execute(text("INSERT INTO api_keys (name, role, key_hash, prefix, created_at) "
                                "VALUES ('payment-system', 'payments', 'h2', 'mck_2', '2026-01-05 10:00:00')"))
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO idempotency_records (key_id, idempotency_key, request_method, request_path, request_hash, "
            "state, lock_token, locked_at, created_at) VALUES (99, 'k', 'POST', '/v1/x', 'h', 'in_progress', 't', "
            "'2026-01-05 10:00:00', '2026-01-05 10:00:00')"))
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("INSERT INTO api_keys (name, role, key_hash, prefix, created_at) "
                                "VALUES ('x', 'boss', 'h3', 'mck_3', '2026-01-05 10:00:00')"))
    engine.dispose()


def test_api_keys_page_newest_first_by_cursor(client, keys, app):
    from credit.paging import encode_cursor

    admin = auth(keys["admin"])
    every = [k["key_id"] for k in client.get("/v1/api-keys?limit=500", headers=admin).json()["items"]]
    assert every == sorted(every, reverse=True) and len(every) == 5  # one key per role
    first = client.get("/v1/api-keys?limit=2", headers=admin).json()
    assert [k["key_id"] for k in first["items"]] == every[:2]
    assert first["next_cursor"] == encode_cursor("api-key", every[1])
    second = client.get(f"/v1/api-keys?limit=2&cursor={first['next_cursor']}", headers=admin).json()
    third = client.get(f"/v1/api-keys?limit=2&cursor={second['next_cursor']}", headers=admin).json()
    assert ([k["key_id"] for k in second["items"]], [k["key_id"] for k in third["items"]]) == (every[2:4], every[4:])
    assert third["next_cursor"] is None
    refused = client.get(f"/v1/api-keys?cursor={encode_cursor('hold', 2)}", headers=admin)
    assert (refused.status_code, refused.json()["error"]["details"][0]["loc"]) == (422, ["query", "cursor"])


def test_the_clients_migration_makes_each_key_name_a_client_and_scopes_its_records_by_it_on_sqlite(tmp_path):
    # Before 0020 the key's name scoped holds, references and decisions: keys that shared a name
    # become one client, and their idempotency records take it.
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from credit.store.engine import make_engine
    from migrations import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'before.db'}")
    upgrade(engine, "0012_payments_role")
    record = ("INSERT INTO idempotency_records (key_id, idempotency_key, request_method, request_path, request_hash, "
              "state, lock_token, locked_at, created_at) VALUES ({key}, '{idem}', 'POST', '/v1/x', 'h', 'in_progress', "
              "'t', '2026-01-05 10:00:00', '2026-01-05 10:00:00')")
    with engine.begin() as connection:
        for name, role, digest in [("storefront", "checkout", "h1"), ("storefront", "checkout", "h2"),
                                   ("payment-system", "payments", "h3")]:
            connection.execute(text("INSERT INTO api_keys (name, role, key_hash, prefix, created_at) "
                                    f"VALUES ('{name}', '{role}', '{digest}', 'mck_1', '2026-01-05 10:00:00')"))
        for key, idem in [(1, "a"), (2, "b"), (3, "a")]:
            connection.execute(text(record.format(key=key, idem=idem)))

    upgrade(engine)

    with engine.begin() as connection:
        assert connection.execute(text("SELECT key_id, name, client FROM api_keys ORDER BY key_id")).all() == [
            (1, "storefront", "storefront"), (2, "storefront", "storefront"), (3, "payment-system", "payment-system")]
        assert connection.execute(text(
            "SELECT key_id, client, idempotency_key FROM idempotency_records ORDER BY record_id")).all() == [
            (1, "storefront", "a"), (2, "storefront", "b"), (3, "payment-system", "a")]
    with pytest.raises(IntegrityError), engine.begin() as connection:  # key 2's client used "a" already (key 1)
        connection.execute(text(record.format(key=2, idem="a").replace(
            "(key_id, idempotency_key,", "(key_id, client, idempotency_key,").replace("VALUES (2, ", "VALUES (2, 'storefront', ")))
    with pytest.raises(IntegrityError), engine.begin() as connection:  # still a foreign key to the keys
        connection.execute(text(record.format(key=99, idem="z").replace(
            "(key_id, idempotency_key,", "(key_id, client, idempotency_key,").replace("VALUES (99, ", "VALUES (99, 'x', ")))
    engine.dispose()
