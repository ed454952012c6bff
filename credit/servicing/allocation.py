"""Moving repayment money onto receivables and back: the one place ``paid_*`` and ``applied_minor`` change.

The waterfall (:func:`waterfall`) is pure: given what each receivable owes, in the order they
are to be paid, and the policy's order of parts within one (``late_fee``, ``fee``,
``principal`` by default), it says how much of a budget goes where. :func:`book` writes
allocations (or reversals: negative amounts) and keeps every cache in step in the same unit of
work:

* ``receivables.paid_*`` by part, and ``recovered_minor`` for principal collected after a
  charge-off (``charged_off_minor`` for principal paid before it and returned after it);
* ``repayments.applied_minor`` (what is left of a received repayment is the buyer's credit
  balance);
* the line's posted exposure: principal paid on a live receivable repays the ledger
  (:func:`credit.ledger.repay`); principal un-paid on one reopens it (:func:`credit.ledger.reopen`).

Callers lock the line first (:func:`lock_line`), so on PostgreSQL two writers of one line
take turns (holds, then the line, then its receivables: the ledger's lock order).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from credit import ledger
from credit.ledger.journal import LINES
from credit.servicing.amounts import OWED_COLUMNS, RECEIVABLES, Owed
from credit.servicing.tables import Repayment, RepaymentAllocation

REPAYMENTS = Repayment.__table__
ALLOCATIONS = RepaymentAllocation.__table__
PARTS = ("late_fee", "fee", "principal")
_PAID_COLUMN = {"late_fee": "paid_late_fee_minor", "fee": "paid_fee_minor", "principal": "paid_principal_minor"}


@dataclass(frozen=True)
class Allocation:
    """One movement of a repayment's money to (positive) or from (negative) a receivable's part."""

    repayment_id: int
    receivable_id: int | None
    part: str
    amount_minor: int


def lock_line(session: Session, line_id: int) -> None:
    """Take the line's row lock (PostgreSQL; SQLite's writer lock is the unit of work's) before reading its book.

    Raises
    ------
    NoLine
        There is no such line.
    """
    if session.execute(select(LINES.c.line_id).where(LINES.c.line_id == line_id).with_for_update()).first() is None:
        raise ledger.NoLine(f"Credit line {line_id} does not exist.", line_id=line_id)


def owed_on_line(session: Session, line_id: int, receivable_ids: Iterable[int] | None = None) -> list[Owed]:
    """The line's receivables with something owed, oldest due first (then booking order).

    A receivable split into installments owes nothing itself, unless a payment made on it before
    the split was returned: that is owed again from its own due date, and paid like the rest.
    """
    r = RECEIVABLES.c
    query = select(*OWED_COLUMNS).where(r.line_id == line_id).order_by(r.due_at, r.receivable_id)
    if receivable_ids is not None:
        query = query.where(r.receivable_id.in_(list(receivable_ids)))
    return [owed for owed in map(Owed.of, session.execute(query)) if owed.total > 0]


def waterfall(budget_minor: int, owed: Sequence[Owed], order: Sequence[str]) -> list[tuple[int, str, int]]:
    """Split ``budget_minor`` over the receivables in the given order, parts in ``order`` within each.

    Returns
    -------
    list of (receivable_id, part, amount)
        Positive amounts, never more than owed on the part; their sum is at most the budget.
    """
    moves, left = [], budget_minor
    for receivable in owed:
        for part in order:
            take = min(left, receivable.part(part))
            if take > 0:
                moves.append((receivable.receivable_id, part, take))
                left -= take
        if left == 0:
            break
    return moves


def unapplied(session: Session, line_id: int) -> list[tuple[int, int]]:
    """Received repayments of the line with money not yet applied, oldest first: ``[(repayment_id, minor)]``."""
    rows = session.execute(
        select(REPAYMENTS.c.repayment_id, REPAYMENTS.c.amount_minor - REPAYMENTS.c.applied_minor)
        .where(REPAYMENTS.c.line_id == line_id, REPAYMENTS.c.status == "received",
               REPAYMENTS.c.applied_minor < REPAYMENTS.c.amount_minor)
        .order_by(REPAYMENTS.c.repayment_id)).all()
    return [(repayment_id, int(left)) for repayment_id, left in rows]


def pay_from(session: Session, sources: Sequence[tuple[int, int]], owed: Sequence[Owed], order: Sequence[str], *,
             reason: str, now: datetime, reference: str | None = None) -> list[Allocation]:
    """Pay the receivables from the sources (repayment id, money available), oldest source first.

    ``reference`` (the payment's) is kept on the ledger's repay transfer.
    """
    moves = waterfall(sum(amount for _, amount in sources), owed, order)
    allocations, queue = [], [list(source) for source in sources]
    for receivable_id, part, amount in moves:
        while amount:
            source = queue[0]
            take = min(amount, source[1])
            allocations.append(Allocation(source[0], receivable_id, part, take))
            source[1] -= take
            amount -= take
            if source[1] == 0:
                queue.pop(0)
    book(session, owed[0].line_id if owed else None, allocations, reason=reason, now=now,
         written_off={o.receivable_id for o in owed if o.written_off}, reference=reference)
    return allocations


def book(session: Session, line_id: int | None, allocations: Sequence[Allocation], *, reason: str, now: datetime,
         written_off: set[int], reference: str | None = None, ledger_moves: bool = True) -> None:
    """Write allocations (negative: reversals) and keep receivables, repayments and the ledger in step.

    Parameters
    ----------
    line_id
        The line of every receivable concerned.
    written_off
        Receivables charged off: their principal moves ``recovered_minor``, not the ledger.
    reference
        Kept on the ledger transfer (the repayment's reference).
    ledger_moves
        False when the caller moves the exposure itself (a refund books its ``reopen`` with the refund).
    """
    allocations = [a for a in allocations if a.amount_minor]
    if not allocations:
        return
    session.execute(insert(ALLOCATIONS), [
        {"repayment_id": a.repayment_id, "receivable_id": a.receivable_id, "part": a.part,
         "amount_minor": a.amount_minor, "reason": reason, "created_at": now} for a in allocations])
    by_receivable: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_repayment: dict[int, int] = defaultdict(int)
    exposure = 0
    for a in allocations:
        by_repayment[a.repayment_id] += a.amount_minor
        if a.receivable_id is None:
            continue
        by_receivable[a.receivable_id][a.part] += a.amount_minor
        if a.part == "principal" and a.receivable_id not in written_off:
            exposure += a.amount_minor
    r = RECEIVABLES.c
    for receivable_id in sorted(by_receivable):
        parts = by_receivable[receivable_id]
        values = {_PAID_COLUMN[part]: getattr(r, _PAID_COLUMN[part]) + amount for part, amount in parts.items()}
        if receivable_id in written_off and parts.get("principal"):
            values |= _loss_moves(session, receivable_id, parts["principal"])
        session.execute(update(RECEIVABLES).where(r.receivable_id == receivable_id).values(updated_at=now, **values))
    session.execute(
        update(REPAYMENTS).where(REPAYMENTS.c.repayment_id == bindparam("rid"))
        .values(applied_minor=REPAYMENTS.c.applied_minor + bindparam("delta"))
        .execution_options(synchronize_session=False),
        [{"rid": rid, "delta": delta} for rid, delta in sorted(by_repayment.items()) if delta])
    if not ledger_moves:
        return
    if exposure > 0:
        ledger.repay(session, line_id, exposure, reference=reference, now=now)
    elif exposure < 0:
        ledger.reopen(session, line_id, -exposure, reference=reference, now=now)


def _loss_moves(session: Session, receivable_id: int, principal_minor: int) -> dict:
    """Principal paid (+) or taken back (-) on a written-off receivable: a recovery, or realised loss again.

    Taken back (a returned payment), it undoes recoveries first; the rest was paid before the
    charge-off and is written off now with the rest (realised loss, not exposure: the line
    took its loss at the charge-off). Either way realised loss (charged off - recovered) grows
    by what is owed again.
    """
    r = RECEIVABLES.c
    if principal_minor > 0:
        return {"recovered_minor": r.recovered_minor + principal_minor}
    recovered = session.execute(select(r.recovered_minor).where(r.receivable_id == receivable_id)).scalar_one()
    undone = min(-principal_minor, recovered)
    return {"recovered_minor": r.recovered_minor - undone,
            "charged_off_minor": r.charged_off_minor + (-principal_minor - undone)}


def net_allocations(session: Session, *, repayment_id: int | None = None,
                    receivable_id: int | None = None) -> list[Allocation]:
    """What is still allocated (net of reversals), per repayment, receivable and part, newest first."""
    a = ALLOCATIONS.c
    query = select(a.repayment_id, a.receivable_id, a.part, a.amount_minor).order_by(a.allocation_id)
    if repayment_id is not None:
        query = query.where(a.repayment_id == repayment_id)
    if receivable_id is not None:
        query = query.where(a.receivable_id == receivable_id)
    net: dict[tuple, int] = {}
    for row in session.execute(query):
        key = (row.repayment_id, row.receivable_id, row.part)
        net[key] = net.get(key, 0) + row.amount_minor
    # newest first: the latest money is the first given back
    return [Allocation(*key, amount) for key, amount in reversed(list(net.items())) if amount]
