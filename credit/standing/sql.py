"""Standing over the store, for the service: statements on ``invoices``, ``payments`` and the book's ``receivables``.

The marketplace's invoices are read at ``as_of`` (payments strictly before it); the book's
receivables and overdue transaction-flow loans as they stand, since the service reads the book
only at "now" (what is owed on them is cached on each row by :mod:`credit.servicing`, see
:mod:`credit.servicing.amounts`, and on each financing by :mod:`credit.financing.journal`).

The definition is :mod:`credit.standing`'s; :mod:`credit.standing.frames` computes the same
over frames, and ``tests/standing`` holds the two equal. Statements are built on the Core
tables so that a caller may prepare them once (:mod:`credit.store.prepared`) with bind
parameters for the firm, ``as_of`` and its :func:`~credit.standing.overdue_cutoff`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, DateTime, ScalarSelect, Select, case, func, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement

from credit.financing.tables import Financing
from credit.servicing.amounts import OWED, RECEIVABLES
from credit.standing.definition import days_past_due, overdue_cutoff
from credit.store.tables import Invoice, Payment

INVOICES = Invoice.__table__
PAYMENTS = Payment.__table__
FINANCINGS = Financing.__table__


class _DaysAfter(FunctionElement):
    """``day + days`` as a timestamp at 00:00 (a Date column plus an integer expression), per dialect."""

    type = DateTime()
    inherit_cache = True
    name = "days_after"


@compiles(_DaysAfter, "sqlite")
def _days_after_sqlite(element: _DaysAfter, compiler: Any, **kw: Any) -> str:
    day, days = (compiler.process(arg, **kw) for arg in element.clauses)
    # SQLAlchemy's own text for a SQLite DATETIME, so comparisons with stored times are exact
    return f"(datetime({day}, '+' || ({days}) || ' days') || '.000000')"


@compiles(_DaysAfter)
def _days_after_default(element: _DaysAfter, compiler: Any, **kw: Any) -> str:
    day, days = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST({day} + ({days}) * INTERVAL '1 day' AS TIMESTAMP WITHOUT TIME ZONE)"


_f = FINANCINGS.c
LOAN_REPAID = _f.collected_minor + _f.recovered_minor + _f.fee_collected_minor + _f.fee_recovered_minor
"""A loan's principal and fee repaid (see :func:`credit.financing.loans.repaid_minor`)."""
LOAN_MISSED_ON = _DaysAfter(_f.value_date, (LOAN_REPAID // _f.minimum_minor + 1) * _f.period_days)
"""An overdue loan's missed-minimum date at 00:00: the end of its first period whose minimum is not met
(:func:`credit.financing.loans.missed_minimum_on`; integer division on both stores)."""
_LOAN_DUE = (LOAN_REPAID // _f.minimum_minor + 1) * _f.minimum_minor
LOAN_SHORTFALL = case((_LOAN_DUE < _f.advance_minor + _f.fee_minor, _LOAN_DUE),
                      else_=_f.advance_minor + _f.fee_minor) - LOAN_REPAID
"""What an overdue loan lacks to meet the minimum of its missed-minimum date (its overdue amount)."""


def _loan_overdue(firm_id: Any, cutoff: Any) -> tuple[ColumnElement[bool], ...]:
    # A loan the daily job found behind its minimum (status overdue, credit.financing.loans), borrowed
    # by the firm, and still behind as it stands (a prepayment since may have caught it up).
    return (_f.supplier_id == firm_id, _f.kind == "loan", _f.status == "overdue", LOAN_MISSED_ON <= cutoff)


def paid_before(as_of: Any) -> ScalarSelect:
    """Paid of the enclosing query's invoice at ``as_of``: its payments made strictly before it (correlated)."""
    return (select(func.coalesce(func.sum(PAYMENTS.c.amount_minor), 0))
            .where(PAYMENTS.c.invoice_id == INVOICES.c.invoice_id, PAYMENTS.c.paid_at < as_of).scalar_subquery())


def _overdue(buyer_id: Any, as_of: Any, cutoff: Any) -> tuple[ColumnElement[bool], ...]:
    return (INVOICES.c.buyer_id == buyer_id, INVOICES.c.due_at <= cutoff, INVOICES.c.amount_minor > paid_before(as_of))


def _book_overdue(buyer_id: Any, cutoff: Any) -> tuple[ColumnElement[bool], ...]:
    # The book's receivables as they stand (the service reads the book at "now"): owed and due by the cut-off.
    return (RECEIVABLES.c.firm_id == buyer_id, RECEIVABLES.c.due_at <= cutoff, OWED > 0)


def overdue_since(buyer_id: Any, as_of: Any, cutoff: Any) -> ScalarSelect:
    """The due time of the buyer's oldest overdue invoice, book receivable or loan minimum at ``as_of`` (null: none).

    A scalar subquery on ``ix_invoices_buyer_due`` / ``ix_payments_invoice``,
    ``ix_receivables_firm_due`` and ``ix_financings_supplier``. An overdue transaction-flow loan
    counts from its missed-minimum date (``LOAN_MISSED_ON``), as an invoice from its due time.

    Parameters
    ----------
    buyer_id, as_of, cutoff
        Values or bind parameters; ``cutoff`` must be :func:`~credit.standing.overdue_cutoff` of ``as_of``.
    """
    oldest = union_all(
        select(func.min(INVOICES.c.due_at).label("due_at")).where(*_overdue(buyer_id, as_of, cutoff)),
        select(func.min(RECEIVABLES.c.due_at).label("due_at")).where(*_book_overdue(buyer_id, cutoff)),
        select(func.min(LOAN_MISSED_ON).label("due_at")).where(*_loan_overdue(buyer_id, cutoff)),
    ).subquery()
    return select(func.min(oldest.c.due_at)).scalar_subquery()


def days_past_due_since(oldest_due: datetime | None, as_of: datetime) -> int:
    """The firm's days past due from :func:`overdue_since`'s answer: 0 when nothing is overdue."""
    return 0 if oldest_due is None else days_past_due(oldest_due, as_of)


@dataclass(frozen=True)
class FirmStanding:
    """A firm's standing as a debtor at one moment (see :mod:`credit.standing`)."""

    days_past_due: int
    overdue_minor: int
    overdue_invoices: int


def firm_standing(session: Session, firm_id: int, as_of: datetime) -> FirmStanding:
    """Days past due, overdue amount and overdue items of the firm as a debtor at ``as_of``, in one query.

    Items are the marketplace's invoices, the book's receivables and the firm's overdue loans
    (counted in ``overdue_invoices``; a loan's overdue amount is what it lacks to meet the missed minimum).
    """
    outstanding = (INVOICES.c.amount_minor - paid_before(as_of)).label("outstanding_minor")
    cutoff = overdue_cutoff(as_of)
    owed = union_all(
        select(INVOICES.c.due_at, outstanding).where(INVOICES.c.buyer_id == firm_id, INVOICES.c.due_at <= cutoff),
        select(RECEIVABLES.c.due_at, OWED.label("outstanding_minor"))
        .where(RECEIVABLES.c.firm_id == firm_id, RECEIVABLES.c.due_at <= cutoff),
        select(LOAN_MISSED_ON.label("due_at"), LOAN_SHORTFALL.label("outstanding_minor"))
        .where(*_loan_overdue(firm_id, cutoff)),
    ).subquery()
    oldest, overdue_minor, count = session.execute(
        select(func.min(owed.c.due_at), func.coalesce(func.sum(owed.c.outstanding_minor), 0), func.count())
        .where(owed.c.outstanding_minor > 0)).one()
    return FirmStanding(days_past_due_since(oldest, as_of), int(overdue_minor), int(count))


def firm_days_past_due(session: Session, firm_id: int, as_of: datetime) -> int:
    """The firm's days past due at ``as_of`` (0: not in arrears), on the indexes of :func:`overdue_since`."""
    oldest = session.execute(select(overdue_since(firm_id, as_of, overdue_cutoff(as_of)))).scalar()
    return days_past_due_since(oldest, as_of)


def owed_invoices(buyer_id: Any, as_of: Any) -> Select:
    """The invoices the buyer owes at ``as_of`` (issued before it), each with ``paid_minor`` at ``as_of``.

    Columns: ``invoice_id``, ``supplier_id``, ``issued_at``, ``due_at``, ``amount_minor``,
    ``paid_minor``; paid-in-full ones included. Callers may add columns, joins and an order.
    """
    return (select(INVOICES.c.invoice_id, INVOICES.c.supplier_id, INVOICES.c.issued_at, INVOICES.c.due_at,
                   INVOICES.c.amount_minor, paid_before(as_of).label("paid_minor"))
            .where(INVOICES.c.buyer_id == buyer_id, INVOICES.c.issued_at < as_of))
