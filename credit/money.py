"""Money in the library: integer minor units of a currency, shown as exact ``Decimal`` major units.

Every ``*_minor`` column of the store holds integer minor units of
:data:`MARKETPLACE_CURRENCY`; :func:`from_minor` turns them into major units without a float.
The API's parsing of amounts (:mod:`api.kit.money`) builds on these.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

MARKETPLACE_CURRENCY = "EUR"
"""The currency of every ``*_minor`` column in the store."""

CURRENCY_EXPONENTS: dict[str, int] = {"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "PLN": 2, "JPY": 0, "KWD": 3}
"""Decimal places of the minor unit (ISO 4217)."""


def minor_unit_places(currency: str) -> int:
    """Decimal places of ``currency``'s minor unit (``"EUR"`` -> 2, ``"JPY"`` -> 0).

    Raises
    ------
    ValueError
        If the currency is not in :data:`CURRENCY_EXPONENTS`.
    """
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise ValueError(f"unknown currency {currency!r}") from None


def from_minor(minor: int, currency: str = MARKETPLACE_CURRENCY) -> Decimal:
    """Minor units back to a ``Decimal`` with exactly the currency's places (``125050`` -> ``1250.50``)."""
    places = minor_unit_places(currency)
    return Decimal(int(minor)).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def shown(minor: int, currency: str = MARKETPLACE_CURRENCY) -> str:
    """An amount as people (and error messages) read it: ``125050`` -> ``"1250.50 EUR"``."""
    return f"{from_minor(minor, currency)} {currency}"


def round_half_up(amount: Decimal) -> int:
    """A Decimal number of minor units rounded to an integer, halves away from zero (2.5 -> 3, 0.5 -> 1).

    The rounding of every fee the book computes (terms fees, late fees, installment fees).
    """
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))
