"""A small financing book written by hand: four order advances, two receivables, one loan, their history.

The financings are booked as the API books them (ORM rows, status ``approved``) and moved only
through the financing core (``journal.pay_out``, ``journal.post``, ``lifecycle.receive``), each
step at its own frozen clock, as the products' daily jobs would. The tests work every expected
number out from the tables below (money in minor units; times UTC, 2026).

Firms: S1 801, S2 802, S3 803 (suppliers; S3 is the loan's borrower), B1 811, B2 812 (buyers).

===  ==========  =====  =====  ==========  ========================================================
id   kind        firm   buyer  booked      history
===  ==========  =====  =====  ==========  ========================================================
O1   order       S1     B1     Mar-01      PO 2,000,000; advance 1,600,000 at 10% a year, due_on
                                           May-01; paid out Mar-02; invoice I3 (2,000,000, issued
                                           Mar-25, due Apr-24 00:00) carries it; B1 pays 1,000,000 on
                                           I3 Apr-10 -> fee accrued 1,600,000 x 39 days x 0.10 / 365
                                           = 17,095.89 -> 17,096, all 1,000,000 to principal; status
                                           ``recourse`` on May-02
O2   order       S2     B2     Mar-05      advance 400,000 (face 500,000), never paid out
O3   order       S1     B2     Mar-05      advance 100,000, cancelled Mar-06 (never paid out)
O4   order       S2     B1     Mar-01      advance 300,000 at 12%, paid out Mar-03, ``recourse``
                                           Mar-10; S2 repays 301,500 Mar-13: accrued 300,000 x 10 x
                                           0.12 / 365 = 986.30 < minimum 0.005 x 300,000 = 1,500,
                                           so principal 300,000 + fee 1,500 recovered; settled
R1   receivable  S1     B1     Mar-02      invoice I1 1,000,000 (issued Mar-01, due Mar-31 00:00);
                                           advance 880,000, reserve 120,000, flat fee 4,437; paid
                                           out Mar-02; return of 50,000 Mar-10 (dilution); B1 pays
                                           950,000 on I1 Apr-05 10:00: principal 880,000, fee 4,437,
                                           released 65,563; settled. Dispute D1 (30,000, quality) on
                                           I1 opened Mar-08 09:00, resolved Mar-12 10:00
R2   receivable  S2     B2     Mar-02      invoice I2 500,000 (issued Mar-01, due Mar-15 00:00),
                                           non-recourse; advance 400,000, flat fee 2,000; paid out
                                           Mar-03; ``defaulted`` Apr-01; written off Apr-20 (400,000
                                           principal + 2,000 fee); Apr-25 the debtor's estate pays
                                           30,000: write-off reversed by 30,000, collected 30,000.
                                           Dispute D2 on I2's order opened Mar-01 12:00 (before the
                                           booking), never resolved: not a warning
L1   loan        S3     -      Mar-01      1,000,000, flat fee 50,000, minimum 100,000 per 30 days,
                                           paid out Mar-01; withheld 40,000 Mar-10, 50,000 Mar-25,
                                           20,000 Apr-02 (all principal)
===  ==========  =====  =====  ==========  ========================================================
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from credit import clock
from credit.financing import journal, lifecycle
from credit.financing.journal import Entry
from credit.financing.tables import Financing
from credit.policy import default_policy
from credit.store.tables import Dispute, Invoice, Order, Payment, Return
from tests.api.checkout.factories import make_firm

S1, S2, S3, B1, B2 = 801, 802, 803, 811, 812
ACTOR = "test"


@dataclass(frozen=True)
class FinancingBookIds:
    o1: int
    o2: int
    o3: int
    o4: int
    r1: int
    r2: int
    l1: int
    i1: int
    i2: int
    i3: int
    d1: int


def _at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour)


def make_order(session: Session, order_id: int, buyer: int, supplier: int, amount: int, created: date) -> int:
    session.execute(insert(Order).values(order_id=order_id, buyer_id=buyer, supplier_id=supplier,
                                         created_at=_at(created, 8), amount_minor=amount, category="parts",
                                         payment_terms="net30", confirmed_at=_at(created, 9)))
    return order_id


def make_invoice(session: Session, invoice_id: int, order_id: int, supplier: int, buyer: int, amount: int,
             issued: date, due: date) -> int:
    session.execute(insert(Invoice).values(invoice_id=invoice_id, order_id=order_id, supplier_id=supplier,
                                           buyer_id=buyer, issued_at=_at(issued, 0), due_at=_at(due, 0),
                                           amount_minor=amount))
    return invoice_id


def book_financing(session: Session, at: datetime, **columns: object) -> int:
    """An ``approved`` financing as the API books it (face, advance, fee, tenor, due_on and the rest from ``columns``)."""
    row = Financing(decision_id=str(uuid.uuid4()), status="approved", actor=ACTOR, created_at=at, updated_at=at,
                    tenor_days=columns.pop("tenor_days", 60), **columns)
    session.add(row)
    session.flush()
    return row.financing_id


def pay_out(session: Session, financing_id: int, day: date) -> None:
    with clock.frozen(_at(day, 11)):
        journal.pay_out(session, financing_id, reference=f"pay-{financing_id}", value_date=day, actor=ACTOR,
                        now=clock.now())


def post(session: Session, financing_id: int, day: date, *entries: Entry, status: str | None = None) -> None:
    with clock.frozen(_at(day, 13)):
        journal.post(session, journal.lock(session, financing_id), list(entries), booked_on=day, actor=ACTOR,
                     now=clock.now(), status=status)


def receive(session: Session, financing_id: int, day: date, amount: int, *, kind: str = "collection",
            source: str) -> None:
    with clock.frozen(_at(day, 14)):
        lifecycle.receive(session, financing_id, amount, kind=kind, source=source, booked_on=day, actor=ACTOR,
                          now=clock.now(), policy=default_policy())


def make_financing_book(session: Session) -> FinancingBookIds:
    """Write the book of the module's table, flushed (not committed)."""
    for firm_id, roles in ((S1, "supplier"), (S2, "supplier"), (S3, "supplier"), (B1, "buyer"), (B2, "buyer")):
        make_firm(session, firm_id=firm_id, roles=roles)
    mar, apr, may = (lambda d: date(2026, 3, d)), (lambda d: date(2026, 4, d)), (lambda d: date(2026, 5, d))
    # the marketplace's history
    po1 = make_order(session, 9001, B1, S1, 2_000_000, mar(1))
    po2 = make_order(session, 9002, B2, S2, 500_000, mar(5))
    po3 = make_order(session, 9003, B2, S1, 125_000, mar(5))
    po4 = make_order(session, 9004, B1, S2, 400_000, mar(1))
    or1 = make_order(session, 9011, B1, S1, 1_000_000, date(2026, 2, 20))
    or2 = make_order(session, 9012, B2, S2, 500_000, date(2026, 2, 20))
    i1 = make_invoice(session, 9101, or1, S1, B1, 1_000_000, mar(1), mar(31))
    i2 = make_invoice(session, 9102, or2, S2, B2, 500_000, mar(1), mar(15))
    i3 = make_invoice(session, 9103, po1, S1, B1, 2_000_000, mar(25), apr(24))
    session.execute(insert(Return).values(return_id=9201, order_id=or1, invoice_id=i1, returned_at=_at(mar(10), 10),
                                          amount_minor=50_000, reason="damaged"))
    session.execute(insert(Dispute).values(dispute_id=9301, order_id=or1, invoice_id=i1, opened_at=_at(mar(8), 9),
                                           amount_minor=30_000, reason="quality", resolution="supplier_favour",
                                           resolved_at=_at(mar(12), 10)))
    session.execute(insert(Dispute).values(dispute_id=9302, order_id=or2, invoice_id=None, opened_at=_at(mar(1), 12),
                                           amount_minor=10_000, reason="late_delivery"))
    session.execute(insert(Payment).values(payment_id=9401, invoice_id=i3, paid_at=_at(apr(10), 10),
                                           amount_minor=1_000_000))
    session.execute(insert(Payment).values(payment_id=9402, invoice_id=i1, paid_at=_at(apr(5), 10),
                                           amount_minor=950_000))

    # bookings
    o1 = book_financing(session, _at(mar(1), 9), kind="order", supplier_id=S1, buyer_id=B1, order_id=po1,
                        face_minor=2_000_000, advance_minor=1_600_000, fee_minor=26_301, annual_rate="0.10",
                        due_on=may(1))
    o4 = book_financing(session, _at(mar(1), 9), kind="order", supplier_id=S2, buyer_id=B1, order_id=po4,
                        face_minor=400_000, advance_minor=300_000, fee_minor=5_918, annual_rate="0.12",
                        due_on=may(2))
    l1 = book_financing(session, _at(mar(1), 8), kind="loan", supplier_id=S3, face_minor=1_000_000,
                        advance_minor=1_000_000, fee_minor=50_000, withholding_rate="0.10", minimum_minor=100_000,
                        period_days=30, tenor_days=180, due_on=mar(1) + timedelta(days=180))
    r1 = book_financing(session, _at(mar(2), 9), kind="receivable", supplier_id=S1, buyer_id=B1, invoice_id=i1,
                        face_minor=1_000_000, advance_minor=880_000, reserve_minor=120_000, fee_minor=4_437,
                        tenor_days=39, due_on=apr(10))
    r2 = book_financing(session, _at(mar(2), 9), kind="receivable", supplier_id=S2, buyer_id=B2, invoice_id=i2,
                        face_minor=500_000, advance_minor=400_000, reserve_minor=100_000, fee_minor=2_000,
                        recourse=False, tenor_days=23, due_on=mar(25))
    o2 = book_financing(session, _at(mar(5), 9), kind="order", supplier_id=S2, buyer_id=B2, order_id=po2,
                        face_minor=500_000, advance_minor=400_000, fee_minor=6_575, annual_rate="0.10",
                        due_on=may(4))
    o3 = book_financing(session, _at(mar(5), 10), kind="order", supplier_id=S1, buyer_id=B2, order_id=po3,
                        face_minor=125_000, advance_minor=100_000, fee_minor=1_644, annual_rate="0.10",
                        due_on=may(4))

    # what happened, day by day
    pay_out(session, l1, mar(1))
    pay_out(session, o1, mar(2))
    pay_out(session, r1, mar(2))
    pay_out(session, o4, mar(3))
    pay_out(session, r2, mar(3))
    with clock.frozen(_at(mar(6), 12)):
        journal.cancel(session, o3, actor=ACTOR, now=clock.now())
    receive(session, l1, mar(10), 40_000, source="sale:1")
    post(session, r1, mar(10), Entry("dilution", "surplus", 50_000, "return:9201"))
    post(session, o4, mar(10), status="recourse")
    receive(session, o4, mar(13), 301_500, kind="recovery", source="api:o4-recourse")
    receive(session, l1, mar(25), 50_000, source="sale:2")
    session.execute(update(Financing).where(Financing.financing_id == o1).values(invoice_id=i3, status="invoiced"))
    post(session, r2, apr(1), status="defaulted")
    receive(session, l1, apr(2), 20_000, source="sale:3")
    receive(session, r1, apr(5), 950_000, source="payment:9402")
    receive(session, o1, apr(10), 1_000_000, source="payment:9401")
    post(session, r2, apr(20), Entry("write_off", "principal", 400_000, "write_off"),
         Entry("write_off", "fee", 2_000, "write_off:fee"), status="written_off")
    post(session, r2, apr(25), Entry("write_off", "principal", -30_000, "estate:1:write_back"),
         Entry("collection", "principal", 30_000, "estate:1"))
    post(session, o1, may(2), status="recourse")
    session.flush()
    return FinancingBookIds(o1=o1, o2=o2, o3=o3, o4=o4, r1=r1, r2=r2, l1=l1, i1=i1, i2=i2, i3=i3, d1=9301)
