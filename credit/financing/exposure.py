"""One exposure: what every product puts at risk on a firm, as debtor and as supplier.

* As **debtor** (the firm owes): its credit line, counted at its limit while the line can be
  drawn (an undrawn commitment is exposure the buyer can take at any moment; a closed line
  counts what is still held or posted), plus the advances outstanding on the orders and invoices
  it owes (order and receivables financing, ``buyer_id``).
* As **supplier** (the firm was advanced money): the advances outstanding made to it against
  its orders and invoices, and its transaction-flow loans (``supplier_id``).

A financing counts from its approval: its whole advance while ``approved`` (like a hold), then
its outstanding principal (paid out - collected - recovered - written off) until it closes.
The policy's ``concentration`` caps read these sums; bookings take :func:`lock_firms` first so
two concurrent bookings never both fit under one cap.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from credit.financing.tables import OPEN_STATUSES, Financing
from credit.ledger.tables import CreditLine
from credit.store.tables import Firm

F = Financing

AT_RISK = case(
    (F.status == "approved", F.advance_minor),
    (F.status.in_(OPEN_STATUSES), F.paid_out_minor - F.collected_minor - F.recovered_minor - F.written_off_minor),
    else_=0,
)
"""A financing's exposure as a SQL expression (minor units)."""


@dataclass(frozen=True)
class FirmExposure:
    """A firm's exposure by product, minor units.

    Attributes
    ----------
    line : int
        Its credit line: the limit while drawable, else what is held and posted.
    order_as_buyer, receivable_as_debtor : int
        Advances outstanding on its orders and invoices (it owes them).
    order_as_supplier, receivable_as_supplier, loan : int
        Advances outstanding made to it, and its loans.
    """

    line: int = 0
    order_as_buyer: int = 0
    receivable_as_debtor: int = 0
    order_as_supplier: int = 0
    receivable_as_supplier: int = 0
    loan: int = 0

    @property
    def as_debtor(self) -> int:
        return self.line + self.order_as_buyer + self.receivable_as_debtor

    @property
    def as_supplier(self) -> int:
        return self.order_as_supplier + self.receivable_as_supplier + self.loan

    @property
    def total(self) -> int:
        return self.as_debtor + self.as_supplier


def lock_firms(session: Session, *firm_ids: int) -> None:
    """Lock the firms whose caps a booking reads (PostgreSQL ``FOR UPDATE``, in id order; SQLite: BEGIN IMMEDIATE)."""
    session.execute(select(Firm.firm_id).where(Firm.firm_id.in_(sorted(set(firm_ids))))
                    .order_by(Firm.firm_id).with_for_update())


def line_exposure(session: Session, firm_id: int) -> int:
    """The firm's credit line as exposure: its limit while active or frozen, else held + posted; 0 without a line."""
    line = CreditLine
    drawn = line.pending_minor + line.posted_minor
    value = session.execute(select(case((line.status.in_(("active", "frozen")),
                                         case((line.limit_minor > drawn, line.limit_minor), else_=drawn)),
                                        else_=drawn)).where(line.firm_id == firm_id)).scalar()
    return int(value or 0)


def firm_exposure(session: Session, firm_id: int) -> FirmExposure:
    """Every product's exposure on ``firm_id`` (one query for the financings, one for the line)."""
    as_buyer = func.sum(case((F.buyer_id == firm_id, AT_RISK), else_=0))
    as_supplier = func.sum(case((F.supplier_id == firm_id, AT_RISK), else_=0))
    rows = session.execute(
        select(F.kind, as_buyer, as_supplier)
        .where((F.buyer_id == firm_id) | (F.supplier_id == firm_id), F.status.in_(OPEN_STATUSES))
        .group_by(F.kind)).all()
    sums = {kind: (int(buyer or 0), int(supplier or 0)) for kind, buyer, supplier in rows}
    return FirmExposure(
        line=line_exposure(session, firm_id),
        order_as_buyer=sums.get("order", (0, 0))[0], receivable_as_debtor=sums.get("receivable", (0, 0))[0],
        order_as_supplier=sums.get("order", (0, 0))[1], receivable_as_supplier=sums.get("receivable", (0, 0))[1],
        loan=sums.get("loan", (0, 0))[1])


def product_exposure(session: Session, kind: str, *, buyer_id: int | None = None,
                     supplier_id: int | None = None) -> int:
    """Exposure of one product on a buyer (or debtor) or a supplier (or borrower): a product cap's input."""
    query = select(func.coalesce(func.sum(AT_RISK), 0)).where(F.kind == kind, F.status.in_(OPEN_STATUSES))
    if buyer_id is not None:
        query = query.where(F.buyer_id == buyer_id)
    if supplier_id is not None:
        query = query.where(F.supplier_id == supplier_id)
    return int(session.execute(query).scalar_one())


def financing_at_risk_of_firms(session: Session, firm_ids: list[int]) -> dict[int, dict[str, int]]:
    """What each financing product has at risk on each firm, as debtor and as supplier together.

    A financing counts for its buyer (or debtor) and for its supplier (or borrower), at
    :data:`AT_RISK` (its advance while approved, then its outstanding principal).

    Returns
    -------
    dict
        Firm id -> {product kind (``order``, ``receivable``, ``loan``) -> minor units}, for the
        firms with an open financing; queried in chunks of 500 ids.
    """
    found: dict[int, dict[str, int]] = {}
    for start in range(0, len(firm_ids), 500):
        chunk = firm_ids[start:start + 500]
        for side in (F.buyer_id, F.supplier_id):
            rows = session.execute(select(side, F.kind, func.sum(AT_RISK))
                                   .where(side.in_(chunk), F.status.in_(OPEN_STATUSES)).group_by(side, F.kind))
            for firm_id, kind, amount in rows:
                by_kind = found.setdefault(int(firm_id), {})
                by_kind[kind] = by_kind.get(kind, 0) + int(amount or 0)
    return found
