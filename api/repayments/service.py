"""Repayments over HTTP: book money received, a bank's return, a credit balance refund; one unit of work each.

A payment or payout reference books once per caller (:mod:`credit.ledger.references`): a
retry under a new Idempotency-Key is 409 ``duplicate_reference`` naming what the first booked.

Every function takes the request's session and flushes, never commits (the kit's unit of work
does, together with the stored idempotent response). Each reads the book before it writes, so
it first takes the write lock (:func:`api.kit.db.take_write_lock`; SQLite) and the line's row
lock (PostgreSQL, in :mod:`credit.servicing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from api.checkout.service import balances_out
from api.kit.auth import Caller
from api.kit.db import take_write_lock
from api.repayments.schemas import (
    AllocationOut,
    CreditBalanceOut,
    CreditRefundIn,
    RepaymentIn,
    RepaymentOut,
    ReturnIn,
    ReturnOut,
)
from credit import ledger
from credit.ledger import references
from credit.policy import Policy
from credit.servicing import repayments
from credit.servicing.allocation import Allocation


def _allocations_out(allocations: Sequence[Allocation]) -> list[AllocationOut]:
    return [AllocationOut(receivable_id=a.receivable_id, part=a.part, amount=a.amount_minor) for a in allocations]


def receive(session: Session, caller: Caller, line_id: int, body: RepaymentIn, policy: Policy,
            now: datetime) -> RepaymentOut:
    """Book a repayment on the line and allocate it (named receivables, or oldest due first)."""
    take_write_lock(session)
    payment = {"client": caller.client, "kind": "payment", "reference": body.reference}
    references.claim(session, **payment, now=now)
    receipt = repayments.receive(session, line_id=line_id, amount_minor=body.amount, reference=body.reference,
                                 received_by=caller.actor, policy=policy, now=now, receivable_ids=body.receivable_ids)
    references.bind(session, **payment, object_id=receipt.repayment_id)
    return RepaymentOut(
        repayment_id=receipt.repayment_id, line_id=line_id, amount=body.amount, reference=body.reference,
        allocations=_allocations_out(receipt.allocations), credit_balance=receipt.credit_balance_minor,
        line_unfrozen=receipt.unfrozen, balances=balances_out(receipt.balances))


def return_repayment(session: Session, repayment_id: int, body: ReturnIn, policy: Policy, now: datetime) -> ReturnOut:
    """Book the bank returning a repayment: everything it paid is owed again."""
    take_write_lock(session)
    returned = repayments.return_repayment(session, repayment_id, reason=body.reason, policy=policy, now=now)
    line = ledger.get_line(session, returned.line_id)
    return ReturnOut(
        repayment_id=repayment_id, line_id=returned.line_id, reversed=_allocations_out(returned.reversals),
        credit_balance=repayments.credit_balance(session, returned.line_id), line_status=line.status,
        balances=balances_out(line.balances))


def refund_credit(session: Session, caller: Caller, line_id: int, body: CreditRefundIn,
                  now: datetime) -> CreditBalanceOut:
    """Pay part of the buyer's credit balance back to it, once per payout reference."""
    take_write_lock(session)
    payout = {"client": caller.client, "kind": "payout", "reference": body.reference}
    references.claim(session, **payout, now=now)
    left = repayments.refund_credit(session, line_id=line_id, amount_minor=body.amount, reference=body.reference,
                                    now=now)
    references.bind(session, **payout, object_id=line_id)
    return CreditBalanceOut(line_id=line_id, credit_balance=left)


def credit_balance(session: Session, line_id: int) -> CreditBalanceOut:
    """The buyer's credit balance on the line."""
    ledger.get_line(session, line_id)  # 404 for a line that does not exist
    return CreditBalanceOut(line_id=line_id, credit_balance=repayments.credit_balance(session, line_id))
