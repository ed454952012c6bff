"""A buyer's small book of receivables, written straight into the store, every movement at a chosen moment.

The ledger moves exposure (authorize, capture, refund, repay, reopen: posted exposure stays the
open principal of the receivables); receivables, repayments, allocations and late fees are
plain rows, as the servicing writers will book them. Plain functions, usable on any session.

:func:`march_book` is the scenario the statement tests work out by hand (amounts in cents)::

    receivable  booked             terms  due                principal  fee   (merchant fee)
    R5          2025-11-20 00:00   30     2025-12-20 00:00   30,000     450
    R7          2025-12-06 00:00   30     2026-01-05 00:00    5,000      75
    R1          2026-01-05 09:00   30     2026-02-04 09:00   40,000     600
    R6          2026-01-20 00:00   60     2026-03-21 00:00   10,000       0   (150)
    R2          2026-02-02 10:00   60     2026-04-03 10:00  100,000   2,500
    R3          2026-03-10 12:00   30     2026-04-09 12:00   60,000     900
    R4          2026-04-02 08:00   30     2026-05-02 08:00   20,000     300

    2025-12-27 02:00  late fee R5 1,000
    2026-01-12 02:00  late fee R7 500
    2026-02-01 11:00  refund of R7's order 1,000
    2026-02-11 02:00  late fee R1 1,500
    2026-02-20 12:00  P1 20,000: R1 late fee 1,500, fee 600, principal 17,900
    2026-03-12 15:00  refund of R3's order 5,000
    2026-03-15 09:00  P2 50,000: R1 principal 12,100, R2 fee 2,500, R2 principal 20,000 (15,400 left: credit)
    2026-03-20 10:00  P3 10,000: R3 principal 10,000
    2026-03-25 10:00  P3 returned by the bank: R3 principal -10,000
    2026-03-28 02:00  late fee R6 800
    2026-03-28 16:00  1,400 of P2's credit paid back to the buyer
    2026-04-02 08:00  R4 captured
    2026-04-03 09:00  refund of R2's order 1,000
    2026-04-05 11:00  P4 5,000: R3 principal 5,000
    2026-04-10 02:00  late fee R2 2,000
    NOW = 2026-04-20 12:00
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from credit import ledger
from credit.servicing.amounts import RECEIVABLES
from credit.servicing.tables import Repayment, RepaymentAllocation, ServicingAction
from tests.ledger.factories import make_firm

REPAYMENTS = Repayment.__table__
ALLOCATIONS = RepaymentAllocation.__table__
ACTIONS = ServicingAction.__table__
_r = RECEIVABLES.c

NOW = datetime(2026, 4, 20, 12, 0)
_PAID = {"principal": "paid_principal_minor", "fee": "paid_fee_minor", "late_fee": "paid_late_fee_minor"}


def open_buyer(session: Session, *, limit_minor: int = 1_000_000, at: datetime = datetime(2025, 11, 1),
               **firm: object) -> tuple[int, int]:
    """A new buyer firm with an active EUR line; returns (firm_id, line_id)."""
    firm_id = make_firm(session, **firm)
    return firm_id, ledger.open_line(session, firm_id=firm_id, limit_minor=limit_minor, currency="EUR", now=at)


def capture(session: Session, line_id: int, *, at: datetime, principal: int, fee: int = 0, terms_days: int = 30,
            reference: str = "SHIP", merchant_fee: int = 0, hold_id: int | None = None,
            status: str = "open") -> tuple[int, int]:
    """Authorize (unless ``hold_id`` is given) and capture ``principal`` at ``at``; book its receivable.

    Returns (hold_id, receivable_id).
    """
    if hold_id is None:
        hold_id = ledger.authorize(session, line_id, principal, order_reference=f"PO-{reference}",
                                   terms_days=terms_days, now=at).hold_id
    ledger.capture(session, hold_id, principal, reference=reference, now=at)
    firm_id = ledger.get_line(session, line_id).firm_id
    receivable_id = session.execute(insert(RECEIVABLES).values(
        line_id=line_id, firm_id=firm_id, hold_id=hold_id, parent_id=None, kind="terms", shipment_reference=reference,
        terms_days=terms_days, issued_at=at, due_at=at + timedelta(days=terms_days), principal_minor=principal,
        refunded_minor=0, rescheduled_minor=0, fee_minor=fee, merchant_fee_minor=merchant_fee, late_fee_minor=0,
        paid_principal_minor=0, paid_fee_minor=0, paid_late_fee_minor=0, charged_off_minor=0, recovered_minor=0,
        status=status, created_at=at, updated_at=at).returning(_r.receivable_id)).scalar_one()
    return hold_id, receivable_id


def late_fee(session: Session, receivable_id: int, amount_minor: int, *, at: datetime) -> None:
    """Dunning's late fee: a ``late_fee`` action with its amount, added to the receivable."""
    line_id = session.execute(select(_r.line_id).where(_r.receivable_id == receivable_id)).scalar_one()
    session.execute(insert(ACTIONS).values(
        line_id=line_id, receivable_id=receivable_id, subject=f"receivable:{receivable_id}", step="late_fee",
        step_key="late_fee:7", reason_code="late_fee_assessed", days_past_due=7, amount_minor=amount_minor,
        decision_id=str(uuid.uuid4()), as_of=at.date(), created_at=at))
    session.execute(update(RECEIVABLES).where(_r.receivable_id == receivable_id)
                    .values(late_fee_minor=_r.late_fee_minor + amount_minor))


def refund(session: Session, hold_id: int, receivable_id: int, amount_minor: int, *, at: datetime) -> None:
    """A seller refund of what is still owed on the receivable: the ledger's refund, the receivable's refunded."""
    ledger.refund(session, hold_id, amount_minor, reference=f"CN-{receivable_id}", now=at)
    session.execute(update(RECEIVABLES).where(_r.receivable_id == receivable_id)
                    .values(refunded_minor=_r.refunded_minor + amount_minor))


def allocate(session: Session, repayment_id: int, moves: list[tuple[int | None, str, int]], *, reason: str,
             at: datetime) -> None:
    """Allocation rows (negative: reversals) and every cache they move: paid_*, applied, posted exposure."""
    line_id = session.execute(
        select(REPAYMENTS.c.line_id).where(REPAYMENTS.c.repayment_id == repayment_id)).scalar_one()
    for receivable_id, part, amount in moves:
        session.execute(insert(ALLOCATIONS).values(repayment_id=repayment_id, receivable_id=receivable_id, part=part,
                                                   amount_minor=amount, reason=reason, created_at=at))
        session.execute(update(REPAYMENTS).where(REPAYMENTS.c.repayment_id == repayment_id)
                        .values(applied_minor=REPAYMENTS.c.applied_minor + amount))
        if receivable_id is None:
            continue
        column = _PAID[part]
        session.execute(update(RECEIVABLES).where(_r.receivable_id == receivable_id)
                        .values({column: getattr(_r, column) + amount}))
        if part == "principal" and amount > 0:
            ledger.repay(session, line_id, amount, now=at)
        elif part == "principal":
            ledger.reopen(session, line_id, -amount, now=at)


def pay(session: Session, line_id: int, amount_minor: int, moves: list[tuple[int, str, int]], *, at: datetime,
        reference: str = "PAY") -> int:
    """A repayment received at ``at`` and allocated as ``moves``; what they leave is credit. Returns its id."""
    firm_id = ledger.get_line(session, line_id).firm_id
    repayment_id = session.execute(insert(REPAYMENTS).values(
        line_id=line_id, firm_id=firm_id, reference=reference, received_by="payments", amount_minor=amount_minor,
        applied_minor=0, status="received", received_at=at).returning(REPAYMENTS.c.repayment_id)).scalar_one()
    allocate(session, repayment_id, moves, reason="payment", at=at)
    return repayment_id


def bounce(session: Session, repayment_id: int, moves: list[tuple[int, str, int]], *, at: datetime) -> None:
    """The bank returned the repayment: reversals of ``moves`` (given positive) and its status."""
    allocate(session, repayment_id, [(rid, part, -amount) for rid, part, amount in moves], reason="returned", at=at)
    session.execute(update(REPAYMENTS).where(REPAYMENTS.c.repayment_id == repayment_id)
                    .values(status="returned", returned_at=at, return_reason="insufficient funds"))


def refund_credit(session: Session, repayment_id: int, amount_minor: int, *, at: datetime) -> None:
    """Pay part of a repayment's unapplied money back to the buyer."""
    allocate(session, repayment_id, [(None, "credit_refund", amount_minor)], reason="credit_refund", at=at)


@dataclass(frozen=True)
class MarchBook:
    firm_id: int
    line_id: int
    receivables: dict[str, int]  # "R1".. -> receivable id
    holds: dict[str, int]


def march_book(session: Session, **firm: object) -> MarchBook:
    """The scenario of the module's docstring, booked in time order, for a new firm (``firm``: its columns)."""
    firm_id, line_id = open_buyer(session, **({"name": "Ferro & Sons"} | firm))
    r, h = {}, {}

    def book(name: str, at: datetime, principal: int, fee: int, terms: int, **extra: object) -> None:
        h[name], r[name] = capture(session, line_id, at=at, principal=principal, fee=fee, terms_days=terms,
                                   reference=f"SHIP-{name}", **extra)

    book("R5", datetime(2025, 11, 20), 30_000, 450, 30)
    book("R7", datetime(2025, 12, 6), 5_000, 75, 30)
    late_fee(session, r["R5"], 1_000, at=datetime(2025, 12, 27, 2))
    book("R1", datetime(2026, 1, 5, 9), 40_000, 600, 30)
    late_fee(session, r["R7"], 500, at=datetime(2026, 1, 12, 2))
    book("R6", datetime(2026, 1, 20), 10_000, 0, 60, merchant_fee=150)
    refund(session, h["R7"], r["R7"], 1_000, at=datetime(2026, 2, 1, 11))
    book("R2", datetime(2026, 2, 2, 10), 100_000, 2_500, 60)
    late_fee(session, r["R1"], 1_500, at=datetime(2026, 2, 11, 2))
    pay(session, line_id, 20_000, [(r["R1"], "late_fee", 1_500), (r["R1"], "fee", 600), (r["R1"], "principal", 17_900)],
        at=datetime(2026, 2, 20, 12), reference="P1")
    book("R3", datetime(2026, 3, 10, 12), 60_000, 900, 30)
    refund(session, h["R3"], r["R3"], 5_000, at=datetime(2026, 3, 12, 15))
    p2 = pay(session, line_id, 50_000, [(r["R1"], "principal", 12_100), (r["R2"], "fee", 2_500),
                                        (r["R2"], "principal", 20_000)], at=datetime(2026, 3, 15, 9), reference="P2")
    p3 = pay(session, line_id, 10_000, [(r["R3"], "principal", 10_000)], at=datetime(2026, 3, 20, 10), reference="P3")
    bounce(session, p3, [(r["R3"], "principal", 10_000)], at=datetime(2026, 3, 25, 10))
    late_fee(session, r["R6"], 800, at=datetime(2026, 3, 28, 2))
    refund_credit(session, p2, 1_400, at=datetime(2026, 3, 28, 16))
    book("R4", datetime(2026, 4, 2, 8), 20_000, 300, 30)
    refund(session, h["R2"], r["R2"], 1_000, at=datetime(2026, 4, 3, 9))
    pay(session, line_id, 5_000, [(r["R3"], "principal", 5_000)], at=datetime(2026, 4, 5, 11), reference="P4")
    late_fee(session, r["R2"], 2_000, at=datetime(2026, 4, 10, 2))
    # statuses at NOW (status.py's rule): R4 is not due yet, every other one is overdue
    session.execute(update(RECEIVABLES).where(_r.firm_id == firm_id).values(status="overdue", updated_at=NOW))
    session.execute(update(RECEIVABLES).where(_r.receivable_id == r["R4"]).values(status="open"))
    session.flush()
    return MarchBook(firm_id, line_id, r, h)
