"""Money from the buyer: receive a repayment, return it (bounced), refund the credit balance.

A repayment pays the receivables it names, or the line's owed receivables oldest due first;
within each, the parts in the policy's ``servicing.allocation_order``. What it does not use is
the buyer's **credit balance**: it pays the next receivable when one is captured
(:func:`apply_credit`), or is refunded on request (:func:`refund_credit`); never dropped, never
negative. Every minor unit received is allocated, in the credit balance, or refunded.

A **returned** repayment (bounced transfer, chargeback) reverses every allocation it made:
what it paid is owed again with its original due dates, and principal goes back on the line's
exposure (which can take the line over its limit: it is then frozen, see
:func:`credit.ledger.reopen`). One whose money was refunded to the buyer cannot be returned.

A repayment that cures the line (its days past due on the book fall below the policy's
``freeze_days`` and it is within its limit) lifts a freeze servicing put on it, in the same
unit of work; arrears at checkout are read live (:mod:`credit.standing.sql`), so paying off
what is overdue lifts the checkout block at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from credit import ledger
from credit.ledger.journal import require_positive
from credit.money import shown
from credit.policy import Policy
from credit.servicing import status
from credit.servicing.allocation import (
    ALLOCATIONS,
    REPAYMENTS,
    Allocation,
    book,
    lock_line,
    net_allocations,
    owed_on_line,
    pay_from,
    unapplied,
)
from credit.servicing.amounts import RECEIVABLES
from credit.servicing.errors import (
    ExceedsCreditBalance,
    ReceivableNotOnLine,
    RepaymentNotFound,
    RepaymentRefunded,
    RepaymentReturned,
)


@dataclass(frozen=True)
class Receipt:
    """What a repayment paid, and what it left."""

    repayment_id: int
    line_id: int
    amount_minor: int
    allocations: tuple[Allocation, ...]
    credit_balance_minor: int
    balances: ledger.Balances
    unfrozen: bool

    @property
    def allocated_minor(self) -> int:
        return sum(a.amount_minor for a in self.allocations)


def credit_balance(session: Session, line_id: int) -> int:
    """The buyer's credit balance on the line: received repayments' money not yet applied."""
    r = REPAYMENTS.c
    left = session.execute(select(func.coalesce(func.sum(r.amount_minor - r.applied_minor), 0))
                           .where(r.line_id == line_id, r.status == "received")).scalar_one()
    return int(left)


def receive(session: Session, *, line_id: int, amount_minor: int, reference: str, received_by: str, policy: Policy,
            now: datetime, receivable_ids: Sequence[int] | None = None) -> Receipt:
    """Book money received from the buyer and allocate it.

    Parameters
    ----------
    line_id
        The buyer's line (open, frozen or closed: a buyer in trouble may always pay).
    amount_minor
        Received, integer minor units, > 0.
    reference
        The payment's reference in the payment system.
    received_by
        Who books it (the API key holder's name).
    receivable_ids
        The receivables the payment names (remittance advice): only they are paid, oldest due
        first; the rest is credit balance. None: every owed receivable, oldest due first.

    Raises
    ------
    InvalidAmount, NoLine
    ReceivableNotOnLine
        A named receivable is not on this line (``receivable_not_on_line``).
    """
    require_positive(amount_minor)
    lock_line(session, line_id)
    firm_id = ledger.get_line(session, line_id).firm_id
    if receivable_ids is not None:
        _require_on_line(session, line_id, receivable_ids)
    repayment_id = session.execute(insert(REPAYMENTS).values(
        line_id=line_id, firm_id=firm_id, reference=reference, received_by=received_by, amount_minor=amount_minor,
        applied_minor=0, status="received", received_at=now).returning(REPAYMENTS.c.repayment_id)).scalar_one()
    owed = owed_on_line(session, line_id, receivable_ids)
    allocations = pay_from(session, [(repayment_id, amount_minor)], owed, policy.document.servicing.allocation_order,
                           reason="payment", now=now, reference=reference)
    status.refresh(session, [o.receivable_id for o in owed], now)
    unfrozen = cure(session, line_id, policy, now)
    return Receipt(repayment_id, line_id, amount_minor, tuple(allocations), credit_balance(session, line_id),
                   ledger.balances(session, line_id), unfrozen)


def apply_credit(session: Session, line_id: int, policy: Policy, now: datetime) -> list[Allocation]:
    """Pay the line's owed receivables, oldest due first, from its credit balance (oldest money first).

    Called when a receivable is booked; the caller holds the line's lock.
    """
    sources = unapplied(session, line_id)
    if not sources:
        return []
    owed = owed_on_line(session, line_id)
    allocations = pay_from(session, sources, owed, policy.document.servicing.allocation_order,
                           reason="credit", now=now)
    status.refresh(session, [o.receivable_id for o in owed], now)
    return allocations


@dataclass(frozen=True)
class Returned:
    """A returned repayment: the allocations it reversed and its line afterwards."""

    repayment_id: int
    line_id: int
    reversals: tuple[Allocation, ...]
    balances: ledger.Balances


def return_repayment(session: Session, repayment_id: int, *, reason: str, policy: Policy,
                     now: datetime) -> Returned:
    """The bank returned a repayment: reverse everything it paid; the receivables are owed again.

    Raises
    ------
    RepaymentNotFound, RepaymentReturned
        No such repayment; it was already returned.
    RepaymentRefunded
        Part of its money was refunded to the buyer from the credit balance.
    """
    line_id = session.execute(select(REPAYMENTS.c.line_id).where(REPAYMENTS.c.repayment_id == repayment_id)).scalar()
    if line_id is None:
        raise RepaymentNotFound(f"Repayment {repayment_id} does not exist.", repayment_id=repayment_id)
    lock_line(session, line_id)
    row = session.execute(select(REPAYMENTS).where(REPAYMENTS.c.repayment_id == repayment_id)).one()
    if row.status == "returned":
        raise RepaymentReturned(f"Repayment {repayment_id} was already returned at {row.returned_at:%Y-%m-%d %H:%M}.",
                                repayment_id=repayment_id)
    standing = net_allocations(session, repayment_id=repayment_id)
    refunded = sum(a.amount_minor for a in standing if a.part == "credit_refund")
    if refunded:
        raise RepaymentRefunded(
            f"Repayment {repayment_id} cannot be returned: {shown(refunded)} of it was refunded to the buyer from the "
            f"credit balance.", repayment_id=repayment_id, refunded_minor=refunded)
    reversals = [Allocation(a.repayment_id, a.receivable_id, a.part, -a.amount_minor) for a in standing]
    book(session, line_id, reversals, reason="returned", now=now, written_off=_written_off(session, reversals),
         reference=row.reference)
    session.execute(update(REPAYMENTS).where(REPAYMENTS.c.repayment_id == repayment_id)
                    .values(status="returned", returned_at=now, return_reason=reason))
    status.refresh(session, [a.receivable_id for a in reversals], now)
    return Returned(repayment_id, line_id, tuple(reversals), ledger.balances(session, line_id))


def refund_credit(session: Session, *, line_id: int, amount_minor: int, reference: str | None,
                  now: datetime) -> int:
    """Pay part or all of the buyer's credit balance back to it; returns the credit balance left.

    Raises
    ------
    ExceedsCreditBalance
        More than the credit balance (``exceeds_credit_balance``).
    """
    require_positive(amount_minor)
    lock_line(session, line_id)
    sources = unapplied(session, line_id)
    available = sum(left for _, left in sources)
    if amount_minor > available:
        raise ExceedsCreditBalance(
            f"Cannot refund {shown(amount_minor)} to the buyer of line {line_id}: its credit balance is "
            f"{shown(available)}.",
            line_id=line_id, amount_minor=amount_minor, credit_balance_minor=available)
    refunds, left = [], amount_minor
    for repayment_id, money in sources:
        take = min(left, money)
        refunds.append(Allocation(repayment_id, None, "credit_refund", take))
        left -= take
        if not left:
            break
    book(session, line_id, refunds, reason="credit_refund", now=now, written_off=set(), reference=reference)
    return available - amount_minor


def cure(session: Session, line_id: int, policy: Policy, now: datetime) -> bool:
    """Lift a freeze servicing put on the line once it is cured; returns whether it was lifted.

    Cured: the line's days past due on the book are below ``servicing.dunning.freeze_days``,
    posted plus pending are within the limit and nothing on it has defaulted. A freeze by the
    finance team stays.
    """
    line = ledger.get_line(session, line_id)
    if line.status != "frozen" or line.balances.available_minor < 0:
        return False
    if line.frozen_by != "servicing":
        return False
    defaulted = session.execute(select(RECEIVABLES.c.receivable_id).where(
        RECEIVABLES.c.line_id == line_id, RECEIVABLES.c.status == "defaulted").limit(1)).first()
    if defaulted is not None:  # a defaulted line stays frozen until it is charged off and closed
        return False
    if status.line_days_past_due(session, line_id, now) >= policy.document.servicing.dunning.freeze_days:
        return False
    return ledger.unfreeze(session, line_id, by="servicing", now=now)


def _require_on_line(session: Session, line_id: int, receivable_ids: Sequence[int]) -> None:
    wanted = set(receivable_ids)
    found = set(session.execute(select(RECEIVABLES.c.receivable_id).where(
        RECEIVABLES.c.receivable_id.in_(wanted), RECEIVABLES.c.line_id == line_id)).scalars())
    missing = sorted(wanted - found)
    if missing:
        raise ReceivableNotOnLine(
            f"Receivable(s) {missing} are not on line {line_id}; a repayment pays only its own line's receivables.",
            line_id=line_id, receivable_ids=missing)


def _written_off(session: Session, allocations: Sequence[Allocation]) -> set[int]:
    ids = {a.receivable_id for a in allocations if a.receivable_id is not None}
    if not ids:
        return set()
    return set(session.execute(select(RECEIVABLES.c.receivable_id).where(
        RECEIVABLES.c.receivable_id.in_(ids), RECEIVABLES.c.status.in_(("charged_off", "recovered")))).scalars())

