"""The financing book: outstanding by product, concentration by debtor, financings in trouble, dilution, and a
firm's financings as supplier and as debtor.

Exposure is :data:`credit.financing.exposure.AT_RISK` (the advance while approved, the outstanding
principal while open); everything is integer minor units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from credit.financing.book import FinancingRow, list_financings
from credit.financing.exposure import AT_RISK, FirmExposure, firm_exposure
from credit.financing.tables import FINANCING_KINDS, OPEN_STATUSES, Financing
from credit.policy import Policy
from credit.scoring.tables import ScoreSnapshot
from credit.store.tables import Firm

F = Financing
TOP_DEBTORS = 10
TROUBLED_SHOWN = 50
LATEST_SHOWN = 25
FIRM_FINANCINGS_SHOWN = 50
TROUBLED_STATUSES = ("overdue", "recourse", "defaulted")
PRODUCT_LABELS = {"order": "Order financing", "receivable": "Receivables financing", "loan": "Transaction-flow loans"}
_OUTSTANDING = F.paid_out_minor - F.collected_minor - F.recovered_minor - F.written_off_minor
_FEE_OWED = F.fee_charged_minor - F.fee_collected_minor - F.fee_recovered_minor - F.fee_written_off_minor


@dataclass(frozen=True)
class ProductBook:
    """One product's book: open financings, what waits to be paid out, what is outstanding, fees owed, exposure."""

    kind: str
    open_count: int
    approved_minor: int  # booked, not yet paid out
    outstanding_minor: int
    fee_owed_minor: int
    exposure_minor: int
    paid_out_minor: int  # all time, closed ones included
    written_off_minor: int

    @property
    def label(self) -> str:
        return PRODUCT_LABELS.get(self.kind, self.kind)


@dataclass(frozen=True)
class DebtorConcentration:
    """A debtor's financing exposure (orders it placed, invoices it owes), against its per-debtor cap."""

    firm_id: int
    name: str
    financings: int
    exposure_minor: int
    grade: str | None
    cap_minor: int | None

    @property
    def cap_used(self) -> float | None:
        return self.exposure_minor / self.cap_minor if self.cap_minor else None


@dataclass(frozen=True)
class Dilution:
    """Receivables financing: invoice value lost after financing, against the reserves held for it."""

    financings: int  # receivables financings paid out
    diluted_financings: int
    face_minor: int
    reserve_minor: int
    diluted_minor: int

    @property
    def rate(self) -> float | None:
        return self.diluted_minor / self.face_minor if self.face_minor else None


@dataclass(frozen=True)
class FinancingBook:
    """The console's financing page."""

    products: tuple[ProductBook, ...]
    total: ProductBook
    debtors: tuple[DebtorConcentration, ...]
    troubled: tuple[FinancingRow, ...]
    past_due: tuple[FinancingRow, ...]
    dilution: Dilution
    latest: dict[str, tuple[FinancingRow, ...]]
    names: dict[int, str]


def financing_book(session: Session, policy: Policy, today: date) -> FinancingBook:
    """The financing book now.

    Parameters
    ----------
    session
        The request's session.
    policy
        Its ``concentration.per_debtor_minor`` by the debtor's grade (latest batch score) is the cap shown.
    today
        The business day: an open financing paid out and past its ``due_on`` is past due.
    """
    is_open = F.status.in_(OPEN_STATUSES)
    totals = {row.kind: row for row in session.execute(
        select(F.kind, func.sum(case((is_open, 1), else_=0)).label("open_count"),
               func.sum(case((F.status == "approved", F.advance_minor), else_=0)).label("approved"),
               func.sum(case((is_open, _OUTSTANDING), else_=0)).label("outstanding"),
               func.sum(case((is_open, _FEE_OWED), else_=0)).label("fee_owed"),
               func.sum(AT_RISK).label("exposure"), func.sum(F.paid_out_minor).label("paid_out"),
               func.sum(F.written_off_minor).label("written_off"))
        .group_by(F.kind))}
    products = []
    for kind in FINANCING_KINDS:
        row = totals.get(kind)
        products.append(ProductBook(kind, *(int(getattr(row, name) or 0) if row else 0 for name in (
            "open_count", "approved", "outstanding", "fee_owed", "exposure", "paid_out", "written_off"))))
    total = ProductBook("all", *(sum(getattr(p, name) for p in products) for name in (
        "open_count", "approved_minor", "outstanding_minor", "fee_owed_minor", "exposure_minor", "paid_out_minor",
        "written_off_minor")))

    top = session.execute(
        select(F.buyer_id, func.count().label("financings"), func.sum(AT_RISK).label("exposure"))
        .where(F.buyer_id.is_not(None), is_open).group_by(F.buyer_id)
        .order_by(func.sum(AT_RISK).desc(), F.buyer_id).limit(TOP_DEBTORS)).all()
    debtor_ids = [row.buyer_id for row in top]
    grades = _grades(session, policy, debtor_ids)
    caps = policy.concentration.per_debtor_minor
    troubled = _rows(session, F.status.in_(TROUBLED_STATUSES), TROUBLED_SHOWN)
    past_due = _rows(session, F.status.in_(("paid_out", "invoiced")) & (F.due_on < today), TROUBLED_SHOWN)
    latest = {kind: tuple(reversed(_rows(session, F.kind == kind, LATEST_SHOWN, newest=True)))
              for kind in FINANCING_KINDS}
    firm_ids = set(debtor_ids)
    for row in (*troubled, *past_due, *(r for rows in latest.values() for r in rows)):
        firm_ids.update(i for i in (row.financing.supplier_id, row.financing.buyer_id) if i is not None)
    names = _names(session, firm_ids)
    debtors = tuple(DebtorConcentration(row.buyer_id, names.get(row.buyer_id, "firm"), int(row.financings),
                                        int(row.exposure or 0), grades.get(row.buyer_id),
                                        caps.get(grades[row.buyer_id]) if row.buyer_id in grades else None)
                    for row in top)
    return FinancingBook(tuple(products), total, debtors, troubled, past_due, _dilution(session), latest, names)


def _rows(session: Session, condition, limit: int, *, newest: bool = False) -> list[FinancingRow]:  # noqa: ANN001
    order = F.financing_id.desc() if newest else F.financing_id
    return [FinancingRow(financing, int(exposure)) for financing, exposure in session.execute(
        select(F, AT_RISK).where(condition).order_by(order).limit(limit))]


def _dilution(session: Session) -> Dilution:
    row = session.execute(
        select(func.count(), func.sum(case((F.diluted_minor > 0, 1), else_=0)), func.sum(F.face_minor),
               func.sum(F.reserve_minor), func.sum(F.diluted_minor))
        .where(F.kind == "receivable", F.paid_out_minor > 0)).one()
    return Dilution(*(int(value or 0) for value in row))


def _names(session: Session, firm_ids: set[int]) -> dict[int, str]:
    if not firm_ids:
        return {}
    return dict(session.execute(select(Firm.firm_id, Firm.name).where(Firm.firm_id.in_(sorted(firm_ids)))).all())


def _grades(session: Session, policy: Policy, firm_ids: list[int]) -> dict[int, str]:
    """Each firm's grade from its latest batch score (as the portfolio page grades lines)."""
    if not firm_ids:
        return {}
    latest: dict[int, float] = {}
    for firm_id, pd_ in session.execute(
            select(ScoreSnapshot.firm_id, ScoreSnapshot.pd).where(ScoreSnapshot.firm_id.in_(firm_ids))
            .order_by(ScoreSnapshot.firm_id, ScoreSnapshot.as_of, ScoreSnapshot.scored_at, ScoreSnapshot.score_id)):
        latest[firm_id] = pd_
    return {firm_id: policy.grade_of(Decimal(repr(float(pd_)))) for firm_id, pd_ in latest.items()}


@dataclass(frozen=True)
class FirmFinancings:
    """A firm's financings: advanced to it (as supplier, its loans included) and on what it owes (as debtor)."""

    exposure: FirmExposure
    as_supplier: tuple[FinancingRow, ...]
    as_debtor: tuple[FinancingRow, ...]
    more_as_supplier: bool
    more_as_debtor: bool
    names: dict[int, str]

    @property
    def any(self) -> bool:
        return bool(self.as_supplier or self.as_debtor)


def firm_financings(session: Session, firm_id: int, *, shown: int = FIRM_FINANCINGS_SHOWN) -> FirmFinancings:
    """The firm's financings (the first ``shown`` of each side, by id) and its exposure by product."""
    supplier = list_financings(session, supplier_id=firm_id, limit=shown)
    debtor = list_financings(session, buyer_id=firm_id, limit=shown)
    others = {i for row in (*supplier.rows, *debtor.rows)
              for i in (row.financing.supplier_id, row.financing.buyer_id) if i is not None and i != firm_id}
    return FirmFinancings(firm_exposure(session, firm_id), supplier.rows, debtor.rows,
                          supplier.next_cursor is not None, debtor.next_cursor is not None, _names(session, others))
