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
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

REASON_CATALOGUE_VERSION = 2
"""Bump when a code's meaning, a text or the feature-to-code rules change; decisions store it."""

REASON_CATALOGUE: dict[str, str] = {
    "R01": "Invoices currently past due",
    "R02": "Pays invoices late",
    "R03": "Low share of invoices paid on time",
    "R04": "Partial payments",
    "R05": "Payment delays getting longer",
    "R06": "Falling or volatile trading volume",
    "R07": "Short trading history on the platform",
    "R08": "Few or concentrated trading partners or goods categories",
    "R09": "Trading partners in arrears or default",
    "R10": "High return, dispute or cancellation rate, or slow deliveries",
    "R11": "Little recent activity",
    "R12": "Firm profile (industry, size, region)",
    "R13": "Low trading volume or unusual order sizes",
    "R14": "Unverified firm or small deposit",
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


def reason_codes(contributions: pd.DataFrame, top: int = 4) -> list[list[str]]:
    """Ordered reason codes of each row from the PD model's log-odds contributions.

    Parameters
    ----------
    contributions
        One row per decision, one column per feature: the feature's contribution to the
        row's log-odds of default (positive raises the PD), as returned by
        :meth:`~credit.models.pd_model.LightGBMPD.contributions`. Column order does not matter.
    top
        Most codes per row.

    Returns
    -------
    list of list of str
        For each row, in row order: the codes whose features' contributions sum to more than
        0, largest sum first, equal sums in code order; at most ``top``, possibly none (a
        firm nothing counts against).

    Raises
    ------
    ValueError
        For ``top`` below 1, a column without a reason code (named), or missing values.
    """
    return _ranked(contributions, top, "contributions")


def reason_codes_from_points(points_below_best: pd.DataFrame, top: int = 4) -> list[list[str]]:
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
    values = points_below_best.to_numpy(dtype=np.float64)
    negative = [str(c) for c, bad in zip(points_below_best.columns, (values < 0).any(axis=0)) if bad]
    if negative:
        raise ValueError(f"`points_below_best` must be >= 0 (points lost against the best bin); "
                         f"negative in column(s) {negative}.")
    return _ranked(points_below_best, top, "points_below_best")


def _ranked(frame: pd.DataFrame, top: int, name: str) -> list[list[str]]:
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
    return [[catalogue[j] for j in row_order[:top] if row_totals[j] > 0]
            for row_order, row_totals in zip(order, totals)]
