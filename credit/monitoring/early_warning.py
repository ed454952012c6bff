"""The early-warning list: firms whose credit is deteriorating, each with reason codes from a fixed catalogue.

Every rule is a pure function of small tables (as-of ``t`` is the month monitored) and returns,
per firm it flags, the numbers behind the flag. :func:`early_warnings` runs them all and
keeps the firms scored at ``t``; :func:`gather_inputs` reads the tables the rules need from
the feature panel, the history and the exposure ledger; what is unpaid and how many days
past due, as :mod:`credit.standing` defines them. Thresholds come from
:class:`credit.monitoring.config.EarlyWarningConfig`; the arrears block from the credit
policy (``checkout.max_days_past_due``).

=======================  ==============================================================
code                     the firm is flagged when
=======================  ==============================================================
``grade_drop``           its grade at ``t`` is at least ``grade_drop_notches`` grades of the
                         master scale worse than ``grade_drop_months`` months before
``new_overdue``          an invoice it owes, unpaid at ``t``, is at least
                         ``overdue_grace_days`` days past due at ``t`` but was not
                         ``overdue_lookback_days`` days before (whole days past due)
``dbt_rising``           its mean days beyond terms over the last 90 days exceed those of
                         the 90 days before by at least ``dbt_rise_days`` (panel feature
                         ``debtor_dbt_trend_90d``)
``partner_default``      a partner with at least ``partner_min_share`` of its trade
                         (purchases plus sales, orders of the last 365 days not cancelled
                         before ``t``) had its first credit event in the last
                         ``partner_lookback_days`` days
``arrears_approaching``  it has an active credit line, is not blocked at checkout now (no
                         invoice more than ``B``
                         days past due, ``B`` the policy's block), an invoice it owes unpaid
                         reaches ``B + 1`` days past due within ``arrears_horizon_days``,
                         and its mean days beyond terms over the last 90 days exceed ``B``
                         (paying as it has lately, it will be blocked)
``utilisation_high``     its credit line (not closed) has posted plus held exposure of at
                         least ``utilisation_share`` of the limit (the ledger now)
=======================  ==============================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from credit.monitoring.config import EarlyWarningConfig
from credit.monitoring.results import EarlyWarning, ordered_reasons
from credit.standing import DAY
from credit.standing import days_past_due as days_past_due_of
from credit.standing.frames import INVOICE_COLUMNS, PAYMENT_COLUMNS, invoice_standing

Flags = dict[int, dict[str, Any]]
"""firm_id -> the numbers behind one rule's flag."""


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def grade_drop(pd_now: pd.Series, pd_before: pd.Series, grades_of, grade_order: tuple[str, ...],  # noqa: ANN001
               notches: int) -> Flags:
    """Firms whose grade worsened by at least ``notches`` grades.

    Parameters
    ----------
    pd_now, pd_before
        PD by firm id (the index) at ``t`` and at the earlier date; firms in only one are skipped.
    grades_of
        PDs -> grades on the master scale (:meth:`credit.policy.Policy.grades_of`).
    grade_order
        The scale's grades, best first.
    notches
        Smallest drop flagged.

    Returns
    -------
    dict
        firm_id -> ``grade_before``, ``grade_now``, ``notches``, ``pd_before``, ``pd_now``.
    """
    both = pd.DataFrame({"now": pd_now, "before": pd_before}).dropna()
    if both.empty:
        return {}
    rank = {grade: i for i, grade in enumerate(grade_order)}
    now, before = grades_of(both["now"].to_numpy()), grades_of(both["before"].to_numpy())
    drop = np.array([rank[n] - rank[b] for n, b in zip(now, before, strict=True)])
    flagged = {}
    for firm_id, grade_now, grade_before, fell, p_now, p_before in zip(
            both.index, now, before, drop, both["now"], both["before"], strict=True):
        if fell >= notches:
            flagged[int(firm_id)] = {"grade_before": str(grade_before), "grade_now": str(grade_now),
                                     "notches": int(fell), "pd_before": round(float(p_before), 6),
                                     "pd_now": round(float(p_now), 6)}
    return flagged


def new_overdue(unpaid: pd.DataFrame, as_of: date, grace_days: int, lookback_days: int) -> Flags:
    """Firms with invoices unpaid at ``as_of`` that became ``grace_days`` past due in the last ``lookback_days`` days.

    Whole days past due at ``as_of`` (``d``) must satisfy ``grace_days <= d < grace_days +
    lookback_days``: at least ``grace_days`` now, fewer ``lookback_days`` days ago.

    Parameters
    ----------
    unpaid
        Invoices unpaid (in part or whole) at ``as_of``: ``invoice_id``, ``buyer_id`` (the
        debtor), ``due_at``, ``unpaid_minor``.
    as_of
        The month monitored (midnight).

    Returns
    -------
    dict
        firm_id -> ``invoices``, ``unpaid_minor`` (their unpaid amount) and ``max_days_past_due``.
    """
    at = pd.Timestamp(_midnight(as_of))
    days_past_due = days_past_due_of(unpaid["due_at"], at) if len(unpaid) else pd.Series(dtype=np.int64)
    crossed = (days_past_due >= grace_days) & (days_past_due < grace_days + lookback_days)
    rows = unpaid[crossed].assign(days_past_due=days_past_due[crossed])
    return {int(firm_id): {"invoices": int(len(group)), "unpaid_minor": int(group["unpaid_minor"].sum()),
                           "max_days_past_due": int(group["days_past_due"].max())}
            for firm_id, group in rows.groupby("buyer_id")}


def dbt_rising(features: pd.DataFrame, min_rise_days: float) -> Flags:
    """Firms whose days beyond terms rose by at least ``min_rise_days``.

    Parameters
    ----------
    features
        Panel rows at ``t`` indexed by firm id, with ``debtor_dbt_trend_90d`` and
        ``debtor_days_beyond_terms_mean_90d``.

    Returns
    -------
    dict
        firm_id -> ``dbt_rise_days`` (the trend) and ``dbt_mean_90d_days``.
    """
    trend = features["debtor_dbt_trend_90d"]
    rows = features[trend.notna() & (trend >= min_rise_days)]
    return {int(firm_id): {"dbt_rise_days": round(float(row.debtor_dbt_trend_90d), 2),
                           "dbt_mean_90d_days": round(float(row.debtor_days_beyond_terms_mean_90d), 2)}
            for firm_id, row in rows.iterrows()}


def partner_default(trade: pd.DataFrame, first_events: pd.DataFrame, as_of: date, min_share: float,
                    lookback_days: int) -> Flags:
    """Firms a large trading partner of which had a first credit event within the lookback.

    Parameters
    ----------
    trade
        Trade of the last 365 days by pair, both directions: ``firm_id``, ``partner_id``,
        ``trade_minor`` (the firm's purchases from plus sales to the partner).
    first_events
        Each firm's first credit event: ``firm_id``, ``occurred_at``, ``kind``.
    as_of
        The month monitored.

    Returns
    -------
    dict
        firm_id -> the largest such partner: ``partner_id``, ``share`` of the firm's trade,
        ``trade_minor``, ``event_at`` (ISO date), ``event_kind``; and ``partners`` (how many).
    """
    if trade.empty or first_events.empty:
        return {}
    at = pd.Timestamp(_midnight(as_of))
    recent = first_events[(first_events["occurred_at"] < at)
                          & (first_events["occurred_at"] >= at - pd.Timedelta(days=lookback_days))]
    totals = trade.groupby("firm_id")["trade_minor"].transform("sum")
    shares = trade.assign(share=trade["trade_minor"] / totals)
    hit = shares.merge(recent.rename(columns={"firm_id": "partner_id"}), on="partner_id")
    hit = hit[hit["share"] >= min_share].sort_values(["firm_id", "share", "partner_id"],
                                                     ascending=[True, False, True])
    flagged = {}
    for firm_id, group in hit.groupby("firm_id", sort=True):
        top = group.iloc[0]
        flagged[int(firm_id)] = {"partner_id": int(top.partner_id), "share": round(float(top.share), 4),
                                 "trade_minor": int(top.trade_minor),
                                 "event_at": pd.Timestamp(top.occurred_at).date().isoformat(),
                                 "event_kind": str(top.kind), "partners": int(len(group))}
    return flagged


def arrears_approaching(unpaid: pd.DataFrame, features: pd.DataFrame, lines: pd.DataFrame, as_of: date,
                        block_days: int, horizon_days: int) -> Flags:
    """Buyers with an active credit line, not blocked now, whose unpaid invoices reach the arrears block soon.

    Only a buyer with an active line can be refused at checkout; of those, the rule keeps the
    ones paying as late as they have lately would take past the block.

    Parameters
    ----------
    unpaid
        As for :func:`new_overdue`.
    lines
        As for :func:`utilisation_high`.
    features
        Panel rows at ``t`` indexed by firm id, with ``debtor_days_past_due`` (most days
        past due now) and ``debtor_days_beyond_terms_mean_90d``.
    block_days
        The checkout refuses a buyer with an invoice more than this many days past due
        (``checkout.max_days_past_due`` of the policy).
    horizon_days
        How soon.

    Returns
    -------
    dict
        firm_id -> ``invoices``, ``unpaid_minor``, ``blocked_from`` (ISO date the first of
        them crosses the block), ``dbt_mean_90d_days``, ``block_after_days``.
    """
    if unpaid.empty:
        return {}
    at = pd.Timestamp(_midnight(as_of))
    # an invoice is past the block once it is block_days + 1 whole days past due
    blocked_from = unpaid["due_at"] + (block_days + 1) * DAY
    soon = unpaid[(blocked_from > at) & (blocked_from <= at + pd.Timedelta(days=horizon_days))]
    soon = soon.assign(blocked_from=blocked_from[soon.index])
    with_line = set(lines.loc[lines["status"] == "active", "firm_id"].astype(int))
    late_payers = features[(features["debtor_days_past_due"].fillna(0) <= block_days)
                           & (features["debtor_days_beyond_terms_mean_90d"] > block_days)
                           & features.index.isin(with_line)]
    flagged = {}
    for firm_id, group in soon[soon["buyer_id"].isin(late_payers.index)].groupby("buyer_id"):
        flagged[int(firm_id)] = {
            "invoices": int(len(group)), "unpaid_minor": int(group["unpaid_minor"].sum()),
            "blocked_from": group["blocked_from"].min().date().isoformat(),
            "dbt_mean_90d_days": round(float(late_payers.loc[firm_id, "debtor_days_beyond_terms_mean_90d"]), 2),
            "block_after_days": int(block_days)}
    return flagged


def utilisation_high(lines: pd.DataFrame, min_share: float) -> Flags:
    """Firms whose credit line (not closed) is used to at least ``min_share`` of its limit.

    Parameters
    ----------
    lines
        ``firm_id``, ``limit_minor``, ``posted_minor``, ``pending_minor``, ``status``.

    Returns
    -------
    dict
        firm_id -> ``limit_minor``, ``posted_minor``, ``pending_minor``, ``utilisation``.
    """
    open_lines = lines[(lines["status"] != "closed") & (lines["limit_minor"] > 0)]
    flagged = {}
    for row in open_lines.itertuples(index=False):
        used = int(row.posted_minor) + int(row.pending_minor)
        # integer comparison: used / limit >= share without a float of money
        if used * 10_000 >= round(min_share * 10_000) * int(row.limit_minor):
            flagged[int(row.firm_id)] = {"limit_minor": int(row.limit_minor), "posted_minor": int(row.posted_minor),
                                         "pending_minor": int(row.pending_minor),
                                         "utilisation": round(used / int(row.limit_minor), 4)}
    return flagged


@dataclass(frozen=True)
class EarlyWarningInputs:
    """What the rules read, as of the month monitored (see :func:`gather_inputs`).

    Attributes
    ----------
    pd_now, pd_before
        PD by firm at ``as_of`` and ``grade_drop_months`` earlier (empty when the panel has no such month).
    features
        Panel rows at ``as_of`` indexed by firm id (the firms that may be listed).
    unpaid
        Invoices unpaid at ``as_of`` due in the span the rules look at.
    trade, first_events
        Trade by pair over the last 365 days, and each firm's first credit event.
    lines
        The credit lines of the exposure ledger.
    """

    as_of: date
    pd_now: pd.Series
    pd_before: pd.Series
    features: pd.DataFrame
    unpaid: pd.DataFrame
    trade: pd.DataFrame
    first_events: pd.DataFrame
    lines: pd.DataFrame


def early_warnings(inputs: EarlyWarningInputs, config: EarlyWarningConfig, *, grades_of, grade_order: tuple[str, ...],  # noqa: ANN001
                   block_days: int) -> tuple[EarlyWarning, ...]:
    """Run every rule and list the firms scored at ``as_of`` that any rule flags.

    Returns
    -------
    tuple of EarlyWarning
        One per flagged firm, reasons in the catalogue's order, ``details`` keyed by reason
        code; most reasons first, then by firm id.
    """
    rules = {
        "grade_drop": grade_drop(inputs.pd_now, inputs.pd_before, grades_of, grade_order, config.grade_drop_notches),
        "new_overdue": new_overdue(inputs.unpaid, inputs.as_of, config.overdue_grace_days,
                                   config.overdue_lookback_days),
        "dbt_rising": dbt_rising(inputs.features, config.dbt_rise_days),
        "partner_default": partner_default(inputs.trade, inputs.first_events, inputs.as_of, config.partner_min_share,
                                           config.partner_lookback_days),
        "arrears_approaching": arrears_approaching(inputs.unpaid, inputs.features, inputs.lines, inputs.as_of,
                                                   block_days, config.arrears_horizon_days),
        "utilisation_high": utilisation_high(inputs.lines, config.utilisation_share),
    }
    scored = set(int(firm_id) for firm_id in inputs.features.index)
    by_firm: dict[int, dict[str, Any]] = {}
    for code, flags in rules.items():
        for firm_id, details in flags.items():
            if firm_id in scored:
                by_firm.setdefault(firm_id, {})[code] = details
    listed = [EarlyWarning(firm_id=firm_id, reasons=ordered_reasons(list(details)), details=details)
              for firm_id, details in by_firm.items()]
    return tuple(sorted(listed, key=lambda w: (-len(w.reasons), w.firm_id)))


def gather_inputs(history, engine: Engine, panel_rows: pd.DataFrame, pd_: pd.Series, as_of: date,  # noqa: ANN001
                  before: date | None, config: EarlyWarningConfig, block_days: int) -> EarlyWarningInputs:
    """Read the rules' tables: panel rows and PDs at ``as_of`` and ``before``, history, ledger.

    Parameters
    ----------
    history
        A :class:`credit.features.history.History` reaching ``as_of``.
    engine
        The store, for the exposure ledger's ``credit_lines``.
    panel_rows
        Panel rows (``firm_id``, ``as_of`` and features) of at least ``as_of`` and ``before``.
    pd_
        The model's PD of each of ``panel_rows`` (same index).
    before
        The earlier month of the grade comparison; None when the panel lacks it.
    """
    day = panel_rows["as_of"].dt.date
    now = panel_rows[day == as_of]
    pd_now = pd.Series(pd_[now.index].to_numpy(), index=now["firm_id"].to_numpy())
    if before is None:
        pd_before = pd.Series(dtype=float)
    else:
        then = panel_rows[day == before]
        pd_before = pd.Series(pd_[then.index].to_numpy(), index=then["firm_id"].to_numpy())
    at = _midnight(as_of)
    earliest_due = at - timedelta(days=max(config.overdue_grace_days + config.overdue_lookback_days, block_days + 1))
    latest_due = at + timedelta(days=config.arrears_horizon_days)
    span = "FROM invoices WHERE issued_at < $at AND due_at >= $earliest AND due_at < $latest"
    bounds = {"at": at, "earliest": earliest_due, "latest": latest_due}
    invoices = history.connection.execute(f"SELECT {', '.join(INVOICE_COLUMNS)} {span}", bounds).df()
    payments = history.connection.execute(
        f"SELECT {', '.join(PAYMENT_COLUMNS)} FROM payments WHERE paid_at < $at "
        f"AND invoice_id IN (SELECT invoice_id {span})", bounds).df()
    unpaid = (invoice_standing(invoices, payments, at).sort_values("invoice_id", ignore_index=True)
              .rename(columns={"outstanding_minor": "unpaid_minor"})
              [["invoice_id", "buyer_id", "due_at", "amount_minor", "unpaid_minor"]])
    first_events = history.connection.execute("""
        SELECT firm_id, min(occurred_at) AS occurred_at, arg_min(kind, occurred_at) AS kind
        FROM credit_events WHERE occurred_at < $at GROUP BY firm_id""", {"at": at}).df()
    recent = at - timedelta(days=config.partner_lookback_days)
    # only pairs whose partner failed recently matter, but the shares need each firm's whole trade
    trade = history.connection.execute("""
        WITH sides AS (
            SELECT buyer_id AS firm_id, supplier_id AS partner_id, amount_minor FROM orders
            WHERE created_at >= $since AND created_at < $at AND (cancelled_at IS NULL OR cancelled_at >= $at)
            UNION ALL
            SELECT supplier_id, buyer_id, amount_minor FROM orders
            WHERE created_at >= $since AND created_at < $at AND (cancelled_at IS NULL OR cancelled_at >= $at)
        ), failed AS (
            SELECT firm_id FROM credit_events GROUP BY firm_id HAVING min(occurred_at) >= $recent
               AND min(occurred_at) < $at
        ), exposed AS (
            SELECT DISTINCT firm_id FROM sides WHERE partner_id IN (SELECT firm_id FROM failed)
        )
        SELECT firm_id, partner_id, CAST(sum(amount_minor) AS BIGINT) AS trade_minor FROM sides
        WHERE firm_id IN (SELECT firm_id FROM exposed) GROUP BY firm_id, partner_id""",
        {"at": at, "since": at - timedelta(days=365), "recent": recent}).df()
    from credit.ledger.tables import CreditLine

    with engine.connect() as connection:
        lines = pd.DataFrame(connection.execute(select(
            CreditLine.firm_id, CreditLine.limit_minor, CreditLine.posted_minor, CreditLine.pending_minor,
            CreditLine.status)).all(), columns=["firm_id", "limit_minor", "posted_minor", "pending_minor", "status"])
    features = now.set_index("firm_id")[["debtor_dbt_trend_90d", "debtor_days_beyond_terms_mean_90d",
                                         "debtor_days_past_due"]]
    return EarlyWarningInputs(as_of=as_of, pd_now=pd_now, pd_before=pd_before, features=features, unpaid=unpaid,
                              trade=trade, first_events=first_events, lines=lines)
