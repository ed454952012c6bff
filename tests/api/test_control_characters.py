"""NUL and other control characters in what a client sends: a 422 naming the field, on every route, both stores."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.kit.tables import ApiKey
from credit.text import control_character, escape_controls
from tests.api.conftest import ROLES, auth, build_app, count_bookings, make_key


def _refusal(response, loc: list, character: str) -> None:  # noqa: ANN001
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["details"] == [{
        "loc": loc, "type": "string_control_character",
        "msg": f"Text must not contain control characters (found {character}); only tab, line feed and "
               "carriage return are allowed."}]
    assert error["message"].startswith(".".join(str(part) for part in loc) + ": ")


@pytest.fixture
def store_client(store_settings):  # noqa: ANN001, ANN201
    app = build_app(store_settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, app, {role: make_key(app, role) for role in ROLES}


def test_a_nul_in_an_api_key_name_is_a_422_naming_the_field_on_both_stores(store_client):
    client, app, keys = store_client
    response = client.post("/v1/api-keys", json={"name": "shop\u0000", "role": "checkout"},
                           headers=auth(keys["admin"]) | {"Idempotency-Key": "nul-key"})
    _refusal(response, ["body", "name"], "U+0000")
    with app.state.sessionmaker() as session:
        assert session.scalars(select(ApiKey.name).where(ApiKey.name.like("shop%"))).all() == []
    # the same key with a clean name then runs: the refusal claimed nothing
    issued = client.post("/v1/api-keys", json={"name": "shop", "role": "checkout"},
                         headers=auth(keys["admin"]) | {"Idempotency-Key": "nul-key"})
    assert issued.status_code == 201 and "idempotent-replayed" not in issued.headers


@pytest.mark.parametrize("character", ["\u0001", "\u0007", "\b", "\f", "\u000b", "\u001b", "\u001f"])
def test_other_c0_control_characters_are_refused_too(client, keys, app, character):
    response = client.post("/v1/test/bookings", json={"reference": f"order{character}1", "amount": "1.00"},
                           headers=auth(keys["finance"]) | {"Idempotency-Key": "c0"})
    _refusal(response, ["body", "reference"], f"U+{ord(character):04X}")
    assert count_bookings(app, f"order{character}1") == 0


@pytest.mark.parametrize("character", ["\t", "\n", "\r"])
def test_tab_line_feed_and_carriage_return_are_text(client, keys, app, character):
    response = client.post("/v1/test/bookings", json={"reference": f"order{character}1", "amount": "1.00"},
                           headers=auth(keys["finance"]) | {"Idempotency-Key": "text"})
    assert response.status_code == 201, response.text
    assert response.json()["reference"] == f"order{character}1"
    assert count_bookings(app, f"order{character}1") == 1


def test_a_nul_in_an_object_key_or_deep_in_a_list_is_named_by_its_path(client, keys):
    headers = auth(keys["finance"]) | {"Idempotency-Key": "deep"}
    deep = client.post("/v1/test/bookings", headers=headers, json={
        "reference": "r", "amount": "1.00", "extra": [{"ok": "fine"}, {"list": ["a", "b\u0000"]}]})
    _refusal(deep, ["body", "extra", 1, "list", 1], "U+0000")
    key = client.post("/v1/test/bookings", headers=headers, json={"reference": "r", "amount": "1.00", "ba\u0000d": 1})
    _refusal(key, ["body", "ba\u0000d"], "U+0000")


def test_a_nul_in_a_declared_query_parameter_is_a_422_and_an_undeclared_one_is_ignored(client, keys):
    response = client.get("/v1/monitoring/psi", params={"variable": "score\u0000"}, headers=auth(keys["analyst"]))
    _refusal(response, ["query", "variable"], "U+0000")
    ignored = client.get("/v1/api-keys", params={"whatever": "\u0000"}, headers=auth(keys["admin"]))
    assert ignored.status_code == 200


def test_the_refused_characters_are_c0_but_tab_line_feed_and_carriage_return():
    assert control_character("plain text\twith tab\r\n") is None
    assert control_character("bell\u0007 then nul\u0000") == "U+0007"
    assert control_character("\u007f and \u0085 are not C0") is None
    assert escape_controls("a\u0000b\u001bc\td") == "a\\x00b\\x1bc\td"
