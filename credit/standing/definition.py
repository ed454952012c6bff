"""The day count and the cut-off of :mod:`credit.standing`, shared by its SQL and frame paths."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

DAY = timedelta(days=1)


def days_past_due(due_at: datetime | pd.Series, as_of: datetime | pd.Series) -> int | pd.Series:
    """Whole days (floor) from the due time to ``as_of``: 0 or less until a whole day has passed.

    Parameters
    ----------
    due_at, as_of
        Times, or Series of times (row by row).

    Returns
    -------
    int or Series of int
        ``(as_of - due_at) // 1 day``, negative before the due time.
    """
    elapsed = as_of - due_at
    if isinstance(elapsed, pd.Series):
        return (elapsed // pd.Timedelta(DAY)).astype("int64")
    return int(elapsed // DAY)


def overdue_cutoff(as_of: datetime | np.ndarray) -> datetime | np.ndarray:
    """The latest due time of an invoice overdue at ``as_of`` if unpaid: one whole day before it.

    ``due_at <= overdue_cutoff(t)`` is exactly ``days_past_due(due_at, t) >= 1``, in a form a
    SQL index on ``due_at`` (or a binary search over sorted times) can use.

    Parameters
    ----------
    as_of
        A time, or an array of ``datetime64`` times.
    """
    return as_of - (np.timedelta64(DAY) if isinstance(as_of, np.ndarray) else DAY)
