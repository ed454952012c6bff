"""Reason codes: why a firm scored as risky, from a fixed catalogue a finance team can read.

A decision records its reasons as ordered codes from :data:`REASON_CATALOGUE` (SPEC 4), so
the codes must mean the same thing in every decision made under one
:data:`REASON_CATALOGUE_VERSION`. Every panel feature belongs to exactly one code through
:data:`FEATURE_RULES`; a feature that no rule (or more than one rule) claims is refused, so a
new feature cannot reach a model without a reason a person can read.

Both models explain a row as one number per feature where *larger means riskier*:

- the LightGBM PD model: each feature's TreeSHAP contribution to the log-odds of default
  (:meth:`credit.models.pd_model.LightGBMPD.contributions`); positive pushes the PD up
  from the population average, negative pulls it down;
- the scorecard: the points each feature's bin loses against the best bin of that feature
  (never negative; 0 for a firm in the best bin).

:func:`reason_codes` and :func:`reason_codes_from_points` then do the same thing: sum the
numbers of each code's features, keep the codes whose sum is positive, and order them by
size, largest first, ties by code.

A code the model ranks is *cited* only when it is true of the firm: :data:`REASON_CONDITIONS`
declares, for each code, the side of a stated threshold a firm's own values must be on
(the "short trading history" code only under two years on the platform, the "unverified or
small deposit" code only for an unverified firm or a deposit under EUR 1,000). Given the
firm's values, :func:`reason_codes` drops the codes whose condition does not hold, before
keeping the strongest ``top``: the model may find a long-standing firm's tenure worth a
little risk next to its other features, but the text would be false of it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

REASON_CATALOGUE_VERSION = 3
"""Bump when a code's meaning, a text or the feature-to-code rules change; decisions store it."""

REASON_CATALOGUE: dict[str, str] = {
    "R01": "Invoices currently past due",
    "R02": "Pays invoices late",
    "R03": "Low share of invoices paid on time",
    "R04": "Partial payments",
    "R05": "Payment delays getting longer",
    "R06": "Falling or volatile trading volume",
    "R07": "Short trading history on the platform (under two years)",
    "R08": "Few or concentrated trading partners or goods categories",
    "R09": "Trading partners in arrears or default",
    "R10": "High return, dispute or cancellation rate, or slow deliveries",
    "R11": "Little recent activity",
    "R12": "Firm profile (industry, size, region)",
    "R13": "Low trading volume or unusual order sizes",
    "R14": "Unverified firm or small deposit (under EUR 1,000)",
    "R15": "The firm's own customers pay it late or on long terms",
    "R16": "Heavy reliance on trade credit",
}
"""Code -> text shown to the finance team and in decision records."""

_ROLE = "(buyer|supplier)"
_ORDERS = "(buyer_order|supplier_sale)"  # the noun each role's order features use
_WINDOW = r"_(\d+[dm]|all)"  # 30d, 365d, 12m, 3m, all


def _windowed(stem: str) -> str:
    return stem + _WINDOW


FEATURE_RULES: list[tuple[str, str]] = [
    # payment behaviour as debtor
    ("R01", "debtor_(days_past_due|overdue_value|overdue_invoices)"),
    ("R02", _windowed("debtor_(days_late_mean|days_late_max|days_late_last|days_beyond_terms_mean"
                      "|days_beyond_terms_max|unpaid_at_due_value|late_payment_rate|days_since_payment)")),
    ("R03", _windowed("debtor_on_time_rate")),
    ("R04", _windowed("debtor_partial_payment_rate")),
    ("R05", _windowed("debtor_dbt_trend")),
    ("R16", _windowed("(debtor_(invoiced_value|invoices_due|terms_days_mean)|buyer_credit_terms_share)")),
    # payments owed to the firm
    ("R15", "creditor_overdue_value"),
    ("R15", _windowed("creditor_(invoiced_value|invoices_due|terms_days_mean|on_time_rate|unpaid_at_due_value"
                      "|days_late_mean|days_late_max|days_late_last|partial_payment_rate"
                      "|days_beyond_terms_mean|days_beyond_terms_max|late_payment_rate|days_since_payment)")),
    ("R15", _windowed("supplier_credit_terms_share")),
    # activity
    ("R06", _windowed(f"{_ROLE}_gmv_(growth|yoy|volatility)")),
    ("R07", "tenure_days"),
    ("R07", f"{_ORDERS}_count_all"),  # orders over all history: the length of the track record
    ("R11", _windowed(f"({_ROLE}_active_months|buyer_days_since_order|supplier_days_since_sale)")),
    ("R13", rf"({_ORDERS}_count|{_ROLE}_gmv)_\d+d"),
    ("R13", _windowed(f"{_ORDERS}_(mean|max|std)")),
    # counterparties
    ("R08", _windowed(f"(buyer_suppliers|supplier_buyers|{_ROLE}_categories|{_ROLE}_partners_(top_share|hhi))")),
    ("R09", _windowed(f"{_ROLE}_partners_(overdue_share|defaulted_share|defaulted)")),
    # conduct of trade
    ("R10", _windowed(f"{_ROLE}_(returns_count|returns_value|return_rate|disputes_count|disputed_value"
                      "|dispute_rate|cancelled_count|cancelled_value|cancellation_rate)")),
    ("R10", _windowed("(buyer_disputes_buyer_favour|supplier_disputes_lost|supplier_lead_time_(mean|max)"
                      "|supplier_hours_to_ship_mean)")),
    # the firm itself
    ("R12", "(industry|region|size_band|roles)"),
    ("R14", "(verified|deposit_minor)"),
]
"""(code, regular expression matching a whole feature column name). Each column must match exactly one rule."""

_COMPILED = [(code, re.compile(pattern)) for code, pattern in FEATURE_RULES]


@dataclass(frozen=True)
class Adverse:
    """One side of one threshold: the firm is on it when ``how`` of its known ``features`` is ``side`` ``threshold``.

    Unknown values (a feature the row lacks, null, NaN, a firm without that role) are left
    out; with none known the condition does not hold, so nothing unverifiable is cited.
    """

    features: tuple[str, ...]
    side: str  # "<" or ">"
    threshold: float
    how: str  # "max", "min" or "sum" of the known values
    text: str  # the condition as a finance reader reads it

    def holds(self, values: Mapping[str, Any]) -> bool:
        known = [number for number in (_number(values.get(name)) for name in self.features) if number is not None]
        if not known:
            return False
        total = {"max": max, "min": min, "sum": sum}[self.how](known)
        return total < self.threshold if self.side == "<" else total > self.threshold


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, str) and value not in ("inf", "-inf"):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _roles(stem: str) -> tuple[str, ...]:
    return tuple(stem.replace("<role>", role) for role in ("buyer", "supplier"))


REASON_CONDITIONS: dict[str, tuple[Adverse, ...] | None] = {
    "R01": (Adverse(("debtor_days_past_due", "debtor_overdue_invoices", "debtor_overdue_value"), ">", 0, "max",
                    "an invoice it owes is past due now"),),
    "R02": (Adverse(("debtor_days_late_mean_30d", "debtor_days_late_mean_90d", "debtor_days_late_mean_365d"), ">", 3,
                    "max", "it pays more than 3 days late on average (30, 90 or 365 days)"),
            Adverse(("debtor_late_payment_rate_30d", "debtor_late_payment_rate_90d", "debtor_late_payment_rate_365d",
                     "debtor_late_payment_rate_all"), ">", 0.1, "max",
                    "more than 10% of its invoices are paid late (any window)")),
    "R03": (Adverse(("debtor_on_time_rate_30d", "debtor_on_time_rate_90d", "debtor_on_time_rate_365d",
                     "debtor_on_time_rate_all"), "<", 0.9, "min",
                    "under 90% of its invoices paid on time (any window)"),),
    "R04": (Adverse(("debtor_partial_payment_rate_365d",), ">", 0, "max",
                    "it paid part of an invoice in the last 365 days"),),
    "R05": (Adverse(("debtor_dbt_trend_90d",), ">", 0, "max",
                    "its days beyond terms rose over the last 90 days"),),
    "R06": (Adverse((*_roles("<role>_gmv_growth_3m"), *_roles("<role>_gmv_yoy_3m")), "<", 0, "min",
                    "its trading volume fell (last 3 months against the 3 before, or year on year)"),
            Adverse(_roles("<role>_gmv_volatility_12m"), ">", 0.5, "max",
                    "its monthly trading volume varies by more than half its mean (12 months)")),
    "R07": (Adverse(("tenure_days",), "<", 730, "max", "under 730 days (two years) on the platform"),),
    "R08": (Adverse(("buyer_suppliers_365d", "supplier_buyers_365d"), "<", 3, "sum",
                    "fewer than 3 trading partners in the last 365 days"),
            Adverse(_roles("<role>_partners_top_share_365d"), ">", 0.5, "max",
                    "one partner has more than 50% of its trade (365 days)")),
    "R09": (Adverse((*_roles("<role>_partners_overdue_share_365d"), *_roles("<role>_partners_defaulted_share_365d"),
                     *_roles("<role>_partners_defaulted_365d")), ">", 0, "max",
                    "a trading partner of the last 365 days is in arrears or defaulted"),),
    "R10": (Adverse((*_roles("<role>_return_rate_365d"), *_roles("<role>_dispute_rate_365d"),
                     "supplier_cancellation_rate_365d"), ">", 0.05, "max",
                    "more than 5% of its orders returned, disputed or cancelled (365 days)"),
            Adverse(("supplier_hours_to_ship_mean_90d", "supplier_hours_to_ship_mean_365d"), ">", 72, "max",
                    "it takes more than 72 hours (3 days) on average to ship"),
            Adverse(("supplier_lead_time_mean_90d", "supplier_lead_time_mean_365d"), ">", 14, "max",
                    "its deliveries take more than 14 days on average")),
    "R11": (Adverse(_roles("<role>_active_months_12m"), "<", 6, "max",
                    "active in fewer than 6 of the last 12 months"),
            Adverse(("buyer_days_since_order_all", "supplier_days_since_sale_all"), ">", 60, "min",
                    "no order or sale in the last 60 days")),
    "R12": None,
    "R13": (Adverse(("buyer_gmv_365d", "supplier_gmv_365d"), "<", 5_000_000, "sum",
                    "traded under EUR 50,000 in the last 365 days"),
            Adverse(("buyer_order_count_365d", "supplier_sale_count_365d"), "<", 12, "sum",
                    "fewer than 12 orders and sales in the last 365 days")),
    "R14": (Adverse(("verified",), "<", 1, "min", "not verified"),
            Adverse(("deposit_minor",), "<", 100_000, "max", "a trading deposit under EUR 1,000")),
    "R15": (Adverse(("creditor_overdue_value",), ">", 0, "max", "its customers owe it past-due invoices now"),
            Adverse(("creditor_on_time_rate_90d", "creditor_on_time_rate_365d", "creditor_on_time_rate_all"), "<",
                    0.9, "min", "under 90% of its customers' invoices paid on time (any window)"),
            Adverse(("creditor_terms_days_mean_365d",), ">", 60, "max",
                    "it gives its customers more than 60 days on average to pay")),
    "R16": (Adverse(("buyer_credit_terms_share_90d", "buyer_credit_terms_share_365d", "buyer_credit_terms_share_all"),
                    ">", 0.5, "max", "more than half of its purchases on credit terms (any window)"),
            Adverse(("debtor_terms_days_mean_365d",), ">", 60, "max",
                    "its suppliers give it more than 60 days on average to pay")),
}
"""Code -> the conditions of which at least one must hold of the firm for the code to be cited.

``None`` (R12, the firm's profile) has no adverse side: the text states what the firm is,
which is true of every firm, and the model's judgement of it is the reason. Changing a
threshold changes what a code means: bump :data:`REASON_CATALOGUE_VERSION`.
"""


def true_of_firm(code: str, values: Mapping[str, Any]) -> bool:
    """Whether the code's text is true of a firm with these feature values (:data:`REASON_CONDITIONS`).

    Raises
    ------
    KeyError
        For a code not in the catalogue.
    """
    conditions = REASON_CONDITIONS[code]
    return conditions is None or any(condition.holds(values) for condition in conditions)


def feature_reason_codes(features: list[str] | pd.Index) -> dict[str, str]:
    """Map feature columns to their reason codes.

    Parameters
    ----------
    features
        Feature column names, e.g. a panel's ``feature_columns`` or a model's ``feature_names_in_``.

    Returns
    -------
    dict
        Feature -> code of :data:`REASON_CATALOGUE`.

    Raises
    ------
    ValueError
        Naming every feature that no rule matches, or that rules of two codes claim.
    """
    codes, unknown, ambiguous = {}, [], []
    for feature in features:
        matched = sorted({code for code, pattern in _COMPILED if pattern.fullmatch(str(feature))})
        if not matched:
            unknown.append(str(feature))
        elif len(matched) > 1:
            ambiguous.append(f"{feature} ({', '.join(matched)})")
        else:
            codes[feature] = matched[0]
    if unknown or ambiguous:
        parts = []
        if unknown:
            parts.append(f"no reason code for feature(s) {unknown}; add a rule to FEATURE_RULES in "
                         "credit/models/reasons.py")
        if ambiguous:
            parts.append(f"more than one reason code for feature(s) {ambiguous}")
        raise ValueError("; ".join(parts) + ".")
    return codes


def reason_codes(contributions: pd.DataFrame, top: int = 4, values: pd.DataFrame | None = None) -> list[list[str]]:
    """Ordered reason codes of each row from the PD model's log-odds contributions.

    Parameters
    ----------
    contributions
        One row per decision, one column per feature: the feature's contribution to the
        row's log-odds of default (positive raises the PD), as returned by
        :meth:`~credit.models.pd_model.LightGBMPD.contributions`. Column order does not matter.
    top
        Most codes per row.
    values
        The rows' feature values, row for row (a panel frame; other columns are ignored).
        Given, a code is kept only when it is true of the row's firm (:func:`true_of_firm`);
        every text a person reads must come with them. Without, the model's ranking alone.

    Returns
    -------
    list of list of str
        For each row, in row order: the codes whose features' contributions sum to more than
        0 (and true of the firm), largest sum first, equal sums in code order; at most
        ``top``, possibly none (a firm nothing counts against).

    Raises
    ------
    ValueError
        For ``top`` below 1, a column without a reason code (named), missing contributions,
        or ``values`` of another number of rows.
    """
    return _ranked(contributions, top, "contributions", values)


def reason_codes_from_points(points_below_best: pd.DataFrame, top: int = 4,
                             values: pd.DataFrame | None = None) -> list[list[str]]:
    """Ordered reason codes of each row from a scorecard's points lost per feature.

    The scorecard explains a row differently from the PD model: a high score is good, so a
    feature's reason is how many points its bin scores *below* the best bin of that feature
    (0 in the best bin, never negative). Larger loss means stronger reason, which is the
    same direction as a positive log-odds contribution, so the codes come out exactly as in
    :func:`reason_codes`: points lost summed per code, codes with a positive loss kept,
    largest first, ties by code.

    Parameters
    ----------
    points_below_best
        One row per decision, one column per feature: best-bin points minus the row's points.
    top
        Most codes per row.
    values
        The rows' feature values, as for :func:`reason_codes`: given, only codes true of the firm.

    Returns
    -------
    list of list of str
        For each row, at most ``top`` codes, strongest first; empty for a firm in the best
        bin of every feature.

    Raises
    ------
    ValueError
        For ``top`` below 1, a column without a reason code (named), missing values, or a
        negative loss (a bin scoring above what was given as the best).
    """
    points = points_below_best.to_numpy(dtype=np.float64)
    negative = [str(c) for c, bad in zip(points_below_best.columns, (points < 0).any(axis=0)) if bad]
    if negative:
        raise ValueError(f"`points_below_best` must be >= 0 (points lost against the best bin); "
                         f"negative in column(s) {negative}.")
    return _ranked(points_below_best, top, "points_below_best", values)


def _ranked(frame: pd.DataFrame, top: int, name: str, values: pd.DataFrame | None) -> list[list[str]]:
    """Sum per code, keep positive sums, order by size then code (the shared logic of both variants)."""
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"`top` must be an integer >= 1; got {top!r}.")
    duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
    if duplicated:
        raise ValueError(f"`{name}` has duplicated column(s) {duplicated}.")
    codes = feature_reason_codes(list(frame.columns))
    missing = [str(c) for c in frame.columns[frame.isna().any(axis=0).to_numpy()]]
    if missing:
        raise ValueError(f"`{name}` has missing values in column(s) {missing}.")
    # add features in one fixed order (by code, then name): float addition is not associative,
    # so summing in the caller's column order could flip a near-tie when columns are shuffled
    # (np.add.reduceat would not do: its order of addition is its own)
    by_code: dict[str, list] = {}
    for column in sorted(frame.columns, key=lambda c: (codes[c], str(c))):
        by_code.setdefault(codes[column], []).append(column)
    catalogue = list(by_code)
    totals = np.zeros((len(frame), len(catalogue)))
    for j, columns in enumerate(by_code.values()):
        for column in columns:
            totals[:, j] += frame[column].to_numpy(dtype=np.float64)
    # catalogue is in code order, so a stable sort on the negated totals breaks ties by code
    order = np.argsort(-totals, axis=1, kind="stable")
    if values is None:
        return [[catalogue[j] for j in row_order[:top] if row_totals[j] > 0]
                for row_order, row_totals in zip(order, totals)]
    if len(values) != len(frame):
        raise ValueError(f"`values` has {len(values)} rows; `{name}` has {len(frame)}.")
    wanted = sorted({feature for conditions in REASON_CONDITIONS.values() for condition in conditions or ()
                     for feature in condition.features} & set(values.columns))
    rows = values[wanted].astype(object).to_dict("records")
    return [[catalogue[j] for j in row_order if row_totals[j] > 0 and true_of_firm(catalogue[j], row)][:top]
            for row_order, row_totals, row in zip(order, totals, rows)]
