"""Installment plans over HTTP: quote, accept, quote and book an early settlement; one unit of work each.

Who sees what (:func:`visible_receivable`): a ``checkout`` key sees the receivables of the holds
it authorized (as it sees those holds, :mod:`api.checkout.service`); the payment system, the
finance team, analysts and admins see every receivable. Another's receivable is the same 404
``receivable_not_found`` as a missing one.

The buyer's grade is its latest score's PD on the policy's master scale (None when never
scored, which the policy treats as ``ungraded_max_count``). Functions flush, never commit; the
writers take the write lock first (:func:`api.kit.db.take_write_lock`; SQLite) and the line's
row lock (PostgreSQL, in :mod:`credit.servicing`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.checkout.service import balances_out
from api.installments.schemas import (
    EarlySettlementBookedOut,
    EarlySettlementIn,
    EarlySettlementOut,
    InstallmentOut,
    InstallmentPlanIn,
    InstallmentPlanOut,
    InstallmentQuoteOut,
    PlanInstallmentOut,
    SettlementItemOut,
)
from api.kit.auth import Caller
from api.kit.db import take_write_lock
from api.repayments.schemas import AllocationOut
from credit import ledger
from credit.ledger import references
from credit.ledger.journal import HOLDS
from credit.policy import Policy
from credit.scoring import latest_score
from credit.servicing import installments, repayments
from credit.servicing.amounts import RECEIVABLES
from credit.servicing.errors import ReceivableNotFound

_SEES_EVERY_RECEIVABLE = frozenset({"payments", "finance", "analyst", "admin"})
_r = RECEIVABLES.c


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def visible_receivable(session: Session, caller: Caller, receivable_id: int) -> tuple[int, int]:
    """The receivable's (firm_id, line_id) if the caller may see it; 404 ``receivable_not_found`` otherwise."""
    query = select(_r.firm_id, _r.line_id).where(_r.receivable_id == receivable_id)
    if caller.role not in _SEES_EVERY_RECEIVABLE:
        query = query.join(HOLDS, HOLDS.c.hold_id == _r.hold_id).where(HOLDS.c.authorized_by == caller.client)
    row = session.execute(query).first()
    if row is None:
        raise ReceivableNotFound(f"Receivable {receivable_id} does not exist.", receivable_id=receivable_id)
    return row.firm_id, row.line_id


def buyer_grade(session: Session, policy: Policy, firm_id: int) -> str | None:
    """The buyer's grade from its latest score; None when it was never scored."""
    score = latest_score(session, firm_id)
    return None if score is None else policy.grade_of(Decimal(str(score.pd)))


def quote(session: Session, caller: Caller, receivable_id: int, count: int, policy: Policy,
          now: datetime) -> InstallmentQuoteOut:
    """The plan the receivable would get if accepted now; reads only."""
    firm_id, line_id = visible_receivable(session, caller, receivable_id)
    grade = buyer_grade(session, policy, firm_id)
    schedule = installments.plan_quote(session, receivable_id, count, policy, grade, now)
    plans = policy.document.servicing.installments
    return InstallmentQuoteOut(
        receivable_id=receivable_id, line_id=line_id, grade=grade, count=count,
        max_count=installments.max_count(policy, grade), amount=schedule.amount_minor, fee=schedule.fee_minor,
        total=schedule.total_minor, monthly_fee_rate=str(plans.monthly_fee_rate),
        early_repayment=plans.early_repayment,
        installments=[InstallmentOut(number=i.number, due_at=_utc(i.due_at), principal=i.principal_minor,
                                     fee=i.fee_minor, total=i.total_minor) for i in schedule.installments])


def accept(session: Session, caller: Caller, receivable_id: int, body: InstallmentPlanIn, policy: Policy,
           now: datetime) -> InstallmentPlanOut:
    """Split the receivable into the plan's installment receivables."""
    take_write_lock(session)
    firm_id, line_id = visible_receivable(session, caller, receivable_id)
    ids = installments.accept(session, receivable_id, body.count, policy, buyer_grade(session, policy, firm_id), now)
    rows = session.execute(select(_r.receivable_id, _r.installment_number, _r.due_at, _r.principal_minor,
                                  _r.fee_minor, _r.status)
                           .where(_r.receivable_id.in_(ids)).order_by(_r.installment_number)).all()
    items = [PlanInstallmentOut(receivable_id=row.receivable_id, number=row.installment_number, due_at=_utc(row.due_at),
                                principal=row.principal_minor, fee=row.fee_minor,
                                total=row.principal_minor + row.fee_minor, status=row.status) for row in rows]
    amount, fee = sum(row.principal_minor for row in rows), sum(row.fee_minor for row in rows)
    return InstallmentPlanOut(receivable_id=receivable_id, line_id=line_id, count=len(ids), amount=amount, fee=fee,
                              total=amount + fee, installments=items,
                              balances=balances_out(ledger.balances(session, line_id)))


def _settlement_out(terms: installments.EarlySettlement) -> EarlySettlementOut:
    return EarlySettlementOut(
        receivable_id=terms.receivable_id, line_id=terms.line_id, early_repayment=terms.early_repayment,
        principal=terms.principal_minor, fee=terms.fee_minor, late_fee=terms.late_fee_minor,
        fee_waived=terms.fee_waived_minor, fee_returned=terms.fee_returned_minor, amount_due=terms.amount_due_minor,
        installments=[SettlementItemOut(
            receivable_id=i.receivable_id, number=i.number, due_at=_utc(i.due_at), used=i.used,
            principal=i.principal_minor, fee=i.fee_minor, late_fee=i.late_fee_minor, fee_waived=i.fee_waived_minor,
            fee_returned=i.fee_returned_minor, total=i.owed_minor) for i in terms.installments])


def early_settlement(session: Session, caller: Caller, receivable_id: int, policy: Policy,
                     now: datetime) -> EarlySettlementOut:
    """What settling the receivable's plan takes now; reads only."""
    visible_receivable(session, caller, receivable_id)
    return _settlement_out(installments.early_settlement_quote(session, receivable_id, policy, now))


def settle_early(session: Session, caller: Caller, receivable_id: int, body: EarlySettlementIn, policy: Policy,
                 now: datetime) -> EarlySettlementBookedOut:
    """Book an early settlement: the unused fee given up as the policy says, and the payment."""
    take_write_lock(session)
    visible_receivable(session, caller, receivable_id)
    payment = {"client": caller.client, "kind": "payment", "reference": body.reference}
    references.claim(session, **payment, now=now)  # a payment reference books once, whatever it pays
    settled = installments.settle_early(session, receivable_id, policy=policy, now=now, reference=body.reference,
                                        received_by=caller.actor, amount_minor=body.amount)
    receipt = settled.receipt  # never None here: the amount is at least one minor unit
    references.bind(session, **payment, object_id=receipt.repayment_id)
    return EarlySettlementBookedOut(
        receivable_id=receivable_id, line_id=receipt.line_id, repayment_id=receipt.repayment_id, amount=body.amount,
        reference=body.reference, settlement=_settlement_out(settled.terms),
        allocations=[AllocationOut(receivable_id=a.receivable_id, part=a.part, amount=a.amount_minor)
                     for a in receipt.allocations],
        credit_balance=receipt.credit_balance_minor, balances=balances_out(receipt.balances))
