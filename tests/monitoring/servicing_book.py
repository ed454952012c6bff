"""A small serviced book written by hand: six lines, their scores, receivables, ageing, repayments and actions.

Every figure of :mod:`credit.monitoring.book` reads its own tables, so the ageing snapshots
here are written by hand too, independent of the receivables (the servicing job derives
them in production). The tests work every expected number out from the comments below.

Lines (opened 2026-01-02 09:00) and the scores known then (scored 2026-01-01 08:00 unless said):

====  =======================================  ========  =============================================
line  score at opening                         grade     outcome
====  =======================================  ========  =============================================
L1    0.003 (Dec), then 0.004; 0.09 in Feb     B         paid
L2    0.0045                                   B         41 days past due at Mar-31
L3    0.015                                    D         a ``default`` servicing action (Mar-31)
L4    0.001                                    A         no receivable: not in the book's grades
L5    0.05                                     F         charged off 2026-03-20 10:00 (195,000)
L6    only scored 2026-01-10                   ungraded  a reminder only
====  =======================================  ========  =============================================

Receivables (issued at midnight; money in minor units):

===  ====  ==========  ==========  ===============================================================
id   line  issued      due         amounts
===  ====  ==========  ==========  ===============================================================
R1   L1    2026-01-10  2026-02-09  principal 100,000, fee 1,500: paid 40,000 (Feb-20), 61,500 (Mar-20)
R2   L5    2026-01-05  2026-02-04  principal 200,000: 5,000 paid Mar-02, charged off 195,000 Mar-20,
                                   recovered 20,000 Mar-25 and 50,000 Apr-05 (+ late fee 2,000)
R3   L2    2026-01-20  2026-02-19  principal 60,000, refunded 10,000; late fee 1,500 (Feb-26):
                                   paid late fee 1,500 + 10,000 Mar-01; 10,000 Mar-05, returned Mar-10
R4   L3    2026-01-25  2026-02-24  principal 60,000, all rescheduled into R4a and R4b (2026-02-01)
R4a  L3    2026-02-01  2026-03-01  installment 1/2: 30,000, late fee 1,500 (Mar-08), unpaid
R4b  L3    2026-02-01  2026-04-01  installment 2/2: 30,000, unpaid
R5   L6    2026-02-10  2026-02-24  principal 80,000 (net 14), unpaid
===  ====  ==========  ==========  ===============================================================

Repayments: P1 L1 40,000 Feb-20; P2 L1 71,500 Mar-20 (fee 1,500, principal 60,000, 10,000 left
as credit, 5,000 of it refunded Apr-02); P3 L2 11,500 Mar-01; P4 L2 10,000 Mar-05 (returned
Mar-10); P5 L5 52,000 Apr-05; P6 L5 20,000 Mar-25; P7 L5 5,000 Mar-02.

Ageing snapshots (bucket, open_minor) on the month-end days; decoy snapshots on Jan-15, Feb-10,
Mar-15 and Apr-10 put every line in 90+ owing 999 (April has not ended by Apr-10):

====  =================  =================  =================
line  Jan-31             Feb-27             Mar-31
====  =================  =================  =================
L1    current 10,000     current 10,000     1-30 10,000
L2    current 20,000     1-30 20,000        31-60 20,000
L3    current 30,000     current 0          current 0
L4    current 40,000     (no row)           (no row)
L5    1-30 50,000        31-60 50,000       61-90 50,000
L6    current 0          current 5,000      current 5,000
====  =================  =================  =================
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from credit import ledger
from credit.scoring.tables import ScoreSnapshot
from credit.servicing.tables import BookAgeing, Receivable, Repayment, RepaymentAllocation, ServicingAction
from tests.ledger.factories import make_firm

OPENED = datetime(2026, 1, 2, 9, 0)
SCORED = datetime(2026, 1, 1, 8, 0)
LIMIT = 1_000_000
MONTH_ENDS = (date(2026, 1, 31), date(2026, 2, 27), date(2026, 3, 31))
DECOYS = (date(2026, 1, 15), date(2026, 2, 10), date(2026, 3, 15), date(2026, 4, 10))
_DPD = {"current": 0, "1-30": 10, "31-60": 40, "61-90": 70, "90+": 100}


@dataclass
class Book:
    """The ids of what :func:`make_book` wrote: lines ``L1``..``L6``, receivables ``R1``.., repayments ``P1``.."""

    lines: dict[str, int]
    firms: dict[str, int]
    receivables: dict[str, int]
    repayments: dict[str, int]


def at(day: str, hour: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour)


def make_book(session: Session) -> Book:
    """Write the book of the module docstring (flushes, never commits)."""
    firms = {name: make_firm(session, name=f"Buyer {name}") for name in ("L1", "L2", "L3", "L4", "L5", "L6")}
    lines = {name: ledger.open_line(session, firm_id=firm, limit_minor=LIMIT, currency="EUR", now=OPENED)
             for name, firm in firms.items()}
    _scores(session, firms)
    book = Book(lines, firms, {}, {})
    _receivables(session, book)
    _repayments(session, book)
    _actions(session, book)
    _ageing(session, book)
    session.flush()
    return book


def _scores(session: Session, firms: dict[str, int]) -> None:
    rows = [("L1", "2025-12-01", at("2025-12-01", 8), 0.003), ("L1", "2026-01-01", SCORED, 0.004),
            ("L1", "2026-02-01", at("2026-02-01", 8), 0.09), ("L2", "2026-01-01", SCORED, 0.0045),
            ("L3", "2026-01-01", SCORED, 0.015), ("L4", "2026-01-01", SCORED, 0.001),
            ("L5", "2026-01-01", SCORED, 0.05), ("L6", "2026-01-10", at("2026-01-10", 8), 0.02)]
    session.execute(insert(ScoreSnapshot), [
        {"firm_id": firms[line], "as_of": date.fromisoformat(as_of), "model_name": "credit_pd", "model_version": "1",
         "pd": pd_, "features": {}, "reason_codes": [], "reason_catalogue_version": 1, "scored_at": scored}
        for line, as_of, scored, pd_ in rows])


def _capture(session: Session, book: Book, line: str, amount: int, issued: datetime, reference: str) -> int:
    hold = ledger.authorize(session, book.lines[line], amount, order_reference=f"order-{reference}", now=issued)
    ledger.capture(session, hold.hold_id, amount, reference=reference, now=issued)
    return hold.hold_id


def _receivable(session: Session, book: Book, name: str, line: str, hold_id: int, issued: str, due: str,
                principal: int, **values: object) -> None:
    row = {"line_id": book.lines[line], "firm_id": book.firms[line], "hold_id": hold_id, "kind": "terms",
           "shipment_reference": f"SHIP-{name}", "terms_days": (at(due) - at(issued)).days,
           "issued_at": at(issued), "due_at": at(due), "principal_minor": principal, "refunded_minor": 0,
           "rescheduled_minor": 0, "fee_minor": 0, "merchant_fee_minor": 0, "late_fee_minor": 0,
           "paid_principal_minor": 0, "paid_fee_minor": 0, "paid_late_fee_minor": 0, "charged_off_minor": 0,
           "recovered_minor": 0, "status": "open", "created_at": at(issued), "updated_at": at(issued)} | values
    book.receivables[name] = session.execute(
        insert(Receivable).values(**row).returning(Receivable.receivable_id)).scalar_one()


def _receivables(session: Session, book: Book) -> None:
    h1 = _capture(session, book, "L1", 100_000, at("2026-01-10"), "R1")
    _receivable(session, book, "R1", "L1", h1, "2026-01-10", "2026-02-09", 100_000, fee_minor=1_500,
                paid_principal_minor=100_000, paid_fee_minor=1_500, status="paid")
    h2 = _capture(session, book, "L5", 200_000, at("2026-01-05"), "R2")
    _receivable(session, book, "R2", "L5", h2, "2026-01-05", "2026-02-04", 200_000, late_fee_minor=2_000,
                paid_late_fee_minor=2_000, paid_principal_minor=75_000, charged_off_minor=195_000,
                recovered_minor=70_000, status="charged_off")
    h3 = _capture(session, book, "L2", 60_000, at("2026-01-20"), "R3")
    ledger.refund(session, h3, 10_000, reference="CN-R3", now=at("2026-01-28"))
    _receivable(session, book, "R3", "L2", h3, "2026-01-20", "2026-02-19", 60_000, refunded_minor=10_000,
                late_fee_minor=1_500, paid_late_fee_minor=1_500, paid_principal_minor=10_000, status="overdue")
    h4 = _capture(session, book, "L3", 60_000, at("2026-01-25"), "R4")
    _receivable(session, book, "R4", "L3", h4, "2026-01-25", "2026-02-24", 60_000, rescheduled_minor=60_000,
                status="rescheduled")
    for number, due, extra in ((1, "2026-03-01", {"late_fee_minor": 1_500, "status": "overdue"}), (2, "2026-04-01", {})):
        _receivable(session, book, f"R4{'ab'[number - 1]}", "L3", h4, "2026-02-01", due, 30_000, kind="installment",
                    parent_id=book.receivables["R4"], installment_number=number, installment_count=2, **extra)
    h5 = _capture(session, book, "L6", 80_000, at("2026-02-10"), "R5")
    _receivable(session, book, "R5", "L6", h5, "2026-02-10", "2026-02-24", 80_000, status="overdue")


def _repayment(session: Session, book: Book, name: str, line: str, amount: int, received: datetime,
               allocations: list[tuple[str | None, str, int, datetime, str]], **values: object) -> None:
    applied = sum(money for _, _, money, _, _ in allocations)
    row = {"line_id": book.lines[line], "firm_id": book.firms[line], "reference": f"PAY-{name}",
           "received_by": "payments", "amount_minor": amount, "applied_minor": applied, "status": "received",
           "received_at": received} | values
    book.repayments[name] = repayment_id = session.execute(insert(Repayment).values(**row)
        .returning(Repayment.repayment_id)).scalar_one()
    for receivable, part, money, when, reason in allocations:
        session.execute(insert(RepaymentAllocation).values(
            repayment_id=repayment_id, receivable_id=book.receivables[receivable] if receivable else None, part=part,
            amount_minor=money, reason=reason, created_at=when))


def _repayments(session: Session, book: Book) -> None:
    feb20, mar20 = at("2026-02-20", 10), at("2026-03-20", 10)
    _repayment(session, book, "P1", "L1", 40_000, feb20, [("R1", "principal", 40_000, feb20, "payment")])
    ledger.repay(session, book.lines["L1"], 40_000, reference="PAY-P1", now=feb20)
    _repayment(session, book, "P2", "L1", 71_500, mar20, [
        ("R1", "fee", 1_500, mar20, "payment"), ("R1", "principal", 60_000, mar20, "payment"),
        (None, "credit_refund", 5_000, at("2026-04-02", 10), "credit_refund")])
    ledger.repay(session, book.lines["L1"], 60_000, reference="PAY-P2", now=mar20)
    mar01 = at("2026-03-01", 10)
    _repayment(session, book, "P3", "L2", 11_500, mar01, [
        ("R3", "late_fee", 1_500, mar01, "payment"), ("R3", "principal", 10_000, mar01, "payment")])
    ledger.repay(session, book.lines["L2"], 10_000, reference="PAY-P3", now=mar01)
    mar05, mar10 = at("2026-03-05", 10), at("2026-03-10", 10)
    _repayment(session, book, "P4", "L2", 10_000, mar05, [
        ("R3", "principal", 10_000, mar05, "payment"), ("R3", "principal", -10_000, mar10, "returned")],
        status="returned", returned_at=mar10, return_reason="insufficient funds")
    ledger.repay(session, book.lines["L2"], 10_000, reference="PAY-P4", now=mar05)
    ledger.reopen(session, book.lines["L2"], 10_000, reference="PAY-P4", now=mar10)
    mar02 = at("2026-03-02", 10)
    _repayment(session, book, "P7", "L5", 5_000, mar02, [("R2", "principal", 5_000, mar02, "payment")])
    ledger.repay(session, book.lines["L5"], 5_000, reference="PAY-P7", now=mar02)
    ledger.charge_off(session, book.lines["L5"], 195_000, reference="default", now=at("2026-03-20", 10))
    mar25, apr05 = at("2026-03-25", 10), at("2026-04-05", 10)
    _repayment(session, book, "P6", "L5", 20_000, mar25, [("R2", "principal", 20_000, mar25, "payment")])
    _repayment(session, book, "P5", "L5", 52_000, apr05, [
        ("R2", "late_fee", 2_000, apr05, "payment"), ("R2", "principal", 50_000, apr05, "payment")])


def _action(session: Session, book: Book, line: str, step: str, day: str, *, receivable: str | None = None,
            amount: int | None = None, offset: int = 0) -> None:
    subject = f"receivable:{book.receivables[receivable]}" if receivable else f"line:{book.lines[line]}"
    session.execute(insert(ServicingAction).values(
        line_id=book.lines[line], receivable_id=book.receivables[receivable] if receivable else None, subject=subject,
        step=step, step_key=f"{step}:{offset}", reason_code=f"servicing_{step}", days_past_due=offset,
        amount_minor=amount, decision_id=str(uuid.uuid4()), as_of=date.fromisoformat(day),
        created_at=at(day, 23)))


def _actions(session: Session, book: Book) -> None:
    _action(session, book, "L2", "late_fee", "2026-02-26", receivable="R3", amount=1_500, offset=7)
    _action(session, book, "L3", "late_fee", "2026-03-08", receivable="R4a", amount=1_500, offset=7)
    _action(session, book, "L3", "default", "2026-03-31", offset=90)
    _action(session, book, "L6", "reminder", "2026-02-21", receivable="R5", offset=-3)
    _action(session, book, "L5", "charge_off", "2026-03-20", receivable="R2", amount=195_000, offset=90)


AGEING = {
    "L1": (("current", 10_000), ("current", 10_000), ("1-30", 10_000)),
    "L2": (("current", 20_000), ("1-30", 20_000), ("31-60", 20_000)),
    "L3": (("current", 30_000), ("current", 0), ("current", 0)),
    "L4": (("current", 40_000), None, None),
    "L5": (("1-30", 50_000), ("31-60", 50_000), ("61-90", 50_000)),
    "L6": (("current", 0), ("current", 5_000), ("current", 5_000)),
}


def _ageing(session: Session, book: Book) -> None:
    rows = []
    for line, snapshots in AGEING.items():
        for day, snapshot in (*zip(MONTH_ENDS, snapshots), *((decoy, ("90+", 999)) for decoy in DECOYS)):
            if snapshot is None:
                continue
            bucket, open_minor = snapshot
            rows.append({"as_of": day, "line_id": book.lines[line], "firm_id": book.firms[line],
                         "days_past_due": _DPD[bucket], "bucket": bucket, "open_minor": open_minor,
                         "overdue_minor": 0 if bucket == "current" else open_minor, "charged_off_minor": 0})
    session.execute(insert(BookAgeing), rows)
