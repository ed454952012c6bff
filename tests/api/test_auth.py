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
