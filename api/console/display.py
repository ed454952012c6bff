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


_ROLES = {"buyer": "as buyer", "supplier": "as supplier", "debtor": "invoices it owes",
          "creditor": "invoices owed to it"}
# kinds: "money" (minor units), "percent" (a share), "change" (a signed share), "days", "hours"
# (shown in days), "months", "count", "yes/no", "text"; "days change" (a signed number of days)
_MEASURES: dict[str, tuple[str, str]] = {
    "order_count": ("orders", "count"), "sale_count": ("sales", "count"),
    "order_mean": ("mean order value", "money"), "sale_mean": ("mean sale value", "money"),
    "order_max": ("largest order", "money"), "sale_max": ("largest sale", "money"),
    "order_std": ("spread of order values (standard deviation)", "money"),
    "sale_std": ("spread of sale values (standard deviation)", "money"),
    "gmv": ("trading volume (GMV)", "money"), "suppliers": ("suppliers", "count"), "buyers": ("customers", "count"),
    "categories": ("goods categories", "count"), "days_since_order": ("time since its last order", "days"),
    "days_since_sale": ("time since its last sale", "days"),
    "credit_terms_share": ("share of orders on credit terms", "percent"),
    "cancelled_count": ("orders cancelled", "count"), "cancelled_value": ("value of orders cancelled", "money"),
    "returns_count": ("returns", "count"), "returns_value": ("value returned", "money"),
    "disputes_count": ("disputes", "count"), "disputed_value": ("value disputed", "money"),
    "disputes_buyer_favour": ("disputes decided for it", "count"), "disputes_lost": ("disputes lost", "count"),
    "lead_time_mean": ("mean delivery time", "days"), "lead_time_max": ("longest delivery time", "days"),
    "hours_to_ship_mean": ("mean time to ship", "hours"),
    "active_months": ("months with an order", "months"),
    "gmv_growth": ("trading volume change against the 3 months before", "change"),
    "gmv_yoy": ("trading volume change year on year", "change"),
    "gmv_volatility": ("monthly trading volume variation (standard deviation over mean)", "percent"),
    "partners_top_share": ("largest partner's share of its trade", "percent"),
    "partners_hhi": ("partner concentration (HHI)", "percent"),
    "partners_overdue_share": ("share of its trade with partners in arrears", "percent"),
    "partners_defaulted_share": ("share of its trade with defaulted partners", "percent"),
    "partners_defaulted": ("partners that defaulted", "count"),
    "return_rate": ("return rate", "percent"), "dispute_rate": ("dispute rate", "percent"),
    "cancellation_rate": ("cancellation rate", "percent"),
    "invoiced_value": ("value invoiced", "money"), "terms_days_mean": ("mean payment terms", "days"),
    "invoices_due": ("invoices that fell due", "count"), "on_time_rate": ("share paid on time", "percent"),
    "unpaid_at_due_value": ("value unpaid at the due date", "money"),
    "days_late_mean": ("mean days paid after the due date", "days"),
    "late_payment_rate": ("share of payments made late", "percent"),
    "days_late_max": ("most days paid after the due date", "days"),
    "days_late_last": ("days after the due date, latest payment", "days"),
    "days_since_payment": ("time since the latest payment", "days"),
    "partial_payment_rate": ("share of invoices paid in part", "percent"),
    "days_beyond_terms_mean": ("mean days beyond terms", "days"),
    "days_beyond_terms_max": ("most days beyond terms", "days"),
    "overdue_value": ("value past due now", "money"), "overdue_invoices": ("invoices past due now", "count"),
    "days_past_due": ("days past due now", "days"),
    "dbt_trend": ("change in days beyond terms against the 90 days before", "days change"),
}
_FIRM_MEASURES: dict[str, tuple[str, str]] = {
    "tenure_days": ("time on the platform", "days"), "verified": ("verified", "yes/no"),
    "deposit_minor": ("trading deposit", "money"), "industry": ("industry", "text"), "region": ("region", "text"),
    "size_band": ("size band", "text"), "roles": ("roles", "text"),
}
"""Feature stem (no role, no window) -> what the number is, and its kind (how the value is written)."""


def _measure(name: str) -> tuple[str, str, str]:
    """A feature's (label, kind, window) from its column name; unknown names get a readable fallback."""
    window = ""
    stem = name
    match = _WINDOW.search(name)
    if match:
        stem = name[:match.start()]
        if match.group(1):
            number, unit = match.group(1), "days" if match.group(2) == "d" else "months"
            window = f"last {number} {unit}"
        else:
            window = "all history"
    if stem in _FIRM_MEASURES:
        return (*_FIRM_MEASURES[stem], window)
    role, _, rest = stem.partition("_")
    if role in _ROLES and rest in _MEASURES:
        label, kind = _MEASURES[rest]
        return f"{label}, {_ROLES[role]}", kind, window
    words = " ".join(_WORDS.get(word, word) for word in stem.split("_") if word != "minor")
    kind = ("money" if _MONEY_FEATURE.search(name) else "percent" if _RATE_FEATURE.search(name)
            else "change" if _CHANGE_FEATURE.search(name) else "days" if _DAYS_FEATURE.search(name) else "number")
    return words, kind, window


def feature_label(name: str) -> str:
    """What a feature's number is and over which window; :func:`feature_value` writes the unit with the number.

    ``debtor_days_late_mean_90d`` -> ``mean days paid after the due date, invoices it owes (last 90 days)``;
    ``tenure_days`` -> ``time on the platform``.
    """
    label, _, window = _measure(name)
    return f"{label} ({window})" if window else label


def _days(number: float) -> str:
    whole = round(number)
    if abs(number) >= 100 or number == whole:
        return f"{whole:,} day{'' if abs(whole) == 1 else 's'}"
    return f"{number:,.1f} days"


def feature_value(name: str, value: Any) -> str:
    """A feature value as the finance team reads it: money, a percentage, days, months, a count or a label.

    ``("tenure_days", 2320.4)`` -> ``"2,320 days"``; ``("supplier_hours_to_ship_mean_90d", 142.385)`` ->
    ``"5.9 days"``; ``("buyer_on_time_rate_90d", 0.8125)`` -> ``"81.3%"``.
    """
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
    kind = _measure(name)[1]
    if kind == "yes/no":
        return "yes" if number else "no"
    if kind == "money":
        return money(round(number))
    if kind == "percent":
        return f"{number * 100:.1f}%"
    if kind == "change":
        return f"{number * 100:+.1f}%"
    if kind == "days":
        return _days(number)
    if kind == "hours":
        return _days(number / 24)
    if kind == "days change":
        return ("+" if number > 0 else "") + _days(number)
    if kind == "months":
        return f"{round(number):,} month{'' if round(number) == 1 else 's'}"
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:,.2f}"


_SHORT_WORDS = {"gmv": "GMV", "dbt": "DBT", "yoy": "YoY"}


def feature_short(name: str) -> str:
    """A compact label of a feature for chart axes: ``buyer_gmv_yoy_3m`` -> ``buyer GMV YoY 3m``."""
    return " ".join(_SHORT_WORDS.get(word, word) for word in name.split("_") if word != "minor")


_MONEY_RULES = frozenset({
    "limit_as_requested", "limit_below_requested", "limit_below_minimum", "refer_above_amount",
    "finance_changed_limit", "limit_changed_by_finance", "limit_by_concentration",
})
_MINOR_AMOUNT = re.compile(r"\b\d+\b")
_COMPARISONS = ((" -> ", " to "), (" > ", " above "), (" < ", " below "), (" >= ", " at least "))
_LIMIT_TERMS = {"capacity": "capacity (months of purchases)", "grade_cap": "grade cap",
                "expected_loss": "expected-loss budget", "maximum": "policy maximum"}
_LIMIT_TERM = re.compile(r"(\w+) (\d+)")
_PYTHON_LIST = re.compile(r"\[((?:'[^'\]]*'(?:, )?)*)\]")
_LONG_DECIMAL = re.compile(r"\d+\.\d{5,}")
_SPECIFIC_DETAILS: dict[str, tuple[re.Pattern, Any]] = {
    "too_new": (re.compile(r"tenure (\S+) days < (\d+)$"),
                lambda m: f"{math.floor(float(m[1])):,} days on the platform, fewer than the {int(m[2]):,} required"),
    "overdue_now": (re.compile(r"(\S+) days past due > (\d+)$"),
                    lambda m: f"{math.floor(float(m[1])):,} days past due, more than the {int(m[2]):,} allowed"),
    "grade_too_risky": (re.compile(r"grade (\w+) \(PD (\S+)\) in \[(.*)\]$"),
                        lambda m: f"grade {m[1]} (PD {probability(Decimal(m[2]))}) is one of the grades the policy "
                                  f"declines: {_listed(m[3])}"),
    "refer_grey_zone": (re.compile(r"grade (\w+) in \[(.*)\]$"),
                        lambda m: f"grade {m[1]} is one of the grades the finance team reviews: {_listed(m[2])}"),
}


def _listed(items: str) -> str:
    """The inside of a stored Python list of texts as words: ``"'F', 'G'"`` -> ``"F, G"``."""
    return ", ".join(item.strip().strip("'\"") for item in items.split(",") if item.strip())


def _limit_terms(detail: str, binding: str) -> str | None:
    terms = _LIMIT_TERM.findall(detail)
    if not terms or "; ".join(f"{name} {value}" for name, value in terms) != detail:
        return None
    shown = [f"{_LIMIT_TERMS.get(name, name.replace('_', ' '))} {money(int(value))}"
             + (" (the lowest: it sets the limit)" if f"limit_by_{name}" == binding else "") for name, value in terms]
    return "limit each rule allows: " + "; ".join(shown)


def rule_detail(detail: str, code: str) -> str:
    """A fired rule's stored detail in words: amounts as money, lists as words, no raw floats.

    The stored details are terse (``"grade G in ['F', 'G']"``, ``"capacity 30680000; ...;
    expected_loss 126020808"``); the decision records keep them as they are and this writes them
    for people: ``"grade G is one of the grades the finance team reviews: F, G"``, ``"limit each
    rule allows: capacity (months of purchases) EUR 306,800.00 (the lowest: it sets the limit);
    ...; expected-loss budget EUR 1,260,208.08"``. Amounts are rewritten only before the first
    ``": "``, where a reviewer's own words begin (``"100000 -> 250000: seasonal peak"``).
    """
    if code.startswith("limit_by_") and code != "limit_by_concentration":
        written = _limit_terms(detail, code)
        if written is not None:
            return written
    if code in _SPECIFIC_DETAILS:
        pattern, write = _SPECIFIC_DETAILS[code]
        match = pattern.match(detail)
        if match:
            return write(match)
    head, separator, words = detail.partition(": ")
    if code in _MONEY_RULES:
        head = _MINOR_AMOUNT.sub(lambda match: money(int(match.group())), head).replace("_", " ")
        for symbol, word in _COMPARISONS:
            head = head.replace(symbol, word)
    head = _PYTHON_LIST.sub(lambda match: _listed(match[1]), head)
    head = _LONG_DECIMAL.sub(lambda match: f"{Decimal(match.group()):.4f}", head)
    return head + separator + words


WARNING_LABELS: dict[str, str] = {
    "grade_drop": "grade fell", "new_overdue": "new overdue invoices", "dbt_rising": "paying later",
    "partner_default": "partner defaulted", "arrears_approaching": "near the arrears block",
    "utilisation_high": "line nearly used",
}
"""Short labels of the early-warning codes for lists; the full texts are credit.monitoring.results.WARNING_REASONS."""


_WARNING_DETAILS: dict[str, tuple[str, str]] = {
    "invoices": ("invoices", "count"), "unpaid_minor": ("unpaid", "money"),
    "max_days_past_due": ("most days past due", "days"), "grade_before": ("grade before", "text"),
    "grade_now": ("grade now", "text"), "notches": ("fell by", "grades"), "pd_before": ("PD before", "pd"),
    "pd_now": ("PD now", "pd"), "dbt_rise_days": ("days beyond terms rose by", "days"),
    "dbt_mean_90d_days": ("mean days beyond terms (last 90 days)", "days"), "partner_id": ("partner firm", "text"),
    "share": ("partner's share of its trade", "percent"), "trade_minor": ("trade with the partner (365 days)", "money"),
    "event_at": ("partner's credit event on", "text"), "event_kind": ("event", "text"),
    "partners": ("partners", "count"), "blocked_from": ("blocked at checkout from", "text"),
    "block_after_days": ("block after", "days past due"), "limit_minor": ("limit", "money"),
    "posted_minor": ("posted", "money"), "pending_minor": ("held", "money"), "utilisation": ("used", "percent"),
}
"""Early-warning detail key -> its words and how its value is written (the stored details keep minor units)."""


def warning_details(details: Any) -> str:
    """An early warning's stored numbers in words: money as currency, ratios as percentages, days as days.

    ``{"invoices": 2, "unpaid_minor": 9381204, "max_days_past_due": 46}`` -> ``"invoices 2; unpaid EUR
    93,812.04; most days past due 46 days"``; ``{"utilisation": 0.9732}`` -> ``"used 97.3%"``.
    """
    if not isinstance(details, dict):
        return "" if details is None else str(details)
    parts = []
    for key, value in details.items():
        label, kind = _WARNING_DETAILS.get(key, (key.removesuffix("_minor").replace("_", " "),
                                                  "money" if key.endswith("_minor") else "number"))
        if value is None:
            written = "no data"
        elif kind == "money":
            written = money(int(value))
        elif kind == "percent":
            written = percent(value)
        elif kind == "pd":
            written = probability(value)
        elif kind == "days":
            written = _days(float(value))
        elif kind == "days past due":
            written = f"{int(value):,} days past due"
        elif kind == "grades":
            written = f"{int(value)} grade{'' if int(value) == 1 else 's'}"
        elif kind == "count":
            written = f"{int(value):,}"
        elif isinstance(value, float):
            written = f"{value:,.2f}"
        else:
            written = str(value).replace("_", " ")
        parts.append(f"{label} {written}")
    return "; ".join(parts)


FILTERS = {
    "money": money, "amount": amount, "major_units": major_units, "percent": percent, "probability": probability,
    "when": when, "count": count, "feature_label": feature_label, "feature_value": feature_value,
    "rule_detail": rule_detail, "feature_short": feature_short, "warning_label": lambda code: WARNING_LABELS.get(code, code),
    "warning_details": warning_details,
}
"""Jinja filter name -> function."""
