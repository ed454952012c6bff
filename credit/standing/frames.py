"""Standing over frames, for features and monitoring: every invoice at many as-of times at once.

The definition is :mod:`credit.standing`'s; :mod:`credit.standing.sql` computes the same over
the store, and ``tests/standing`` holds the two equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from credit.standing.definition import days_past_due, overdue_cutoff

INVOICE_COLUMNS = ("invoice_id", "buyer_id", "supplier_id", "issued_at", "due_at", "amount_minor")
PAYMENT_COLUMNS = ("invoice_id", "paid_at", "amount_minor")
_TIME = "datetime64[us]"


def invoice_standing(invoices: pd.DataFrame, payments: pd.DataFrame, as_of: datetime | Sequence[datetime] | np.ndarray,
                     *, overdue_only: bool = False) -> pd.DataFrame:
    """Each invoice at each as-of time at which it is owed with something outstanding.

    Parameters
    ----------
    invoices
        At least :data:`INVOICE_COLUMNS`; any invoice may be given (one not yet issued, or
        paid in full, at an as-of time simply has no row there).
    payments
        At least :data:`PAYMENT_COLUMNS`; payments of invoices not in ``invoices`` are ignored.
    as_of
        One time or several.
    overdue_only
        Keep only the rows where the invoice is overdue.

    Returns
    -------
    DataFrame
        One row per (invoice, as-of) with the invoice's columns and ``as_of``,
        ``paid_minor``, ``outstanding_minor``, ``days_past_due`` and ``overdue``; ordered by
        ``as_of`` then ``invoice_id``.
    """
    times = np.unique(np.atleast_1d(np.asarray(as_of, dtype=_TIME)))
    invoices = invoices.reset_index(drop=True)
    running = _running_paid(invoices, payments)
    settled = running[running["paid_minor"] >= running["invoice_amount_minor"]].groupby("invoice_id")["paid_at"].min()
    # as-of times an invoice may be outstanding at: after its issue (and, for the overdue, from a whole
    # day after its due time) up to the payment that pays it in full; the rows are then judged in full
    start = np.searchsorted(times, invoices["issued_at"].to_numpy(_TIME), side="right")
    if overdue_only:
        start = np.maximum(start, np.searchsorted(overdue_cutoff(times), invoices["due_at"].to_numpy(_TIME), side="left"))
    settled_at = settled.reindex(invoices["invoice_id"].to_numpy()).to_numpy(_TIME)
    end = np.where(np.isnat(settled_at), len(times), np.searchsorted(times, settled_at, side="right"))
    counts = np.maximum(end - start, 0)
    rows = np.repeat(np.arange(len(invoices)), counts)
    offsets = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    pairs = invoices.iloc[rows].reset_index(drop=True)
    pairs["as_of"] = times[start[rows] + offsets]
    pairs = pairs.sort_values(["as_of", "invoice_id"], kind="stable", ignore_index=True)
    paid = pd.merge_asof(pairs[["as_of", "invoice_id"]], running[["paid_at", "invoice_id", "paid_minor"]],
                         left_on="as_of", right_on="paid_at", by="invoice_id", allow_exact_matches=False)
    pairs["paid_minor"] = paid["paid_minor"].fillna(0).astype(np.int64).to_numpy()
    pairs["outstanding_minor"] = pairs["amount_minor"].astype(np.int64) - pairs["paid_minor"]
    pairs["days_past_due"] = days_past_due(pairs["due_at"].astype(_TIME), pairs["as_of"])
    pairs = pairs[pairs["outstanding_minor"] > 0].reset_index(drop=True)
    pairs["overdue"] = pairs["days_past_due"] >= 1
    return pairs[pairs["overdue"]].reset_index(drop=True) if overdue_only else pairs


def _running_paid(invoices: pd.DataFrame, payments: pd.DataFrame) -> pd.DataFrame:
    """Per invoice and payment time: ``paid_minor``, the running total paid up to and including it; sorted by time."""
    amounts = invoices[["invoice_id", "amount_minor"]].rename(columns={"amount_minor": "invoice_amount_minor"})
    paid = (payments[list(PAYMENT_COLUMNS)].astype({"invoice_id": np.int64, "paid_at": _TIME, "amount_minor": np.int64})
            .groupby(["invoice_id", "paid_at"], as_index=False)["amount_minor"].sum()
            .merge(amounts, on="invoice_id")
            .sort_values(["invoice_id", "paid_at"], ignore_index=True))
    paid["paid_minor"] = paid.groupby("invoice_id")["amount_minor"].cumsum().astype(np.int64)
    return paid.sort_values("paid_at", kind="stable", ignore_index=True)


def firm_standing(standing: pd.DataFrame, by: str = "buyer_id") -> pd.DataFrame:
    """Each firm's standing at each as-of time, from :func:`invoice_standing`'s rows.

    Parameters
    ----------
    by
        ``buyer_id``: what the firm owes (its arrears); ``supplier_id``: what is owed to it.

    Returns
    -------
    DataFrame
        One row per firm and as-of time at which it has an overdue invoice: ``by``,
        ``as_of``, ``days_past_due`` (most), ``overdue_minor`` (outstanding, summed) and
        ``overdue_invoices``. A firm without a row has days past due 0 and nothing overdue.
    """
    overdue = standing[standing["overdue"]]
    return (overdue.groupby([by, "as_of"], as_index=False)
            .agg(days_past_due=("days_past_due", "max"), overdue_minor=("outstanding_minor", "sum"),
                 overdue_invoices=("invoice_id", "count")))
