"""Money at the API edge: exact decimal strings in, integer minor units inside, strings out."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from api.kit.money import (
    MAX_MAJOR_UNITS,
    AmountMinor,
    AmountMinorOrZero,
    AmountOut,
    amount_minor,
    amount_pattern,
    from_minor,
    to_minor,
)
from tests.api.conftest import auth


class Payment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: AmountMinor


class Fee(BaseModel):
    fee: AmountMinorOrZero


class YenPrice(BaseModel):
    price: amount_minor(currency="JPY")


class Shown(BaseModel):
    balance: AmountOut


@pytest.mark.parametrize(("wire", "minor"), [
    ('"1250.50"', 125050), ('"1250.5"', 125050), ('"0.01"', 1), ('"0.1"', 10), ('"1"', 100),
    ('"1000000000000"', 100_000_000_000_000), ('"1000000000000.00"', 100_000_000_000_000),
    ('"999999999999.99"', 99_999_999_999_999), ('"1e3"', None),
])
def test_decimal_strings_become_minor_units(wire, minor):
    if minor is None:
        with pytest.raises(ValidationError):
            Payment.model_validate_json(f'{{"amount": {wire}}}')
        return
    assert Payment.model_validate_json(f'{{"amount": {wire}}}').amount == minor


@pytest.mark.parametrize("wire", [
    '"1.234"', '"0.001"', '"-1.00"', "-5", '"0"', "0", '"0.00"', '"-0"', '"NaN"', '"nan"', '"Infinity"', '"-inf"',
    '"sNaN"', "12.5", "1e400", '"1000000000000.01"', '"99999999999999999999"', "true", "null", '""', '"12,50"',
    '"1 000"', '"0x10"', '"١٢"', '"' + "1" * 100 + '"', "[1]", '{"v": 1}',
    # what the schema's pattern does not allow is refused too, whatever to_minor would read
    "5", "7", '" +5.00 "', '"  3.10 "', '"5."', '".5"', '"+2"', '"5.00\\n"', '"0012.50"', '"00"',
])
def test_inexact_negative_zero_non_finite_huge_or_non_numeric_amounts_are_refused(wire):
    with pytest.raises(ValidationError):
        Payment.model_validate_json(f'{{"amount": {wire}}}')


def test_zero_is_allowed_only_where_declared():
    assert Fee.model_validate_json('{"fee": "0.00"}').fee == 0
    with pytest.raises(ValidationError):
        Fee.model_validate_json('{"fee": "-0.01"}')


def test_places_follow_the_currency():
    assert YenPrice.model_validate_json('{"price": "1500"}').price == 1500
    with pytest.raises(ValidationError):
        YenPrice.model_validate_json('{"price": "1500.5"}')
    assert to_minor("1.234", "KWD") == 1234


def test_minor_units_are_shown_as_exact_decimal_strings():
    assert Shown(balance=125050).model_dump_json() == '{"balance":"1250.50"}'
    assert Shown(balance=-7).model_dump(mode="json") == {"balance": "-0.07"}
    assert Payment(amount="3.10").model_dump_json() == '{"amount":"3.10"}'
    assert from_minor(1500, "JPY") == Decimal("1500") and str(from_minor(5, "KWD")) == "0.005"


def test_round_trip_is_exact_at_the_extremes():
    for text in ["0.01", "0.10", "999999999999.99", str(MAX_MAJOR_UNITS) + ".00"]:
        assert str(from_minor(to_minor(text))) == text


def test_to_minor_rejects_python_floats_and_bools():
    with pytest.raises(ValueError):
        to_minor(0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        to_minor(True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown currency"):
        to_minor("1", "XXX")


def test_amount_schema_is_the_exact_pattern_the_server_checks():
    schema = Payment.model_json_schema()["properties"]["amount"]
    assert schema["type"] == "string" and schema["pattern"] == amount_pattern()
    pattern = re.compile(schema["pattern"])
    for text in ["0.01", "0.1", "1", "12.5", "1250.50", "999999999999.99", "1000000000000", "1000000000000.00"]:
        assert pattern.fullmatch(text) and Payment(amount=text).amount == to_minor(text)
    for text in ["0", "0.00", "1000000000000.01", "1000000000001", "01", "5.", ".5", "1.234", "-1", "+1", " 1"]:
        assert not pattern.fullmatch(text)
        with pytest.raises(ValidationError):
            Payment(amount=text)
    assert re.compile(Fee.model_json_schema()["properties"]["fee"]["pattern"]).fullmatch("0.00")


def test_a_json_integer_amount_is_a_422_naming_the_field(client, keys):
    # 5 could mean 5.00 or 5 cents: the server does not guess (a client sending minor units would pay 100 times)
    response = client.post("/v1/test/bookings", json={"reference": "a", "amount": 5},
                           headers={**auth(keys["finance"]), "Idempotency-Key": "k"})
    assert response.status_code == 422
    detail = response.json()["error"]["details"][0]
    assert detail["loc"] == ["body", "amount"] and "decimal string" in detail["msg"]


def test_a_json_float_amount_is_a_422_naming_the_field(client, keys):
    response = client.post("/v1/test/bookings", json={"reference": "a", "amount": 12.5},
                           headers={**auth(keys["finance"]), "Idempotency-Key": "k"})
    assert response.status_code == 422
    detail = response.json()["error"]["details"][0]
    assert detail["loc"] == ["body", "amount"] and "decimal string" in detail["msg"]
