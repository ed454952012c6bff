"""Money at the API edge: decimal strings outside, integer minor units inside, converted once.

A request schema declares ``amount: AmountMinor``; the client sends ``"1250.50"`` (a JSON
string matching the schema's pattern) and the route receives ``125050``, an ``int`` of minor
units, ready for the ledger. A response schema declares ``amount: AmountOut`` holding minor
units and shows ``"1250.50"``.

The wire accepts exactly what the schema's pattern declares: ASCII digits without sign,
spaces or leading zeros, then optionally a point and 1 to the currency's places of decimals,
greater than zero (unless allowed) and at most ``MAX_MAJOR_UNITS``. Everything else is 422
``validation_failed`` naming the field: ``" +5.00 "``, ``"5."``, ``".5"``, ``"5.00\n"``,
``"1e3"``, and JSON numbers, integers included (a client sending ``5`` for 5 cents would
otherwise be charged 5.00), floats (``12.5`` has already lost its exactness), booleans.
:func:`to_minor` itself stays lenient about spaces and signs, for the console's forms.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

# The currency, its minor unit and from_minor are the library's (credit.money); the service
# imports them from here with the rest of the money it handles at its edge.
from credit.money import CURRENCY_EXPONENTS, MARKETPLACE_CURRENCY, from_minor, minor_unit_places

__all__ = ["CURRENCY_EXPONENTS", "MARKETPLACE_CURRENCY", "MAX_MAJOR_UNITS", "AmountMinor", "AmountMinorOrZero",
           "AmountOut", "amount_minor", "amount_pattern", "from_minor", "to_minor"]

MAX_MAJOR_UNITS = 10**12
"""Largest amount the API accepts, in major units: 1 trillion, far beyond any order, and
small enough that sums of many amounts stay inside a 64-bit integer of minor units."""

_PLAIN_DECIMAL = re.compile(r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*$")  # ASCII digits only


def to_minor(amount: Decimal | int | str, currency: str = MARKETPLACE_CURRENCY, *, allow_zero: bool = False) -> int:
    """Convert an amount in major units to integer minor units, refusing anything inexact.

    Parameters
    ----------
    amount
        A ``Decimal``, an ``int`` or a plain decimal string such as ``"1250.50"``.
    currency
        ISO 4217 code; sets how many decimal places are allowed.
    allow_zero
        Accept ``0`` (e.g. a zero fee); amounts are always refused when negative.

    Returns
    -------
    int
        The amount in minor units, e.g. ``125050`` for ``"1250.50"`` EUR.

    Raises
    ------
    ValueError
        The amount is not a finite plain decimal, has too many decimal places, is negative,
        zero (unless allowed) or larger than ``MAX_MAJOR_UNITS``.
    """
    places = minor_unit_places(currency)
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, int, str)):
        raise ValueError("amount must be a decimal string such as \"12.50\"")
    if isinstance(amount, str):
        if len(amount) > 40 or not _PLAIN_DECIMAL.match(amount):
            raise ValueError("amount must be a plain decimal number such as \"12.50\"")
        amount = Decimal(amount.strip())
    value = Decimal(amount)
    if not value.is_finite():
        raise ValueError("amount must be a finite number")
    if value.is_signed() and value != 0:
        raise ValueError("amount must not be negative")
    if value == 0 and not allow_zero:
        raise ValueError("amount must be greater than zero")
    if value > MAX_MAJOR_UNITS:
        raise ValueError(f"amount must be at most {MAX_MAJOR_UNITS}")
    minor = value.scaleb(places)  # exact: at most 15 digits, well within the 28-digit context
    if minor != minor.to_integral_value():
        raise ValueError(f"amount has more than {places} decimal places for {currency}")
    return int(minor)


def amount_pattern(currency: str = MARKETPLACE_CURRENCY, *, allow_zero: bool = False) -> str:
    """The exact pattern of an amount on the wire: > 0 (or >= 0), at most ``MAX_MAJOR_UNITS``, no leading zeros.

    ASCII ``[0-9]``, not ``\\d`` (which is any Unicode digit in Python), and no lookaround, so
    Python, ECMA-262 and the fuzzers' generators read it alike.
    """
    places = minor_unit_places(currency)
    fraction = f"(\\.[0-9]{{1,{places}}})?" if places else ""
    zeros = f"(\\.0{{1,{places}}})?" if places else ""
    biggest = str(MAX_MAJOR_UNITS)
    branches = [f"[1-9][0-9]{{0,{len(biggest) - 2}}}{fraction}", f"{biggest}{zeros}"]
    # below 1: a first non-zero decimal at each place
    branches += [f"0\\.{'0' * k}[1-9][0-9]{{0,{places - 1 - k}}}" for k in range(places)]
    if allow_zero:
        branches.append(f"0{zeros}")
    return "^(" + "|".join(branches) + ")$"


_SHAPE = re.compile(r"[0-9]+(\.[0-9]+)?")


def _amount_validator(allow_zero: bool, currency: str):  # noqa: ANN202
    places = minor_unit_places(currency)
    exact = re.compile(amount_pattern(currency, allow_zero=allow_zero))
    example = "12.50" if places else "1250"

    def parse(value: Any) -> int:
        if isinstance(value, Decimal):  # from Python code (the demo, the console), never from JSON: exact already
            return to_minor(value, currency, allow_zero=allow_zero)
        if not isinstance(value, str):
            raise ValueError(f"amount must be a decimal string such as \"{example}\", not a JSON "
                             f"{'number' if isinstance(value, (int, float)) and not isinstance(value, bool) else 'value'}")
        if len(value) > 40 or not _SHAPE.fullmatch(value):
            raise ValueError(f"amount must be a decimal string such as \"{example}\": ASCII digits, then optionally a "
                             f"point and up to {places} decimals; no sign, spaces or exponent")
        minor = to_minor(value, currency, allow_zero=allow_zero)  # too many places, zero, too large: its message
        if not exact.fullmatch(value):
            raise ValueError(f"amount must not have leading zeros (\"{example}\", not \"0{example}\")")
        return minor

    return parse


def _amount_schema(allow_zero: bool, currency: str) -> dict[str, Any]:
    places = minor_unit_places(currency)
    return {
        "type": "string",
        "pattern": amount_pattern(currency, allow_zero=allow_zero),
        "examples": ["1250.50" if places else "1250"],
        "description": (
            f"Amount in {currency} as a decimal string, at most {places} decimal places, "
            f"{'>= 0' if allow_zero else '> 0'} and at most {MAX_MAJOR_UNITS}."
        ),
    }


def amount_minor(*, allow_zero: bool = False, currency: str = MARKETPLACE_CURRENCY) -> Any:
    """A request-schema type: a decimal amount on the wire, ``int`` minor units in Python."""
    return Annotated[
        int,
        BeforeValidator(_amount_validator(allow_zero, currency)),
        PlainSerializer(lambda minor: str(from_minor(minor, currency)), return_type=str),
        WithJsonSchema(_amount_schema(allow_zero, currency)),
    ]


AmountMinor = amount_minor()
"""A positive amount in the marketplace currency; the validated value is ``int`` minor units."""

AmountMinorOrZero = amount_minor(allow_zero=True)
"""Like :data:`AmountMinor` but zero is allowed (fees, balances)."""

_OUT_PLACES = minor_unit_places(MARKETPLACE_CURRENCY)

AmountOut = Annotated[
    int,
    PlainSerializer(lambda minor: str(from_minor(minor)), return_type=str),
    WithJsonSchema({"type": "string", "pattern": rf"^-?[0-9]+\.[0-9]{{{_OUT_PLACES}}}$" if _OUT_PLACES else r"^-?[0-9]+$",
                    "examples": ["1250.50"],
                    "description": f"Amount in {MARKETPLACE_CURRENCY} as a decimal string."}),
]
"""A response-schema type: holds minor units, shows a decimal string (``125050`` -> ``"1250.50"``)."""
