"""Domain features that the declarative form cannot express, as pure functions.

Each function takes the history, the as-of grid and the firms, and returns a
:class:`~credit.features.block.FeatureBlock`; none writes anything. Like the engine they see
only events strictly before each as-of date, and use the state of an invoice or order as it
was known then.

- :func:`overdue_as_of`: days past due and overdue amounts owed by and to the firm.
- :func:`monthly_activity`: active months, growth, volatility and seasonally adjusted trend
  of monthly GMV.
- :func:`trade_network`: counterparty concentration (distinct partners, top share, HHI) and
  network risk (trade-weighted share of partners overdue or already defaulted).
- :data:`DERIVED`: rates and trends combined from declarative aggregates.
- :func:`tenure_days`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from credit.features.asof import AsOfGrid
from credit.features.block import FeatureBlock
from credit.features.definitions import Aggregate, Feature
from credit.features.engine import MonthlyTotals
from credit.features.history import History
from credit.features.sources import DAY_US
from credit.standing.definition import overdue_cutoff
from credit.standing.frames import INVOICE_COLUMNS, PAYMENT_COLUMNS, firm_standing, invoice_standing

OVERDUE_DAYS_FOR_RISK = 30
"""A partner counts as 'overdue' in network features from this many days past due."""
CONCENTRATION_WINDOW = 365
MIN_MONTHS_FOR_VOLATILITY = 3


def overdue_as_of(history: History, grid: AsOfGrid, firms: np.ndarray) -> FeatureBlock:
    """Days past due and overdue amounts at each as-of date, as debtor and as creditor.

    Standing as :mod:`credit.standing` defines it (the service's checkout and credit-line
    decisions read the same): an invoice is overdue at as-of ``t`` when the payments made
    before ``t`` leave something of it unpaid and it is at least one whole day past due.

    Returns
    -------
    FeatureBlock
        ``debtor_days_past_due`` (largest, 0 with nothing overdue), ``debtor_overdue_value``
        and ``debtor_overdue_invoices``, and ``creditor_overdue_value`` (owed to the firm).
    """
    times = grid.as_of_timestamps()
    # only invoices that are overdue at some as-of date if unpaid then, with their payments: the
    # first as-of date a whole day past the due time (its overdue cutoff) is not after the payment
    # that paid the invoice in full. A few percent of the invoices; the standing of those is then
    # judged in full, and every other one has no overdue row at any date anyway.
    cutoffs = overdue_cutoff(times)
    bounds = {"last_cutoff": cutoffs[-1].astype(datetime)}
    first_overdue = []
    for k, (cutoff, as_of) in enumerate(zip(cutoffs, times, strict=True)):
        bounds[f"cutoff{k}"], bounds[f"as_of{k}"] = cutoff.astype(datetime), as_of.astype(datetime)
        first_overdue.append(f"WHEN due_at <= $cutoff{k} THEN $as_of{k}")
    candidates = (f"FROM _invoice_facts WHERE due_at <= $last_cutoff "
                  f"AND (settled_at IS NULL OR settled_at >= CASE {' '.join(first_overdue)} END)")
    invoices = history.connection.execute(
        f"SELECT {', '.join(INVOICE_COLUMNS)} {candidates}", bounds).df()
    payments = history.connection.execute(
        f"SELECT {', '.join(PAYMENT_COLUMNS)} FROM _payment_facts "
        f"WHERE paid_at < $last AND invoice_id IN (SELECT invoice_id {candidates})",
        {**bounds, "last": times[-1].astype(datetime)}).df()
    overdue = invoice_standing(invoices, payments, times, overdue_only=True)
    block = FeatureBlock(firms, grid.dates)
    shape = (len(firms), len(grid.dates))
    for role, column in (("debtor", "buyer_id"), ("creditor", "supplier_id")):
        standing = firm_standing(overdue, by=column)
        ids = standing[column].to_numpy()
        mine = np.isin(ids, firms)
        at = (block.positions(ids[mine]), np.searchsorted(times, standing["as_of"].to_numpy("datetime64[us]")[mine]))
        columns = {"overdue_value": "overdue_minor"} if role == "creditor" else {
            "overdue_value": "overdue_minor", "overdue_invoices": "overdue_invoices", "days_past_due": "days_past_due"}
        for name, source in columns.items():
            values = np.zeros(shape)
            values[at] = standing[source].to_numpy()[mine]
            block.add(f"{role}_{name}", values)
    return block


def monthly_gmv(grid: AsOfGrid) -> MonthlyTotals:
    """The order value per firm and calendar month that :func:`monthly_activity` needs.

    From 24 months before the first as-of month to the last as-of month. The engine sums it in
    its pass over the orders (:func:`credit.features.engine.compute_features`), so the orders
    are not read again for it.
    """
    first_month = _month_number(grid.dates[0]) - 24
    return MonthlyTotals("orders", "amount_minor", first_month, _month_number(grid.dates[-1]) - first_month + 1)


def monthly_activity(history: History, grid: AsOfGrid, firms: np.ndarray, gmv: MonthlyTotals) -> FeatureBlock:
    """Trends of monthly GMV over the calendar months completed before each as-of date.

    Only months from the firm's registration month on count. For each role (buyer, supplier):

    - ``<role>_active_months_12m``: months with an order among the last 12;
    - ``<role>_gmv_growth_3m``: GMV of the last 3 months over the 3 before, minus 1;
    - ``<role>_gmv_yoy_3m``: GMV of the last 3 months over the same 3 months a year
      earlier, minus 1 (a seasonally adjusted trend);
    - ``<role>_gmv_volatility_12m``: sample standard deviation over mean of monthly GMV in
      the last 12 months (at least 3 months needed).

    Ratios are null when their base is 0. ``gmv`` is :func:`monthly_gmv`'s request for ``grid``,
    filled by the engine's pass over the orders for ``firms``.
    """
    first_month = gmv.first_month
    months = gmv.months - 1
    # the months complete at as-of d are those before d's own month (still running at d,
    # or just starting when d is the 1st): indices below this
    complete = np.array([_month_number(d) - first_month for d in grid.dates])
    block = FeatureBlock(firms, grid.dates)
    registered = history.connection.sql(
        f"SELECT firm_id, (year(registered_at) * 12 + month(registered_at) - 1) - {first_month} AS month "
        f"FROM firms").to_arrow_table()
    start = np.full(len(firms), -10**6, dtype=np.int64)
    ids = registered.column("firm_id").to_numpy()
    mine = np.isin(ids, firms)
    start[block.positions(ids[mine])] = registered.column("month").to_numpy()[mine]
    for role in ("buyer", "supplier"):
        gmv_by_month = gmv.totals[role].astype(np.float64)
        columns = {name: block.empty() for name in ("active", "growth", "yoy", "volatility")}
        for k, end in enumerate(complete):
            month_index = np.arange(months + 1)[None, :]
            eligible = month_index >= start[:, None]
            last12 = gmv_by_month[:, end - 12:end]
            known12 = eligible[:, end - 12:end]
            columns["active"][:, k] = ((last12 > 0) & known12).sum(axis=1)
            recent, before = gmv_by_month[:, end - 3:end].sum(axis=1), gmv_by_month[:, end - 6:end - 3].sum(axis=1)
            year_ago = gmv_by_month[:, end - 15:end - 12].sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                columns["growth"][:, k] = np.where((before > 0) & eligible[:, end - 6], recent / before - 1, np.nan)
                columns["yoy"][:, k] = np.where((year_ago > 0) & eligible[:, end - 15], recent / year_ago - 1, np.nan)
                n = known12.sum(axis=1)
                known = np.where(known12, last12, 0.0)
                mean = known.sum(axis=1) / n
                std = np.sqrt((np.where(known12, (last12 - mean[:, None]) ** 2, 0.0)).sum(axis=1) / (n - 1))
                columns["volatility"][:, k] = np.where((n >= MIN_MONTHS_FOR_VOLATILITY) & (mean > 0), std / mean, np.nan)
        block.add(f"{role}_active_months_12m", columns["active"])
        block.add(f"{role}_gmv_growth_3m", columns["growth"])
        block.add(f"{role}_gmv_yoy_3m", columns["yoy"])
        block.add(f"{role}_gmv_volatility_12m", columns["volatility"])
    return block


def _month_number(day: date) -> int:
    return day.year * 12 + day.month - 1


def partner_flags(history: History, grid: AsOfGrid, overdue: FeatureBlock) -> FeatureBlock:
    """Per firm and as-of: overdue by at least 30 days, and defaulted before the date (0/1)."""
    block = FeatureBlock(overdue.firms, grid.dates)
    block.add("overdue", (overdue.columns["debtor_days_past_due"] >= OVERDUE_DAYS_FOR_RISK).astype(np.float64))
    table = history.connection.sql(
        "SELECT firm_id, min(occurred_at) AS first_event FROM credit_events GROUP BY firm_id").to_arrow_table()
    defaulted = np.zeros((len(block.firms), len(grid.dates)))
    ids = table.column("firm_id").to_numpy()
    known = np.isin(ids, block.firms)
    first = table.column("first_event").to_numpy()[known].astype("datetime64[us]")
    defaulted[block.positions(ids[known])] = first[:, None] < grid.as_of_timestamps()[None, :]
    block.add("defaulted", defaulted)
    return block


def trade_network(history: History, grid: AsOfGrid, firms: np.ndarray, partners: FeatureBlock) -> FeatureBlock:
    """Counterparty concentration and partner risk over the last 365 days, as buyer and as supplier.

    Weights are each partner's share of the firm's order value in the window.

    - ``<role>_partners_top_share_365d``: largest partner share;
    - ``<role>_partners_hhi_365d``: Herfindahl index, the sum of squared shares;
    - ``<role>_partners_overdue_share_365d``: trade-weighted share of partners 30+ days past
      due at the as-of date (trade-weighted partner risk);
    - ``<role>_partners_defaulted_share_365d`` and ``<role>_partners_defaulted_365d``: share
      of trade with, and number of, partners with a credit event before the as-of date.

    Shares are null for a firm with no trade in the window. ``partners`` holds the flags of
    every firm (:func:`partner_flags`), not only of ``firms``.
    """
    first = grid.dates[0]
    # for every firm the universe test passes every order: left out, it saves near a third of the query
    among = "" if history.whole_universe else \
        "AND (o.buyer_id IN (SELECT firm_id FROM _universe) OR o.supplier_id IN (SELECT firm_id FROM _universe))"
    # order value per (buyer, supplier, segment), sorted so that each pair is one run of rows
    table = history.connection.sql(f"""
        SELECT o.buyer_id, o.supplier_id, coalesce(d.segment, 0) AS segment,
               CAST(sum(o.amount_minor) AS BIGINT) AS gmv
        FROM orders o LEFT JOIN _day_segments d ON d.day = CAST(o.created_at AS DATE)
        WHERE o.created_at < $last AND o.created_at >= $first - INTERVAL {CONCENTRATION_WINDOW} DAY {among}
        GROUP BY ALL ORDER BY o.buyer_id, o.supplier_id, segment""",
        params={"last": grid.as_of_timestamps()[-1].astype(datetime),
                "first": datetime(first.year, first.month, first.day)}).to_arrow_table()
    buyer, supplier = table.column("buyer_id").to_numpy(), table.column("supplier_id").to_numpy()
    segment, gmv = table.column("segment").to_numpy(), table.column("gmv").to_numpy().astype(np.float64)
    new_pair = np.ones(len(buyer), dtype=bool)
    new_pair[1:] = (buyer[1:] != buyer[:-1]) | (supplier[1:] != supplier[:-1])
    pair_start = np.flatnonzero(new_pair)
    pair_gmv = np.zeros((len(grid.dates), len(pair_start)))

    def window_trade(k: int) -> None:
        window = grid.range(grid.dates[k], CONCENTRATION_WINDOW)
        pair_gmv[k] = np.add.reduceat(np.where((segment >= window.lo) & (segment < window.hi), gmv, 0.0), pair_start)

    if len(pair_start):
        # each date's sums are independent NumPy work that releases the GIL: two dates at a time
        # (on one thread they took about 1 s of the step, while the other core waited)
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(window_trade, range(len(grid.dates))))
    buyer, supplier = buyer[pair_start], supplier[pair_start]
    del table, segment, gmv, new_pair, pair_start  # the per-segment rows are summed up: not held beside what follows
    block = FeatureBlock(firms, grid.dates)

    def role_weights(own: np.ndarray, other: np.ndarray) -> dict[str, np.ndarray]:
        mine = np.flatnonzero(np.isin(own, firms))
        return _partner_weights(len(firms), block.positions(own[mine]), partners.positions(other[mine]),
                                pair_gmv, mine, partners)

    # the two roles are independent NumPy work, which releases the GIL: one per core
    with ThreadPoolExecutor(max_workers=2) as pool:
        roles = {"buyer": pool.submit(role_weights, buyer, supplier),
                 "supplier": pool.submit(role_weights, supplier, buyer)}
        for role, weights in roles.items():
            for name, values in weights.result().items():
                block.add(f"{role}_partners_{name}_365d", values)
    return block


def _partner_weights(firms: int, rows: np.ndarray, partner_rows: np.ndarray, pair_gmv: np.ndarray,
                     pairs: np.ndarray, partners: FeatureBlock) -> dict[str, np.ndarray]:
    """Concentration and partner-risk columns from each pair's order value per as-of (dates x all pairs).

    ``pairs`` are the columns of ``pair_gmv`` whose firm is in ``rows``, ``partner_rows``.
    """
    if len(rows) and np.any(rows[1:] < rows[:-1]):
        order = np.argsort(rows, kind="stable")
        rows, partner_rows, pairs = rows[order], partner_rows[order], pairs[order]
    out = {name: np.full((firms, pair_gmv.shape[0]), np.nan)
           for name in ("top_share", "hhi", "overdue_share", "defaulted_share", "defaulted")}
    out["defaulted"][:] = 0.0
    for k in range(pair_gmv.shape[0]):
        # one as-of date's row at a time: the whole matrix in this order would be another copy of it
        pair_trade = pair_gmv[k, pairs]
        # only pairs that traded in this window count; rows stay sorted, so firms are runs
        active = np.flatnonzero(pair_trade > 0)
        if not len(active):
            continue
        trade, firm_rows = pair_trade[active], rows[active]
        overdue = partners.columns["overdue"][:, k][partner_rows[active]]
        defaulted = partners.columns["defaulted"][:, k][partner_rows[active]]
        starts = np.flatnonzero(np.r_[True, firm_rows[1:] != firm_rows[:-1]])
        group_rows = firm_rows[starts]
        total = np.add.reduceat(trade, starts)
        out["top_share"][group_rows, k] = np.maximum.reduceat(trade, starts) / total
        out["hhi"][group_rows, k] = np.add.reduceat(trade * trade, starts) / (total * total)
        out["overdue_share"][group_rows, k] = np.add.reduceat(trade * overdue, starts) / total
        out["defaulted_share"][group_rows, k] = np.add.reduceat(trade * defaulted, starts) / total
        out["defaulted"][group_rows, k] = np.add.reduceat(defaulted, starts)
    return out


def tenure_days(history: History, grid: AsOfGrid, firms: np.ndarray) -> FeatureBlock:
    """Days on the platform at each as-of date (negative before registration)."""
    block = FeatureBlock(firms, grid.dates)
    table = history.connection.sql("SELECT firm_id, registered_at FROM firms").to_arrow_table()
    ids = table.column("firm_id").to_numpy()
    mine = np.isin(ids, firms)
    registered = np.full(len(firms), np.datetime64("NaT"), dtype="datetime64[us]")
    registered[block.positions(ids[mine])] = table.column("registered_at").to_numpy()[mine]
    elapsed = (grid.as_of_timestamps()[None, :] - registered[:, None]).astype("timedelta64[us]").astype(np.int64)
    block.add("tenure_days", np.where(np.isnat(registered)[:, None], np.nan, elapsed / DAY_US))
    return block


@dataclass(frozen=True)
class Derived:
    """A feature combined from declarative aggregates it names in ``needs``."""

    name: str
    description: str
    needs: tuple[Feature, ...]
    combine: Callable[[dict[str, np.ndarray]], np.ndarray]


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def _dbt_trend(c: dict[str, np.ndarray]) -> np.ndarray:
    recent = _ratio(c["debtor_dbt_sum_90d"], c["debtor_dbt_count_90d"])
    earlier = _ratio(c["debtor_dbt_sum_180d"] - c["debtor_dbt_sum_90d"],
                     c["debtor_dbt_count_180d"] - c["debtor_dbt_count_90d"])
    return recent - earlier


def _rate(role: str, event: str, source: str, of: Aggregate, base: Aggregate, what: str) -> Derived:
    numerator = Feature(f"{role}_{event}_numerator", "", source, role, of, (365,))
    denominator = Feature(f"{role}_{event}_base", "", "orders", role, base, (365,))
    (over,), (base,) = numerator.column_names(), denominator.column_names()
    return Derived(f"{role}_{event}_rate_365d", what, (numerator, denominator), lambda c: _ratio(c[over], c[base]))


DERIVED: list[Derived] = [
    Derived("debtor_dbt_trend_90d",
            "Mean days beyond terms of invoices paid in full in the last 90 days minus that of the 90 days "
            "before (positive: paying later).",
            (Feature("debtor_dbt_sum", "", "invoice_settlements", "debtor", Aggregate("sum", "days_beyond_terms"), (90, 180)),
             Feature("debtor_dbt_count", "", "invoice_settlements", "debtor", Aggregate("count"), (90, 180))),
            _dbt_trend),
    _rate("supplier", "return", "returns", Aggregate("sum", "amount_minor"), Aggregate("sum", "amount_minor"),
          "Credit-note value over sales value, as supplier, last 365 days."),
    _rate("buyer", "return", "returns", Aggregate("sum", "amount_minor"), Aggregate("sum", "amount_minor"),
          "Credit-note value over purchase value, as buyer, last 365 days."),
    _rate("supplier", "dispute", "disputes", Aggregate("count"), Aggregate("count"),
          "Disputes opened over orders, as supplier, last 365 days."),
    _rate("buyer", "dispute", "disputes", Aggregate("count"), Aggregate("count"),
          "Disputes opened over orders, as buyer, last 365 days."),
    _rate("supplier", "cancellation", "order_cancellations", Aggregate("count"), Aggregate("count"),
          "Orders cancelled over orders received, as supplier, last 365 days."),
]

DOMAIN_FEATURES: list[tuple[str, str]] = [
    ("debtor_days_past_due", "Most days past due of an invoice the firm owes, at the as-of date (0: none overdue)."),
    ("debtor_overdue_value", "Amount the firm owes on invoices past due, at the as-of date, minor units."),
    ("debtor_overdue_invoices", "Invoices the firm owes that are past due at the as-of date."),
    ("creditor_overdue_value", "Amount owed to the firm on invoices past due, at the as-of date, minor units."),
    ("<role>_active_months_12m", "Months with an order among the last 12 complete months (buyer, supplier)."),
    ("<role>_gmv_growth_3m", "GMV of the last 3 complete months over the 3 before, minus 1."),
    ("<role>_gmv_yoy_3m", "GMV of the last 3 complete months over the same months a year earlier, minus 1."),
    ("<role>_gmv_volatility_12m", "Coefficient of variation of monthly GMV over the last 12 complete months."),
    ("tenure_days", "Days since the firm registered on the platform."),
    ("<role>_partners_top_share_365d", "Largest counterparty's share of the firm's trade, last 365 days."),
    ("<role>_partners_hhi_365d", "Herfindahl index of counterparty shares, last 365 days."),
    ("<role>_partners_overdue_share_365d", "Trade-weighted share of counterparties 30+ days past due now."),
    ("<role>_partners_defaulted_share_365d", "Share of trade with counterparties that defaulted before the as-of date."),
    ("<role>_partners_defaulted_365d", "Counterparties traded with that defaulted before the as-of date."),
]
"""Columns written by the domain functions above, for `credit features list`."""
