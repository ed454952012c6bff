"""The contract's kit: what every route inherits, checked on the whole app's document and schemas.

Schemathesis (test_openapi_fuzz.py) finds a mismatch when a generated case reaches it; these
tests say at once, for every route, that the kit's declarations are there.
"""

from __future__ import annotations

import json
import re
import types
import typing
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, TypeAdapter, ValidationError

from api.app import create_app
from api.kit.contract import Day, InstantIn, Probability, UtcDateTime, day
from credit.money import shown
from credit.paging import MAX_ID
from credit.settings import Settings
from tests.api.conftest import auth

APP = create_app(Settings(database_url="sqlite:///:memory:"))
DOCUMENT = APP.openapi()
OPERATIONS = [(path, method, operation) for path, methods in DOCUMENT["paths"].items()
              for method, operation in methods.items()]


def test_every_idempotent_operation_requires_the_header_with_its_pattern():
    declared = 0
    for path, method, operation in OPERATIONS:
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "Idempotency-Key":
                declared += 1
                assert parameter["required"] is True, (method, path)
                assert parameter["schema"]["pattern"] == "^[!-~]{1,255}$", (method, path)
                assert {"400", "409", "422"} <= set(operation["responses"]), (method, path)
    assert declared >= 20  # every POST that moves money or exposure


def test_every_authenticated_operation_documents_401_and_429_and_every_body_400_and_413():
    for path, method, operation in OPERATIONS:
        responses = operation["responses"]
        if operation.get("security"):
            assert {"401", "429"} <= set(responses), (method, path)
            assert responses["429"]["headers"]["Retry-After"]["required"] is True
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(responses), (method, path)
        for status, response in responses.items():
            if status.startswith(("4", "5")) and path != "/v1/health":
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}


def test_integer_bounds_are_exact_integers():
    text = json.dumps(DOCUMENT)
    assert "e+18" not in text and "9.223372036854776" not in text
    buyer_id = DOCUMENT["components"]["schemas"]["AuthorizationIn"]["properties"]["buyer_id"]
    assert buyer_id["maximum"] == MAX_ID and type(buyer_id["maximum"]) is int and type(buyer_id["minimum"]) is int


def test_codes_are_enums():
    schemas = DOCUMENT["components"]["schemas"]
    assert "limit_exceeded" in schemas["AuthorizationDeclined"]["properties"]["decline_code"]["enum"]
    assert "apply_for_credit_line" in schemas["NextAction"]["properties"]["code"]["enum"]
    assert "refer_grey_zone" in schemas["Reason"]["properties"]["code"]["enum"]


def _datetime_fields(model: type[BaseModel], seen: set[type]) -> typing.Iterator[tuple[str, typing.Any]]:
    if model in seen:
        return
    seen.add(model)
    for name, field in model.model_fields.items():
        for kind in _leaves(field.annotation):
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                yield from _datetime_fields(kind, seen)
            elif kind is datetime:
                yield f"{model.__name__}.{name}", typing.Annotated[field.annotation, *field.metadata] if field.metadata \
                    else field.annotation


def _leaves(annotation: typing.Any) -> typing.Iterator[typing.Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _leaves(typing.get_args(annotation)[0])
    elif origin in (typing.Union, types.UnionType, list, tuple, dict, set):
        for argument in typing.get_args(annotation):
            yield from _leaves(argument)
    else:
        yield annotation


def test_every_instant_a_route_answers_with_is_shown_with_its_zone():
    naive = datetime(2026, 12, 5, 20, 50, 47, 68099)
    checked, seen = 0, set()
    for route in iter_route_contexts(APP.routes):
        if not isinstance(route.original_route, APIRoute) or route.response_model is None:
            continue
        models = [route.response_model, *(entry.get("model") for entry in route.responses.values())]
        for model in models:
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                continue
            for name, annotation in _datetime_fields(model, seen):
                adapter = TypeAdapter(annotation)
                shown_value = adapter.dump_json(adapter.validate_python(naive)).decode()
                assert shown_value == '"2026-12-05T20:50:47.068099Z"', f"{name}: use api.kit.contract.UtcDateTime"
                checked += 1
    assert checked >= 20


def test_request_instants_need_their_offset_and_reach_the_route_as_naive_utc():
    adapter = TypeAdapter(InstantIn)
    assert adapter.validate_python("2026-12-05T21:50:47+01:00") == datetime(2026, 12, 5, 20, 50, 47)
    assert adapter.validate_python("2026-12-05T20:50:47Z") == datetime(2026, 12, 5, 20, 50, 47)
    for text in ["2026-12-05T20:50:47", "2026-12-05", "0"]:
        with pytest.raises(ValidationError):
            adapter.validate_python(text)
    assert TypeAdapter(UtcDateTime).dump_python(datetime(2026, 1, 1, tzinfo=timezone.utc), mode="json") == \
        "2026-01-01T00:00:00Z"


@pytest.mark.parametrize("text", ["0", "20261205", "2026-2-5", "2026-02-30", "1899-12-31", "3000-01-01", " 2026-12-05"])
def test_a_day_is_only_an_iso_day_in_its_range(text):
    with pytest.raises(ValidationError):
        TypeAdapter(Day).validate_python(text)


def test_a_days_pattern_holds_its_range():
    since_1970 = TypeAdapter(day(date(1970, 1, 1))).json_schema()["pattern"]
    assert re.fullmatch(since_1970, "1970-01-01") and re.fullmatch(since_1970, "2999-12-31")
    assert not re.fullmatch(since_1970, "1969-12-31") and not re.fullmatch(since_1970, "3000-01-01")
    assert TypeAdapter(Day).validate_python("2026-12-05") == date(2026, 12, 5)


def test_pds_are_decimal_strings_of_six_places():
    adapter = TypeAdapter(Probability)
    assert adapter.dump_python(Decimal("0.011789099408300788"), mode="json") == "0.011789"
    assert adapter.dump_python(Decimal("1"), mode="json") == "1.000000"


def test_messages_say_amounts_as_decimals_with_the_currency():
    assert shown(500000) == "5000.00 EUR" and shown(-7) == "-0.07 EUR"


def test_a_method_a_path_does_not_serve_is_405_with_every_method_it_does(client, keys):
    response = client.request("OPTIONS", "/v1/api-keys", headers=auth(keys["admin"]))
    assert response.status_code == 405 and response.headers["allow"] == "GET, POST"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_a_body_that_is_not_json_text_is_a_documented_400(client, keys):
    response = client.post("/v1/checkout/prechecks", content=b"\x02\xff\x10",
                           headers={**auth(keys["checkout"]), "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"
    assert "400" in DOCUMENT["paths"]["/v1/checkout/prechecks"]["post"]["responses"]


def test_an_api_keys_instants_are_utc_with_their_zone(client, keys):
    created = client.post("/v1/api-keys", json={"name": "zone", "role": "analyst"},
                          headers={**auth(keys["admin"]), "Idempotency-Key": "zone-1"})
    assert created.status_code == 201
    assert created.json()["created_at"].endswith("Z")
    assert datetime.fromisoformat(created.json()["created_at"]).tzinfo is not None
