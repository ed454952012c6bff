"""Default labels: a credit event within a horizon after the as-of date (SPEC 3.3).

A firm enters the panel at an as-of date when it registered before it and had no credit
event (default, insolvency or write-off) before it; a firm already in default is not scored.
Its label is 1 when its first credit event falls in ``[as_of, as_of + horizon)``, 0 when the
whole horizon lies inside the history without one, and null when the history ends before
the horizon does (the outcome is not known yet). A credit event after the history's end (a
history read as of an earlier date, as ``credit retrain --as-of`` reads it) is not known there.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime

import numpy as np

from credit.features.asof import AsOfGrid
from credit.features.block import FeatureBlock
from credit.features.history import History

DEFAULT_HORIZON_MONTHS = 12


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months; the 31st becomes the month's last day when needed."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def default_labels(history: History, grid: AsOfGrid, firms: np.ndarray, history_end: datetime,
                   horizon_months: int = DEFAULT_HORIZON_MONTHS) -> tuple[np.ndarray, FeatureBlock]:
    """Which (firm, as-of) pairs belong in the panel, and their default labels.

    Parameters
    ----------
    history_end
        End of the observed history; a horizon ending after it has no 0 label.
    horizon_months
        Length of the outcome window in calendar months (positive).

    Returns
    -------
    eligible, labels
        A boolean (firms, dates) array, and a block with ``default_<horizon>m`` (1, 0 or NaN).

    Raises
    ------
    ValueError
        If ``horizon_months`` is not positive.
    """
    if horizon_months <= 0:
        raise ValueError(f"horizon_months must be a positive number of months; got {horizon_months}")
    block = FeatureBlock(firms, grid.dates)
    as_of = grid.as_of_timestamps()
    horizon_end = np.array([add_months(d, horizon_months) for d in grid.dates], dtype="datetime64[us]")
    table = history.connection.sql(
        "SELECT f.firm_id, f.registered_at, min(e.occurred_at) AS first_event "
        "FROM firms f LEFT JOIN credit_events e USING (firm_id) GROUP BY ALL").to_arrow_table()
    ids = table.column("firm_id").to_numpy()
    mine = np.isin(ids, firms)
    rows = block.positions(ids[mine])
    registered = np.full(len(firms), np.datetime64("NaT"), dtype="datetime64[us]")
    first_event = np.full(len(firms), np.datetime64("NaT"), dtype="datetime64[us]")
    registered[rows] = table.column("registered_at").to_numpy()[mine]
    first_event[rows] = table.column("first_event").to_numpy(zero_copy_only=False)[mine].astype("datetime64[us]")
    no_event = np.isnat(first_event)[:, None]
    event = first_event[:, None]
    eligible = ~np.isnat(registered)[:, None] & (registered[:, None] < as_of[None, :]) & (no_event | (event >= as_of[None, :]))
    end = np.datetime64(history_end, "us")
    observed = horizon_end <= end
    # a default after the history's end is not known at it (a history read as of an earlier date)
    defaulted = ~no_event & (event >= as_of[None, :]) & (event < np.minimum(horizon_end, end)[None, :])
    label = np.where(defaulted, 1.0, np.where(observed[None, :], 0.0, np.nan))
    block.add(f"default_{horizon_months}m", label)
    return eligible, block
