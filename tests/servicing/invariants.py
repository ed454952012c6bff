"""The servicing book's invariants, over the store read back and summed in plain SQL.

Nothing here calls :mod:`credit.servicing` to compute a number: what each receivable was paid
comes from the allocation journal (``repayment_allocations``), a line's exposure from the
ledger's transfers, and the cached columns (``paid_*``, ``applied_minor``, ``posted_minor``)
are read only to be held equal to those sums. The ``assert_*`` functions are the invariants
(the state machine checks them after every step, the concurrency test after the storm):

- :func:`assert_exposure`: the open principal of a line's live receivables (not written off)
  is its posted exposure, cached and summed from its transfers;
- :func:`assert_allocations`: no receivable part is allocated more than it carries (or less
  than nothing), and the cached ``paid_*`` are the journal;
- :func:`assert_money_received`: every minor unit received is allocated to a receivable, in
  the credit balance, or refunded to the buyer;
- :func:`assert_credit_and_returns`: a credit balance is never negative, ``applied_minor`` is
  the journal, and a returned repayment has net zero allocations.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, case, cast, func, select
from sqlalchemy.orm import Session

from credit import ledger
from credit.ledger.journal import HOLDS, LINES, TRANSFERS
from credit.servicing.repayments import credit_balance
from credit.servicing.tables import Receivable, Repayment, RepaymentAllocation

RECEIVABLES = Receivable.__table__
REPAYMENTS = Repayment.__table__
ALLOCATIONS = RepaymentAllocation.__table__
PARTS = ("late_fee", "fee", "principal")
"""The parts of a receivable, in the default policy's allocation order."""
WRITTEN_OFF = ("charged_off", "recovered")


def _sum(expression) -> object:  # noqa: ANN001
    # SUM of BIGINT is NUMERIC on PostgreSQL: cast back to an integer.
    return cast(func.coalesce(func.sum(expression), 0), BigInteger)


@dataclass(frozen=True)
class BookedReceivable:
    """One receivable: what each part carries (facts), what the journal says was paid, and the caches."""

    receivable_id: int
    line_id: int
    hold_id: int
    parent_id: int | None
    """The receivable an installment splits; None for one booked by a capture (``terms``)."""
    status: str
    due_at: datetime
    principal: int
    refunded: int
    rescheduled: int
    fee: int
    merchant_fee: int
    carries: dict[str, int]
    paid: dict[str, int]
    """Net of the allocation journal, by part."""
    cached_paid: dict[str, int]

    def owed(self, part: str) -> int:
        return self.carries[part] - self.paid[part]

    @property
    def total_owed(self) -> int:
        return sum(self.owed(part) for part in PARTS)

    @property
    def total_paid(self) -> int:
        return sum(self.paid.values())

    @property
    def live(self) -> bool:
        """Its open principal is exposure on the line: not written off.

        One split into installments (``rescheduled``) owes no principal, unless a payment made on it
        before the split was returned: that is owed on it again, and is exposure like any other.
        """
        return self.status not in WRITTEN_OFF


def receivables(session: Session) -> dict[int, BookedReceivable]:
    """Every receivable, paid per part summed from the allocation journal."""
    a = ALLOCATIONS.c
    journal: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(PARTS, 0))
    for receivable_id, part, amount in session.execute(
            select(a.receivable_id, a.part, _sum(a.amount_minor))
            .where(a.receivable_id.is_not(None)).group_by(a.receivable_id, a.part)):
        journal[receivable_id][part] = int(amount)
    r = RECEIVABLES.c
    book = {}
    for row in session.execute(select(RECEIVABLES).order_by(r.receivable_id)):
        book[row.receivable_id] = BookedReceivable(
            row.receivable_id, row.line_id, row.hold_id, row.parent_id, row.status, row.due_at, row.principal_minor,
            row.refunded_minor, row.rescheduled_minor, row.fee_minor, row.merchant_fee_minor,
            carries={"principal": row.principal_minor - row.refunded_minor - row.rescheduled_minor,
                     "fee": row.fee_minor, "late_fee": row.late_fee_minor},
            paid=dict(journal[row.receivable_id]),
            cached_paid={"principal": row.paid_principal_minor, "fee": row.paid_fee_minor,
                         "late_fee": row.paid_late_fee_minor})
    return book


@dataclass(frozen=True)
class BookedRepayment:
    """One repayment: amount and status (facts), its journal by destination, and its cached ``applied_minor``."""

    repayment_id: int
    line_id: int
    status: str
    amount: int
    applied: int
    to_receivables: dict[tuple[int, str], int]
    """Net allocated, by (receivable, part); zero entries dropped."""
    credit_refunded: int

    @property
    def allocated(self) -> int:
        """Everything the journal moved out of it: to receivables and back to the buyer."""
        return sum(self.to_receivables.values()) + self.credit_refunded

    @property
    def credit(self) -> int:
        """Its part of the buyer's credit balance, from the cache (amount - applied) while received."""
        return self.amount - self.applied if self.status == "received" else 0


def repayments(session: Session) -> dict[int, BookedRepayment]:
    a = ALLOCATIONS.c
    moves: dict[int, dict[tuple[int, str], int]] = defaultdict(dict)
    refunded: dict[int, int] = defaultdict(int)
    for repayment_id, receivable_id, part, amount in session.execute(
            select(a.repayment_id, a.receivable_id, a.part, _sum(a.amount_minor))
            .group_by(a.repayment_id, a.receivable_id, a.part)):
        if part == "credit_refund":
            refunded[repayment_id] += int(amount)
        elif amount:
            moves[repayment_id][(receivable_id, part)] = int(amount)
    p = REPAYMENTS.c
    return {row.repayment_id: BookedRepayment(row.repayment_id, row.line_id, row.status, row.amount_minor,
                                              row.applied_minor, moves[row.repayment_id], refunded[row.repayment_id])
            for row in session.execute(select(REPAYMENTS).order_by(p.repayment_id))}


def allocations_by_reason(session: Session, repayment_id: int) -> dict[str, dict[tuple[int | None, str], int]]:
    """A repayment's journal summed by reason (payment, credit, returned, refund, credit_refund), receivable and part."""
    a = ALLOCATIONS.c
    sums: dict[str, dict[tuple[int | None, str], int]] = defaultdict(dict)
    for reason, receivable_id, part, amount in session.execute(
            select(a.reason, a.receivable_id, a.part, _sum(a.amount_minor)).where(a.repayment_id == repayment_id)
            .group_by(a.reason, a.receivable_id, a.part)):
        sums[reason][(receivable_id, part)] = int(amount)
    return sums


def credit_of_line(session: Session, line_id: int) -> int:
    """The buyer's credit balance from the journal: received money less everything allocated from it."""
    return sum(r.amount - r.allocated for r in repayments(session).values()
               if r.line_id == line_id and r.status == "received")


def posted_from_transfers(session: Session) -> dict[int, int]:
    """Each line's posted exposure summed from the ledger's transfers."""
    t = TRANSFERS.c
    signed = case((t.kind.in_(("post", "reopen")), t.amount_minor),
                  (t.kind.in_(("refund", "repay", "charge_off")), -t.amount_minor), else_=0)
    return {line_id: int(posted) for line_id, posted in session.execute(
        select(t.line_id, _sum(signed)).group_by(t.line_id))}


def hold_transfers(session: Session) -> dict[int, dict[str, int]]:
    """Each hold's transfers summed by kind."""
    t = TRANSFERS.c
    sums: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for hold_id, kind, amount in session.execute(
            select(t.hold_id, t.kind, _sum(t.amount_minor)).where(t.hold_id.is_not(None)).group_by(t.hold_id, t.kind)):
        sums[hold_id][kind] = int(amount)
    return sums


def line_row(session: Session, line_id: int):  # noqa: ANN201 - a row of credit_lines
    return session.execute(select(LINES).where(LINES.c.line_id == line_id)).one()


def hold_row(session: Session, hold_id: int):  # noqa: ANN201 - a row of holds
    return session.execute(select(HOLDS).where(HOLDS.c.hold_id == hold_id)).one()


def days_past_due(book: dict[int, BookedReceivable], line_id: int, now: datetime) -> int:
    """Whole days since the oldest due date with something owed on the line, once a whole day past it; else 0."""
    overdue = [r.due_at for r in book.values()
               if r.line_id == line_id and r.total_owed > 0 and r.due_at <= now - timedelta(days=1)]
    return (now - min(overdue)) // timedelta(days=1) if overdue else 0


def expected_status(receivable: BookedReceivable, now: datetime) -> str | None:
    """The status the issue's rules give a receivable at ``now``; None where dunning decides (not judged here)."""
    if receivable.status in (*WRITTEN_OFF, "rescheduled", "defaulted"):
        return None
    if receivable.total_owed == 0:
        return "paid" if receivable.total_paid > 0 else "cancelled"
    if receivable.due_at <= now - timedelta(days=1):  # a whole day past due
        return "overdue"
    return "partially_paid" if receivable.total_paid > 0 else "open"


def waterfall(book: dict[int, BookedReceivable], line_id: int, amount: int, named: set[int] | None = None,
              order: tuple[str, ...] = PARTS) -> tuple[dict[tuple[int, str], int], int]:
    """Where ``amount`` should go, worked out from the spec: oldest due first, the parts of each in ``order``.

    Returns the moves by (receivable, part) and what is left for the credit balance.
    """
    candidates = sorted((r for r in book.values() if r.line_id == line_id and (named is None or r.receivable_id in named)),
                        key=lambda r: (r.due_at, r.receivable_id))
    moves, left = {}, amount
    for receivable in candidates:
        for part in order:
            take = min(left, receivable.owed(part))
            if take > 0:
                moves[(receivable.receivable_id, part)] = take
                left -= take
    return moves, left


@dataclass(frozen=True)
class MoneyReceived:
    """Where a line's received money is (minor units): received = allocated + credit + refunded."""

    received: int
    allocated: int
    credit: int
    refunded: int


@dataclass(frozen=True)
class Book:
    """The receivables and the repayments read back once, for several invariants to check."""

    receivables: dict[int, BookedReceivable]
    repayments: dict[int, BookedRepayment]


def read_book(session: Session) -> Book:
    return Book(receivables(session), repayments(session))


def assert_exposure(session: Session, line_ids: list[int], book: Book | None = None) -> dict[int, int]:
    """Open principal of each line's live receivables = ``posted_minor`` = its transfers; returns it by line.

    ``book``: the book already read in this transaction (by default it is read here), as for
    every ``assert_*`` below.
    """
    book = (book or read_book(session)).receivables
    posted = posted_from_transfers(session)
    exposure = {}
    for line_id in line_ids:
        open_principal = sum(r.owed("principal") for r in book.values() if r.line_id == line_id and r.live)
        cached = line_row(session, line_id).posted_minor
        assert open_principal == cached == posted.get(line_id, 0), (line_id, open_principal, cached, posted)
        exposure[line_id] = open_principal
    assert ledger.reconcile(session).ok
    return exposure


def assert_allocations(session: Session, book: Book | None = None) -> None:
    """For every receivable and part: journal = cached ``paid_*``, and 0 <= paid <= what the part carries."""
    for r in (book or read_book(session)).receivables.values():
        assert r.paid == r.cached_paid, r
        for part in PARTS:
            assert 0 <= r.paid[part] <= r.carries[part], (r, part)


def assert_money_received(session: Session, line_id: int, book: Book | None = None) -> MoneyReceived:
    """Received (repayments not returned) = allocated (receivables' journal) + credit (cached) + refunded to the buyer."""
    book = book or read_book(session)
    mine = [r for r in book.repayments.values() if r.line_id == line_id]
    money = MoneyReceived(
        received=sum(r.amount for r in mine if r.status == "received"),
        allocated=sum(r.total_paid for r in book.receivables.values() if r.line_id == line_id),
        credit=sum(r.credit for r in mine),
        refunded=sum(r.credit_refunded for r in mine))
    assert money.received == money.allocated + money.credit + money.refunded, money
    assert money.credit == credit_balance(session, line_id), money
    return money


def assert_credit_and_returns(session: Session, book: Book | None = None) -> None:
    """Per repayment: ``applied_minor`` = its journal; received: 0 <= credit <= amount; returned: nothing kept."""
    for r in (book or read_book(session)).repayments.values():
        assert r.applied == r.allocated, r
        if r.status == "received":
            assert 0 <= r.credit <= r.amount, r
        else:
            assert (r.to_receivables, r.credit_refunded, r.applied) == ({}, 0, 0), r
