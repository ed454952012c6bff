"""When the book's figures are read: month-end ageing snapshots, the end of a day, and when a line was charged off.

Shared by the roll rates and the vintage curves, so that both read the book on the same days
and count a receivable as written off from the same moment.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from credit.ledger.journal import TRANSFERS
from credit.servicing.tables import BookAgeing

AGEING = BookAgeing.__table__


def end_of(day: date) -> datetime:
    """The first moment after ``day`` (midnight UTC): what was booked before it happened on or before ``day``."""
    return datetime.combine(day, time()) + timedelta(days=1)


def month_index(day: date) -> int:
    """Months since year 0, so that consecutive calendar months differ by 1."""
    return day.year * 12 + day.month - 1


def month_end_days(session: Session) -> tuple[date, ...]:
    """The snapshot day of every calendar month the ageing snapshots have closed, oldest first.

    A month's snapshot day is the last ``book_ageing`` day on or before the month's end that
    falls in the month itself (a month the servicing job never ran in has none, and is
    skipped). A month counts once it has ended by the latest snapshot, i.e. its last calendar
    day is on or before the latest ``as_of``: the month under way is left out, since its
    figures would cover only part of a month.

    Returns
    -------
    tuple of date
        At most one day per month, increasing.
    """
    days = session.execute(select(AGEING.c.as_of).distinct().order_by(AGEING.c.as_of)).scalars().all()
    if not days:
        return ()
    latest = days[-1]
    last_of_month: dict[int, date] = {}
    for day in days:
        last_of_month[month_index(day)] = day  # ascending: the last one wins
    return tuple(day for day in last_of_month.values()
                 if date(day.year, day.month, calendar.monthrange(day.year, day.month)[1]) <= latest)


def line_charge_offs(session: Session) -> dict[int, datetime]:
    """When each charged-off line was first charged off: its first ``charge_off`` ledger transfer.

    At default the line closes and every receivable still owed on it is charged off at once,
    so this is when each of its charged-off receivables moved to realised loss.
    """
    rows = session.execute(select(TRANSFERS.c.line_id, func.min(TRANSFERS.c.created_at))
                           .where(TRANSFERS.c.kind == "charge_off").group_by(TRANSFERS.c.line_id)).all()
    return {int(line_id): moment for line_id, moment in rows}
