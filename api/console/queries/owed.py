"""What a firm owes, and to whom: its sellers' open marketplace invoices beside what it owes on our credit line.

The two come from different records and are not two views of one sum:

* **Marketplace invoices it owes its sellers** (:func:`api.console.queries.exposure.invoice_ageing`):
  the marketplace's history of invoices issued to the firm as a buyer, less the payments made
  until now (credit notes not netted), for every purchase, whoever finances it.
* **Posted exposure on its credit line** (``credit_lines.posted_minor``): the principal of
  the captures on our line not yet repaid, refunded or charged off. With the terms and late
  fees owed on those receivables, and principal charged off but still owed, it is what the
  firm owes on the book (its statement's closing balance, :mod:`credit.servicing.amounts`).

The store does not tie a capture to a marketplace invoice (a capture names the marketplace's
order reference as the client sent it), so the two are not matched invoice by invoice. What
the data does say: an invoice for an order placed before the line opened was not bought at
checkout with the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from api.console.queries.exposure import InvoiceAgeing, LineView
from credit.servicing.amounts import FEE_OWED, LATE_FEE_OWED, OWED, PRINCIPAL_OWED, RECEIVABLES
from credit.servicing.tables import WRITTEN_OFF
from credit.standing import sql as standing
from credit.store.tables import Order

_r = RECEIVABLES.c


@dataclass(frozen=True)
class OwedToUs:
    """The firm's credit line and its receivables on the book, minor units."""

    line_opened_at: datetime
    posted_minor: int  # the line's posted exposure
    pending_minor: int  # held on the line, not captured: counts against the limit, owed by no one yet
    receivables_owing: int  # receivables with something still owed
    fees_owed_minor: int  # terms fees and late fees owed on the receivables
    charged_off_owed_minor: int  # principal of charged-off receivables still owed (no longer exposure)

    @property
    def book_owed_minor(self) -> int:
        """Posted exposure + fees owed + charged-off principal owed: what the firm owes on the book."""
        return self.posted_minor + self.fees_owed_minor + self.charged_off_owed_minor


@dataclass(frozen=True)
class OwedToSellers:
    """The firm's open marketplace invoices as a buyer, minor units."""

    invoices: int
    outstanding_minor: int
    overdue_minor: int
    before_line_invoices: int  # for orders placed before its line opened (0 without a line)
    before_line_minor: int


@dataclass(frozen=True)
class OwedReconciliation:
    """Both figures the firm page shows, with their parts and their difference."""

    sellers: OwedToSellers
    line: OwedToUs | None

    @property
    def difference_minor(self) -> int:
        """Open marketplace invoices less the line's posted exposure (0 posted without a line)."""
        return self.sellers.outstanding_minor - (self.line.posted_minor if self.line else 0)

    @property
    def since_line_minor(self) -> int:
        """Open invoices for orders placed since the line opened: the only ones that can be on it."""
        return self.sellers.outstanding_minor - self.sellers.before_line_minor


def owed_reconciliation(session: Session, firm_id: int, now: datetime, ageing: InvoiceAgeing,
                        line: LineView | None) -> OwedReconciliation:
    """The firm's open marketplace invoices and what it owes on our line, side by side.

    Parameters
    ----------
    session
        The request's session.
    firm_id
        The firm, as a buyer.
    now
        Invoices issued and payments made before it count (as in ``ageing``).
    ageing
        The firm's invoice ageing at ``now`` (:func:`~api.console.queries.exposure.invoice_ageing`):
        its totals are the open invoices shown.
    line
        The firm's line now, if any.

    Returns
    -------
    OwedReconciliation
    """
    before_count = before_minor = 0
    if line is not None:
        ordered_before = (standing.owed_invoices(firm_id, now)
                          .join(Order, Order.order_id == standing.INVOICES.c.order_id)
                          .where(Order.created_at < line.created_at))
        for invoice in session.execute(ordered_before):
            if invoice.paid_minor < invoice.amount_minor:
                before_count += 1
                before_minor += invoice.amount_minor - invoice.paid_minor
    sellers = OwedToSellers(ageing.open_count, ageing.outstanding_minor, ageing.overdue_minor, before_count,
                            before_minor)
    if line is None:
        return OwedReconciliation(sellers, None)
    written_off = _r.status.in_(WRITTEN_OFF)
    parts = session.execute(
        select(func.coalesce(func.sum(case((OWED > 0, 1), else_=0)), 0),
               func.coalesce(func.sum(FEE_OWED + LATE_FEE_OWED), 0),
               func.coalesce(func.sum(case((written_off, PRINCIPAL_OWED), else_=0)), 0))
        .where(_r.line_id == line.line_id)).one()
    return OwedReconciliation(sellers, OwedToUs(
        line_opened_at=line.created_at, posted_minor=line.posted_minor, pending_minor=line.pending_minor,
        receivables_owing=int(parts[0]), fees_owed_minor=int(parts[1]), charged_off_owed_minor=int(parts[2])))
