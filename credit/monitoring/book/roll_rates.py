"""Roll rates: where the lines in each ageing bucket at one month end stand at the next.

Read from the ``book_ageing`` snapshots (one row per line per servicing day), on the
month-end snapshot days of :func:`~credit.monitoring.book.snapshots.month_end_days`: the last
snapshot on or before each month's end, within that month. Each pair of consecutive calendar
months that both have one gives a transition matrix; a month without a snapshot breaks the
chain (a two-month move is not a one-month roll rate).

* **From**: each line in the first snapshot with something owed on it or past due
  (``open_minor > 0`` or a bucket other than ``current``), by its bucket: current, 1-30,
  31-60, 61-90, 90+ (default; a charged-off line stays there). A line owing nothing has no
  balance to roll and is left out.
* **To**: the same line's bucket in the second snapshot, or ``settled`` when it owes nothing
  and is current then (or has no snapshot row at all).

Each cell has two shares of its row: of the lines, and of the open amount the lines owed at
the first month end (``open_minor``; a row that owed nothing has no amount share).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.monitoring.book.snapshots import AGEING, month_end_days, month_index
from credit.servicing.tables import AGEING_BUCKETS

SETTLED = "settled"
"""The state of a line that owes nothing at the next month end."""
TO_STATES: tuple[str, ...] = (*AGEING_BUCKETS, SETTLED)


@dataclass(frozen=True)
class RollCell:
    """Lines of one row that ended in state ``to``, and what they owed at the first month end."""

    to: str
    lines: int
    open_minor: int
    line_share: float | None
    amount_share: float | None


@dataclass(frozen=True)
class RollRow:
    """The lines in one bucket at the first month end, and where they went."""

    bucket: str
    lines: int
    open_minor: int
    cells: tuple[RollCell, ...]

    def cell(self, to: str) -> RollCell:
        """The cell of state ``to`` (a bucket or ``settled``)."""
        return self.cells[TO_STATES.index(to)]


@dataclass(frozen=True)
class RollMatrix:
    """The transition matrix from the snapshot of ``from_day`` to that of ``to_day`` (consecutive month ends)."""

    from_day: date
    to_day: date
    rows: tuple[RollRow, ...]

    def row(self, bucket: str) -> RollRow:
        return self.rows[AGEING_BUCKETS.index(bucket)]

    def rate(self, bucket: str, to: str) -> float | None:
        """Share of the lines in ``bucket`` at the first month end that were in ``to`` at the next."""
        return self.row(bucket).cell(to).line_share


def roll_rates(session: Session) -> tuple[RollMatrix, ...]:
    """Transition matrices between consecutive month ends, oldest first (see the module docstring).

    Parameters
    ----------
    session
        A session on the store.

    Returns
    -------
    tuple of RollMatrix
        Empty before two consecutive month ends have been snapshotted.
    """
    days = month_end_days(session)
    pairs = [(a, b) for a, b in zip(days, days[1:]) if month_index(b) == month_index(a) + 1]
    if not pairs:
        return ()
    wanted = sorted({day for pair in pairs for day in pair})
    snapshots: dict[date, dict[int, tuple[str, int]]] = {day: {} for day in wanted}
    for as_of, line_id, bucket, open_minor in session.execute(
            select(AGEING.c.as_of, AGEING.c.line_id, AGEING.c.bucket, AGEING.c.open_minor)
            .where(AGEING.c.as_of.in_(wanted))):
        snapshots[as_of][line_id] = (bucket, int(open_minor))
    return tuple(transition(a, b, snapshots[a].items(), snapshots[b]) for a, b in pairs)


def transition(from_day: date, to_day: date, start: Iterable[tuple[int, tuple[str, int]]],
               end: dict[int, tuple[str, int]]) -> RollMatrix:
    """The matrix from the lines' ``(bucket, open_minor)`` at ``from_day`` to theirs at ``to_day``."""
    counts = {(bucket, to): [0, 0] for bucket in AGEING_BUCKETS for to in TO_STATES}
    for line_id, (bucket, open_minor) in start:
        if open_minor <= 0 and bucket == "current":
            continue
        to = _state(end.get(line_id))
        counts[bucket, to][0] += 1
        counts[bucket, to][1] += open_minor
    rows = []
    for bucket in AGEING_BUCKETS:
        lines = sum(counts[bucket, to][0] for to in TO_STATES)
        owed = sum(counts[bucket, to][1] for to in TO_STATES)
        rows.append(RollRow(bucket, lines, owed, tuple(
            RollCell(to, n, amount, n / lines if lines else None, amount / owed if owed else None)
            for to in TO_STATES for n, amount in [counts[bucket, to]])))
    return RollMatrix(from_day, to_day, tuple(rows))


def _state(snapshot: tuple[str, int] | None) -> str:
    if snapshot is None:
        return SETTLED
    bucket, open_minor = snapshot
    return SETTLED if open_minor <= 0 and bucket == "current" else bucket
