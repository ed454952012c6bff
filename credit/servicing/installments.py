"""Installment plans: a receivable on terms split into equal monthly installments, and settled early.

**Quote** (:func:`quote`; :func:`plan_quote` for a receivable of the book). What the buyer sees
before accepting; the policy's ``servicing.installments`` section decides. A plan of ``count``
installments is offered when ``2 <= count <= max_count`` of the buyer's grade
(``ungraded_max_count`` for a buyer not scored yet; a maximum of 0 or 1 offers no plan) and the
amount is at least ``min_amount_minor``. The fee is ``monthly_fee_rate x amount x (count - 1)``,
rounded half up to the minor unit (the first month is the terms the capture already had).
Principal and fee are each split in equal minor units, the remainder on the last installment.
Installment *k* is due *k* calendar months after acceptance, at the same time of day, each
counted from acceptance (not from the previous due date), a day past the month's end becoming
its last day: accepted 31 January, due 28 (or 29) February, 31 March, 30 April.

**Accept** (:func:`accept`). A receivable can be split when it is a ``terms`` receivable, open
or partially paid, before its due time, on an active line, and owes nothing but principal (a
terms fee the buyer owes is paid first: a rescheduled receivable is owed through its
installments only, so nothing may stay owed on it). Its principal still owed moves to
``count`` installment receivables (same order, line, buyer and shipment reference; issued at
acceptance; ``terms_days`` = 30 x the installment's number); the parent keeps what was paid on
it and becomes ``rescheduled``. Exposure does not move: what the parent no longer owes, its
installments owe, so the line's posted amount stays the open principal of its live receivables.
The buyer's credit balance then pays them, as it pays any new receivable.

**Early settlement** (:func:`early_settlement_quote`, :func:`settle_early`). The buyer pays off
the rest of a plan at once. An installment is *used* once its due time has come
(``due_at <= now``) and *unused* while it is still ahead. With ``early_repayment:
refund_unused_fee`` the whole fee of every unused installment is given up: what is still owed
of it is waived, and what was already paid of it goes back to the buyer's credit balance (a
``fee_waiver`` reversal in the allocation journal), to pay the next receivable or be refunded
on request. With ``keep_fee`` nothing is waived. The settlement then pays everything the plan
still owes (principal, the fees left, late fees) as one repayment naming the plan's
installments (:func:`credit.servicing.repayments.receive`). A plan in collections (an
installment defaulted or charged off) is not settled early: payments go through repayments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dateutil.relativedelta import relativedelta
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from credit import ledger
from credit.money import from_minor, round_half_up
from credit.policy import Policy
from credit.servicing import repayments, status
from credit.servicing.allocation import Allocation, book, lock_line, net_allocations
from credit.servicing.amounts import FEE_OWED, LATE_FEE_OWED, PRINCIPAL_OWED, RECEIVABLES
from credit.servicing.errors import (
    InstallmentPlanExists,
    InstallmentsNotAllowed,
    NoInstallmentPlan,
    PlanNotSettleable,
    ReceivableNotFound,
    ReceivableNotReschedulable,
    SettlementShort,
)

_r = RECEIVABLES.c
IN_COLLECTIONS: tuple[str, ...] = ("defaulted", "charged_off", "recovered")


@dataclass(frozen=True)
class Installment:
    """One line of a plan's schedule (minor units)."""

    number: int
    due_at: datetime
    principal_minor: int
    fee_minor: int

    @property
    def total_minor(self) -> int:
        return self.principal_minor + self.fee_minor


@dataclass(frozen=True)
class Schedule:
    """A plan as quoted: the amount split, its fee, and each installment."""

    amount_minor: int
    count: int
    fee_minor: int
    accepted_at: datetime
    installments: tuple[Installment, ...]

    @property
    def total_minor(self) -> int:
        return self.amount_minor + self.fee_minor


def max_count(policy: Policy, grade: str | None) -> int:
    """The most installments the policy offers a buyer of this grade (None: not graded yet); below 2: none."""
    plans = policy.document.servicing.installments
    return plans.ungraded_max_count if grade is None else plans.max_count[grade]


def split_evenly(amount_minor: int, count: int) -> list[int]:
    """``count`` equal shares in minor units, the remainder on the last (10,000,001 in 3: 3,333,333 x 2, 3,333,335)."""
    share = amount_minor // count
    return [share] * (count - 1) + [amount_minor - share * (count - 1)]


def due_dates(accepted_at: datetime, count: int) -> list[datetime]:
    """Due times of ``count`` monthly installments: 1, 2, ... calendar months after acceptance."""
    # relativedelta clips to the month's last day (31 January + 1 month = 28/29 February), and
    # counting each from acceptance keeps a 31st on the 31st where the month has one.
    return [accepted_at + relativedelta(months=number) for number in range(1, count + 1)]


def plan_fee(policy: Policy, amount_minor: int, count: int) -> int:
    """The plan's fee: monthly fee rate x amount x (count - 1), rounded half up to the minor unit."""
    rate = policy.document.servicing.installments.monthly_fee_rate
    return round_half_up(rate * amount_minor * (count - 1))


def quote(policy: Policy, grade: str | None, amount_minor: int, count: int, accepted_at: datetime) -> Schedule:
    """The fee schedule of splitting ``amount_minor`` into ``count`` monthly installments accepted at ``accepted_at``.

    Parameters
    ----------
    policy
        Its ``servicing.installments`` section sets who may split what, and the fee.
    grade
        The buyer's grade on the master scale; None when it was never scored.
    amount_minor
        The principal to split, minor units.
    count
        How many installments.
    accepted_at
        When the plan is (or would be) accepted; the first installment is due a month later.

    Returns
    -------
    Schedule

    Raises
    ------
    InstallmentsNotAllowed
        ``installments_not_allowed``: no plan for this grade, ``count`` outside 2 to the
        grade's maximum, or the amount below the policy's minimum (or below one minor unit
        per installment).
    """
    plans = policy.document.servicing.installments
    most = max_count(policy, grade)
    buyer = f"a buyer graded {grade}" if grade is not None else "a buyer not graded yet"
    if most < 2:
        raise InstallmentsNotAllowed(f"Installments are not offered to {buyer}.", grade=grade, count=count,
                                     max_count=most)
    if not 2 <= count <= most:
        raise InstallmentsNotAllowed(f"A plan of {count} installments is not offered to {buyer}; allowed: 2 to {most}.",
                                     grade=grade, count=count, max_count=most)
    if amount_minor < max(plans.min_amount_minor, count):
        raise InstallmentsNotAllowed(
            f"Installments need at least {from_minor(max(plans.min_amount_minor, count))} to split; "
            f"{from_minor(amount_minor)} is less.", amount_minor=amount_minor, min_amount_minor=plans.min_amount_minor)
    fee = plan_fee(policy, amount_minor, count)
    rows = zip(due_dates(accepted_at, count), split_evenly(amount_minor, count), split_evenly(fee, count), strict=True)
    return Schedule(amount_minor, count, fee, accepted_at,
                    tuple(Installment(number, due, principal, share)
                          for number, (due, principal, share) in enumerate(rows, start=1)))


def _read(session: Session, receivable_id: int):  # noqa: ANN202 - a row of RECEIVABLES with what it owes
    row = session.execute(select(RECEIVABLES, PRINCIPAL_OWED.label("principal_owed"), FEE_OWED.label("fee_owed"),
                                 LATE_FEE_OWED.label("late_fee_owed"))
                          .where(_r.receivable_id == receivable_id)).first()
    if row is None:
        raise ReceivableNotFound(f"Receivable {receivable_id} does not exist.", receivable_id=receivable_id)
    return row


def installment_ids(session: Session, parent_id: int) -> list[int]:
    """The installments a receivable was split into, in their order (empty when it was not split)."""
    return list(session.execute(select(_r.receivable_id).where(_r.parent_id == parent_id)
                                .order_by(_r.installment_number)).scalars())


def _reschedulable(session: Session, receivable_id: int, now: datetime):  # noqa: ANN202 - the row, as _read's
    """The receivable if it can be split now (see the module's rules); the refusal otherwise."""
    row = _read(session, receivable_id)
    if row.kind != "terms":
        raise ReceivableNotReschedulable(
            f"Receivable {receivable_id} is installment {row.installment_number} of {row.installment_count} of "
            f"receivable {row.parent_id}: an installment is not split again.",
            receivable_id=receivable_id, parent_id=row.parent_id)
    if row.status == "rescheduled":
        ids = installment_ids(session, receivable_id)
        raise InstallmentPlanExists(f"Receivable {receivable_id} was already split into installments {ids}.",
                                    receivable_id=receivable_id, installment_ids=ids)
    owed = int(row.principal_owed) + int(row.fee_owed) + int(row.late_fee_owed)
    paid = row.paid_principal_minor + row.paid_fee_minor + row.paid_late_fee_minor
    now_status = status.status_of(row.status, owed_minor=owed, paid_minor=paid, due_at=row.due_at, now=now)
    if now_status not in ("open", "partially_paid"):
        raise ReceivableNotReschedulable(
            f"Receivable {receivable_id} is {now_status}: only an open or partially paid receivable can be split.",
            receivable_id=receivable_id, status=now_status)
    if now >= row.due_at:
        raise ReceivableNotReschedulable(
            f"Receivable {receivable_id} was due at {row.due_at:%Y-%m-%d %H:%M} UTC: a plan is accepted only "
            f"before the due time.", receivable_id=receivable_id, due_at=row.due_at.isoformat())
    fees = int(row.fee_owed) + int(row.late_fee_owed)
    if fees:
        raise ReceivableNotReschedulable(
            f"Receivable {receivable_id} still owes {from_minor(fees)} in fees: pay them first; a plan splits "
            f"principal only.", receivable_id=receivable_id, fees_owed_minor=fees)
    line = ledger.get_line(session, row.line_id)
    if line.status != "active":
        raise ReceivableNotReschedulable(
            f"Credit line {row.line_id} is {line.status}: no installment plan is offered on it.",
            receivable_id=receivable_id, line_id=row.line_id, line_status=line.status)
    return row


def plan_quote(session: Session, receivable_id: int, count: int, policy: Policy, grade: str | None,
               now: datetime) -> Schedule:
    """The schedule :func:`accept` would book now for this receivable; reads only.

    Raises
    ------
    ReceivableNotFound, ReceivableNotReschedulable, InstallmentPlanExists
        No such receivable; it cannot be split now; it was split already.
    InstallmentsNotAllowed
        As :func:`quote`, for the principal it still owes.
    """
    row = _reschedulable(session, receivable_id, now)
    return quote(policy, grade, int(row.principal_owed), count, now)


def accept(session: Session, receivable_id: int, count: int, policy: Policy, grade: str | None,
           now: datetime) -> list[int]:
    """Split what a receivable still owes into ``count`` installment receivables; one unit of work.

    Parameters
    ----------
    receivable_id
        A ``terms`` receivable, open or partially paid and not yet due (see the module's rules).
    count, policy, grade
        As :func:`quote`.
    now
        Acceptance: the installments' issue time, and the start of their months.

    Returns
    -------
    list of int
        The installments' receivable ids, first due first.

    Raises
    ------
    The errors of :func:`plan_quote`.
    """
    line_id = session.execute(select(_r.line_id).where(_r.receivable_id == receivable_id)).scalar()
    if line_id is None:
        raise ReceivableNotFound(f"Receivable {receivable_id} does not exist.", receivable_id=receivable_id)
    lock_line(session, line_id)
    row = _reschedulable(session, receivable_id, now)
    schedule = quote(policy, grade, int(row.principal_owed), count, now)
    ids = []
    for item in schedule.installments:
        ids.append(session.execute(insert(RECEIVABLES).values(
            line_id=row.line_id, firm_id=row.firm_id, hold_id=row.hold_id, parent_id=receivable_id,
            kind="installment", installment_number=item.number, installment_count=count,
            shipment_reference=row.shipment_reference, terms_days=30 * item.number, issued_at=now,
            due_at=item.due_at, principal_minor=item.principal_minor, refunded_minor=0, rescheduled_minor=0,
            fee_minor=item.fee_minor, merchant_fee_minor=0, late_fee_minor=0, paid_principal_minor=0,
            paid_fee_minor=0, paid_late_fee_minor=0, charged_off_minor=0, recovered_minor=0, status="open",
            created_at=now, updated_at=now,
        ).returning(_r.receivable_id)).scalar_one())
    session.execute(update(RECEIVABLES).where(_r.receivable_id == receivable_id).values(
        rescheduled_minor=_r.rescheduled_minor + schedule.amount_minor, status="rescheduled", updated_at=now))
    repayments.apply_credit(session, row.line_id, policy, now)
    status.refresh(session, [receivable_id, *ids], now)
    return ids


@dataclass(frozen=True)
class SettlementItem:
    """One installment in an early settlement: what it still owes once the waiver is applied (minor units)."""

    receivable_id: int
    number: int
    due_at: datetime
    used: bool
    principal_minor: int
    fee_minor: int
    late_fee_minor: int
    fee_waived_minor: int
    """Fee still owed on it that the settlement waives."""
    fee_returned_minor: int
    """Fee already paid on it that goes back to the buyer's credit balance."""

    @property
    def owed_minor(self) -> int:
        return self.principal_minor + self.fee_minor + self.late_fee_minor


@dataclass(frozen=True)
class EarlySettlement:
    """What settles a plan now: each installment's part, the fee given up, the amount to pay."""

    receivable_id: int
    line_id: int
    early_repayment: str
    installments: tuple[SettlementItem, ...]

    def _sum(self, name: str) -> int:
        return sum(getattr(item, name) for item in self.installments)

    @property
    def principal_minor(self) -> int:
        return self._sum("principal_minor")

    @property
    def fee_minor(self) -> int:
        return self._sum("fee_minor")

    @property
    def late_fee_minor(self) -> int:
        return self._sum("late_fee_minor")

    @property
    def fee_waived_minor(self) -> int:
        return self._sum("fee_waived_minor")

    @property
    def fee_returned_minor(self) -> int:
        return self._sum("fee_returned_minor")

    @property
    def amount_due_minor(self) -> int:
        """What the buyer pays to settle: everything the plan owes after the waiver."""
        return self._sum("owed_minor")

    @property
    def receivable_ids(self) -> list[int]:
        """The installments the settlement's payment names: those that still owe something."""
        return [item.receivable_id for item in self.installments if item.owed_minor]


@dataclass(frozen=True)
class Settlement:
    """An early settlement booked: its terms, and the repayment (None when the waiver left nothing to pay)."""

    terms: EarlySettlement
    receipt: repayments.Receipt | None


def early_settlement_quote(session: Session, receivable_id: int, policy: Policy, now: datetime) -> EarlySettlement:
    """What settling the plan of a rescheduled receivable would take now; reads only.

    Raises
    ------
    ReceivableNotFound
        No such receivable.
    NoInstallmentPlan
        It was not split into installments (an installment's message names its plan's receivable).
    PlanNotSettleable
        The plan owes nothing, or is in collections.
    """
    parent = _read(session, receivable_id)
    # Split ones are rescheduled, unless charged off since (what a payment returned after the
    # split re-opened on it): then the plan is in collections, refused below.
    if parent.status != "rescheduled" and not installment_ids(session, receivable_id):
        where = (f"it is installment {parent.installment_number} of the plan of receivable {parent.parent_id}; "
                 f"settle that one" if parent.kind == "installment" else "it was not split into installments")
        raise NoInstallmentPlan(f"Receivable {receivable_id} has no installment plan: {where}.",
                                receivable_id=receivable_id, parent_id=parent.parent_id)
    rows = session.execute(select(RECEIVABLES, PRINCIPAL_OWED.label("principal_owed"), FEE_OWED.label("fee_owed"),
                                  LATE_FEE_OWED.label("late_fee_owed"))
                           .where(_r.parent_id == receivable_id).order_by(_r.installment_number)).all()
    collected = sorted(row.receivable_id for row in rows if row.status in IN_COLLECTIONS)
    if collected:
        raise PlanNotSettleable(
            f"The plan of receivable {receivable_id} is in collections (installments {collected} defaulted or charged "
            f"off): it is repaid through repayments, not settled early.", receivable_id=receivable_id,
            installment_ids=collected)
    if not sum(int(row.principal_owed) + int(row.fee_owed) + int(row.late_fee_owed) for row in rows):
        raise PlanNotSettleable(f"The plan of receivable {receivable_id} owes nothing: it is paid.",
                                receivable_id=receivable_id)
    refund = policy.document.servicing.installments.early_repayment == "refund_unused_fee"
    items = []
    for row in rows:
        used = row.due_at <= now
        waive = refund and not used
        fee_owed = int(row.fee_owed)
        items.append(SettlementItem(
            receivable_id=row.receivable_id, number=row.installment_number, due_at=row.due_at, used=used,
            principal_minor=int(row.principal_owed), fee_minor=0 if waive else fee_owed,
            late_fee_minor=int(row.late_fee_owed), fee_waived_minor=fee_owed if waive else 0,
            fee_returned_minor=row.paid_fee_minor if waive else 0))
    return EarlySettlement(receivable_id, parent.line_id, policy.document.servicing.installments.early_repayment,
                           tuple(items))


def settle_early(session: Session, receivable_id: int, *, policy: Policy, now: datetime, reference: str,
                 received_by: str, amount_minor: int | None = None) -> Settlement:
    """Settle the rest of a plan: give up the unused fee as the policy says, then book the payment; one unit of work.

    Parameters
    ----------
    receivable_id
        The rescheduled receivable whose plan is settled.
    reference, received_by
        The payment's reference and who books it, as :func:`credit.servicing.repayments.receive`.
    amount_minor
        The money received: at least what the settlement asks (more becomes credit balance).
        None: exactly what it asks.

    Returns
    -------
    Settlement

    Raises
    ------
    The errors of :func:`early_settlement_quote`, and
    SettlementShort
        ``amount_minor`` is less than the amount due (``settlement_amount_short``); nothing is booked.
    """
    line_id = session.execute(select(_r.line_id).where(_r.receivable_id == receivable_id)).scalar()
    if line_id is None:
        raise ReceivableNotFound(f"Receivable {receivable_id} does not exist.", receivable_id=receivable_id)
    lock_line(session, line_id)
    terms = early_settlement_quote(session, receivable_id, policy, now)
    due = terms.amount_due_minor
    if amount_minor is not None and amount_minor < due:
        raise SettlementShort(
            f"Settling the plan of receivable {receivable_id} takes {from_minor(due)}; {from_minor(amount_minor)} "
            f"is less.", receivable_id=receivable_id, amount_minor=amount_minor, amount_due_minor=due)
    _waive_unused_fee(session, terms, now)
    paid = due if amount_minor is None else amount_minor
    receipt = None
    if paid:
        receipt = repayments.receive(session, line_id=line_id, amount_minor=paid, reference=reference,
                                     received_by=received_by, policy=policy, now=now,
                                     receivable_ids=terms.receivable_ids)
    status.refresh(session, [item.receivable_id for item in terms.installments], now)
    return Settlement(terms, receipt)


def _waive_unused_fee(session: Session, terms: EarlySettlement, now: datetime) -> None:
    """Give up the fee of the unused installments: the paid part back to credit, then the fee itself."""
    waived = [item for item in terms.installments if item.fee_waived_minor or item.fee_returned_minor]
    if not waived:
        return
    reversals = [Allocation(a.repayment_id, a.receivable_id, "fee", -a.amount_minor)
                 for item in waived if item.fee_returned_minor
                 for a in net_allocations(session, receivable_id=item.receivable_id)
                 if a.part == "fee" and a.amount_minor > 0]
    book(session, terms.line_id, reversals, reason="fee_waiver", now=now, written_off=set())
    # paid fee is 0 on them now: the fee goes to 0 with it (the receivable's CHECK holds paid <= fee)
    session.execute(update(RECEIVABLES).where(_r.receivable_id.in_([item.receivable_id for item in waived]))
                    .values(fee_minor=0, updated_at=now))
