"""How the console writes numbers, money, dates and feature values for people (Jinja filters).

Money arrives as integer minor units and is formatted from the exact ``Decimal``
(:func:`api.kit.money.from_minor`); it is never a float on its way to the page.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from api.kit.money import MARKETPLACE_CURRENCY, from_minor

_WINDOW = re.compile(r"_(\d+)([dm])$|_all$")
_MONEY_FEATURE = re.compile(r"(_value|_gmv)(_\d+[dm]|_all)?$|^deposit_minor$")
_RATE_FEATURE = re.compile(r"_(rate|share)(_\d+[dm]|_all)?$")
_CHANGE_FEATURE = re.compile(r"_(growth|yoy)(_\d+[dm]|_all)?$")
_DAYS_FEATURE = re.compile(r"days")
_WORDS = {"gmv": "GMV", "dbt": "days beyond terms", "yoy": "year on year", "pd": "PD"}


def money(minor: int | None, currency: str = MARKETPLACE_CURRENCY) -> str:
    """``2500050`` -> ``"EUR 25,000.50"``; None -> an em dash."""
    if minor is None:
        return "—"
    return f"{currency} {from_minor(int(minor), currency):,}"


def amount(minor: int | None, currency: str = MARKETPLACE_CURRENCY) -> str:
    """Like :func:`money` without the currency code, for table columns headed with it."""
    if minor is None:
        return "—"
    return f"{from_minor(int(minor), currency):,}"


def major_units(minor: int | None, currency: str = MARKETPLACE_CURRENCY) -> str:
    """Minor units as the plain decimal a form field takes back (``2500050`` -> ``"25000.50"``)."""
    return "" if minor is None else str(from_minor(int(minor), currency))


def percent(share: Decimal | float | None, places: int = 1) -> str:
    """A share as a percentage: ``0.1234`` -> ``"12.3%"``."""
    if share is None or (isinstance(share, float) and not math.isfinite(share)):
        return "—"
    return f"{Decimal(str(share)) * 100:,.{places}f}%"


def probability(pd_: Decimal | float | None) -> str:
    """A PD as a percentage with enough places to tell small PDs apart (``0.00234`` -> ``"0.234%"``)."""
    if pd_ is None:
        return "—"
    value = Decimal(str(pd_)) * 100
    places = 2 if value >= 1 else 3
    return f"{value:.{places}f}%"


def when(moment: datetime | date | None) -> str:
    """A UTC timestamp to the minute (``"2026-11-22 14:05"``), a date as ISO."""
    if moment is None:
        return "—"
    if isinstance(moment, datetime):
        return f"{moment:%Y-%m-%d %H:%M}"
    return moment.isoformat()


def count(number: int | None) -> str:
    """An integer with thousands separators."""
    return "—" if number is None else f"{int(number):,}"


def feature_label(name: str) -> str:
    """A readable label of a feature column: ``debtor_days_late_mean_90d`` -> ``debtor days late mean (90 days)``."""
    window = ""
    match = _WINDOW.search(name)
    stem = name
    if match:
        stem = name[:match.start()]
        if match.group(1):
            number, unit = match.group(1), "days" if match.group(2) == "d" else "months"
            window = f" ({number} {unit})"
        else:
            window = " (all history)"
    words = [_WORDS.get(word, word) for word in stem.split("_") if word != "minor"]
    return " ".join(words) + window


_SHORT_WORDS = {"gmv": "GMV", "dbt": "DBT", "yoy": "YoY"}


def feature_short(name: str) -> str:
    """A compact label of a feature for chart axes: ``buyer_gmv_yoy_3m`` -> ``buyer GMV YoY 3m``."""
    return " ".join(_SHORT_WORDS.get(word, word) for word in name.split("_") if word != "minor")


def feature_value(name: str, value: Any) -> str:
    """A feature value as the finance team reads it: money, a percentage, days, a count or a label."""
    if value is None:
        return "no data"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        try:
            value = float(value)  # "inf" / "-inf", as JSON stores infinities
        except ValueError:
            return value.replace("_", " ")
    number = float(value)
    if math.isnan(number):
        return "no data"
    if math.isinf(number):
        return "unbounded"
    if name == "verified":
        return "yes" if number else "no"
    if _MONEY_FEATURE.search(name):
        return money(round(number))
    if _RATE_FEATURE.search(name):
        return f"{number * 100:.1f}%"
    if _CHANGE_FEATURE.search(name):
        return f"{number * 100:+.1f}%"
    if _DAYS_FEATURE.search(name):
        return f"{number:,.1f} days"
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:,.3f}"


_MONEY_RULES = frozenset({
    "limit_by_capacity", "limit_by_grade_cap", "limit_by_expected_loss", "limit_by_maximum", "limit_as_requested",
    "limit_below_requested", "limit_below_minimum", "refer_above_amount", "finance_changed_limit",
    "limit_changed_by_finance",
})
_MINOR_AMOUNT = re.compile(r"\b\d+\b")


def rule_detail(detail: str, code: str) -> str:
    """A fired rule's stored detail with its amounts (minor units) written as money.

    Only rules whose numbers are amounts are rewritten, and only before the first ``": "``,
    where a reviewer's own words begin (``"100000 -> 250000: seasonal peak"``).
    """
    if code not in _MONEY_RULES:
        return detail
    head, separator, words = detail.partition(": ")
    head = _MINOR_AMOUNT.sub(lambda match: money(int(match.group())), head).replace("_", " ")
    return head + separator + words


WARNING_LABELS: dict[str, str] = {
    "grade_drop": "grade fell", "new_overdue": "new overdue invoices", "dbt_rising": "paying later",
    "partner_default": "partner defaulted", "arrears_approaching": "near the arrears block",
    "utilisation_high": "line nearly used",
}
"""Short labels of the early-warning codes for lists; the full texts are credit.monitoring.results.WARNING_REASONS."""


FILTERS = {
    "money": money, "amount": amount, "major_units": major_units, "percent": percent, "probability": probability,
    "when": when, "count": count, "feature_label": feature_label, "feature_value": feature_value,
    "rule_detail": rule_detail, "feature_short": feature_short, "warning_label": lambda code: WARNING_LABELS.get(code, code),
}
"""Jinja filter name -> function."""
