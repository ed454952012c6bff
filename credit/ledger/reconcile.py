"""Reconciliation: recompute every cached balance from the transfers and report differences.

The transfers are the truth; ``credit_lines.posted_minor/pending_minor`` and the running
totals on ``holds`` are caches kept in step by the same transaction that books a transfer.
A difference means something wrote a cache outside the ledger (a manual UPDATE, a bug): it
is reported, never silently fixed, so a person decides which side is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, case, cast, func, select
from sqlalchemy.orm import Session

from credit.ledger.journal import HOLDS, LINES, TRANSFERS

_amount = TRANSFERS.c.amount_minor
_kind = TRANSFERS.c.kind


def _total(expression) -> object:  # noqa: ANN001
    # SUM of BIGINT is NUMERIC on PostgreSQL (a Decimal in Python): cast back to an integer.
    return cast(func.coalesce(func.sum(expression), 0), BigInteger)


def _signed(plus: tuple[str, ...], minus: tuple[str, ...]) -> object:
    return case((_kind.in_(plus), _amount), (_kind.in_(minus), -_amount), else_=0)


POSTED_FROM_TRANSFERS = _signed(("post", "reopen"), ("refund", "repay", "charge_off"))
PENDING_FROM_TRANSFERS = _signed(("hold",), ("post", "void", "expire"))


@dataclass(frozen=True)
class Difference:
    """A cached value that does not match the transfers."""

    table: str
    key: int
    column: str
    cached: int
    recomputed: int

    def __str__(self) -> str:
        return (f"{self.table} {self.key}: {self.column} is {self.cached} but the transfers give "
                f"{self.recomputed} (off by {self.cached - self.recomputed:+d})")


@dataclass(frozen=True)
class Reconciliation:
    """What a reconciliation checked and what disagreed; ``ok`` when nothing did."""

    lines_checked: int
    holds_checked: int
    differences: tuple[Difference, ...]

    @property
    def ok(self) -> bool:
        return not self.differences


def reconcile(session: Session) -> Reconciliation:
    """Recompute line balances and hold totals from the transfers; report every difference.

    Parameters
    ----------
    session
        Any session; nothing is written. Run it in one transaction (on PostgreSQL at
        REPEATABLE READ when writes continue meanwhile) so caches and journal are one snapshot.

    Returns
    -------
    Reconciliation
        Differences of ``credit_lines.posted_minor`` / ``pending_minor`` and of
        ``holds.amount_minor`` / ``captured_minor`` / ``released_minor`` / ``refunded_minor``.
    """
    differences: list[Difference] = []

    by_line = (
        select(TRANSFERS.c.line_id.label("line_id"),
               _total(POSTED_FROM_TRANSFERS).label("posted"), _total(PENDING_FROM_TRANSFERS).label("pending"))
        .group_by(TRANSFERS.c.line_id).subquery()
    )
    lines = session.execute(
        select(LINES.c.line_id, LINES.c.posted_minor, LINES.c.pending_minor,
               func.coalesce(by_line.c.posted, 0), func.coalesce(by_line.c.pending, 0))
        .outerjoin(by_line, by_line.c.line_id == LINES.c.line_id).order_by(LINES.c.line_id)
    ).all()
    for line_id, posted, pending, posted_again, pending_again in lines:
        for column, cached, recomputed in (("posted_minor", posted, posted_again),
                                           ("pending_minor", pending, pending_again)):
            if cached != int(recomputed):
                differences.append(Difference("credit_lines", line_id, column, cached, int(recomputed)))

    def of(*kinds: str) -> object:
        return _total(case((_kind.in_(kinds), _amount), else_=0)).label(kinds[0])

    by_hold = (
        select(TRANSFERS.c.hold_id.label("hold_id"), of("hold"), of("post"), of("void", "expire"), of("refund"))
        .where(TRANSFERS.c.hold_id.is_not(None)).group_by(TRANSFERS.c.hold_id).subquery()
    )
    holds = session.execute(
        select(HOLDS.c.hold_id, HOLDS.c.amount_minor, HOLDS.c.captured_minor, HOLDS.c.released_minor,
               HOLDS.c.refunded_minor,
               *(func.coalesce(by_hold.c[k], 0) for k in ("hold", "post", "void", "refund")))
        .outerjoin(by_hold, by_hold.c.hold_id == HOLDS.c.hold_id).order_by(HOLDS.c.hold_id)
    ).all()
    columns = ("amount_minor", "captured_minor", "released_minor", "refunded_minor")
    for row in holds:
        for i, column in enumerate(columns):
            cached, recomputed = row[1 + i], int(row[5 + i])
            if cached != recomputed:
                differences.append(Difference("holds", row.hold_id, column, cached, recomputed))

    return Reconciliation(lines_checked=len(lines), holds_checked=len(holds), differences=tuple(differences))
