"""The financing book by product at the end of a business day: exposure, money in and out, losses, dilution, fees.

What ``credit monitor financing``, ``GET /v1/monitoring/financing`` and the console show. One
row per product (``order``, ``receivable``, ``loan``, always all three) summing the positions
of :func:`credit.monitoring.financing_positions.positions`; the journal's figures are its rows
booked on or before ``as_of``, so a past day is answered as it stood then:

==========================  ===================================================================
figure                      what is summed over the product's financings
==========================  ===================================================================
outstanding (count, amt)    financings with something at risk at the end of the day and what:
                            the advance of a booking not yet paid out (as
                            ``credit.financing.exposure.AT_RISK``), then paid out - collected -
                            recovered - written off
paid out (count, amount)    financings paid out by then, and the principal paid out
collected                   principal collected from the debtor or the borrower's sales
recovered                   principal recovered from the supplier (recourse, clawback)
written off                 principal and fee written off (the write-off rows booked positive)
written back                write-offs reversed since: a recovery after a write-off (the only
                            way the journal can show one)
realised loss               written off - written back
diluted                     the invoice value lost after financing (``dilution`` rows)
dilution share              (receivables) diluted / the face of the receivables paid out
fees earned                 fee charged (accrued or flat, net of waivers): what the book earned,
                            whether paid or written off since (a written-off fee is in the loss)
fees received               fee collected and recovered
released                    surplus paid to suppliers (reserve less fee, overpayments)
overdue (count, amount)     financings late at the end of the day, with their amount at risk:
                            an early warning of :mod:`credit.monitoring.financing_warnings` that
                            says repayment was missed (invoice overdue, order advance past due,
                            a loan's missed period minimum)
recourse, defaulted         financings whose status *now* is ``recourse`` / ``defaulted``, with
                            their amount at risk at the end of the day: a move of status books
                            no journal row, so for a past day these are the statuses as they
                            stand, not as they stood (:attr:`FinancingBook.statuses_read_at`)
==========================  ===================================================================

Money is integer minor units; the dilution share is a float.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime

from sqlalchemy.orm import Session

from credit import clock
from credit.financing.tables import FINANCING_KINDS
from credit.monitoring.financing_positions import Position, positions
from credit.monitoring.financing_warnings import FinancingWarning, financing_warnings, is_late


@dataclass(frozen=True)
class ProductFigures:
    """One product's row of the book at the end of the day (see the module for each figure)."""

    kind: str
    outstanding_count: int = 0
    outstanding_minor: int = 0
    paid_out_count: int = 0
    paid_out_minor: int = 0
    collected_minor: int = 0
    recovered_minor: int = 0
    written_off_minor: int = 0
    written_back_minor: int = 0
    diluted_minor: int = 0
    financed_face_minor: int = 0
    fees_earned_minor: int = 0
    fees_received_minor: int = 0
    released_minor: int = 0
    overdue_count: int = 0
    overdue_minor: int = 0
    recourse_count: int = 0
    recourse_minor: int = 0
    defaulted_count: int = 0
    defaulted_minor: int = 0

    @property
    def realised_loss_minor(self) -> int:
        """Principal and fee written off, less write-offs reversed by later recoveries."""
        return self.written_off_minor - self.written_back_minor

    @property
    def dilution_share(self) -> float | None:
        """Receivables: diluted / the face of the receivables paid out; None for other products or no face."""
        if self.kind != "receivable" or not self.financed_face_minor:
            return None
        return self.diluted_minor / self.financed_face_minor


@dataclass(frozen=True)
class FinancingBook:
    """The book at the end of ``as_of``: one row per product and the early warnings of that day."""

    as_of: date
    products: tuple[ProductFigures, ...]
    warnings: tuple[FinancingWarning, ...]
    statuses_read_at: datetime

    def product(self, kind: str) -> ProductFigures:
        return next(row for row in self.products if row.kind == kind)


def by_product(listed: list[Position], warnings: tuple[FinancingWarning, ...]) -> tuple[ProductFigures, ...]:
    """Sum the positions into one row per product, in ``FINANCING_KINDS`` order (a pure function)."""
    late = {w.financing_id for w in warnings if is_late(w)}
    totals: dict[str, dict[str, int]] = {kind: dict.fromkeys(
        (f.name for f in fields(ProductFigures) if f.name != "kind"), 0) for kind in FINANCING_KINDS}
    for p in listed:
        row = totals[p.kind]
        if p.at_risk > 0:
            row["outstanding_count"] += 1
            row["outstanding_minor"] += p.at_risk
        if p.is_paid_out:
            row["paid_out_count"] += 1
            row["financed_face_minor"] += p.face
        row["paid_out_minor"] += p.paid_out
        row["collected_minor"] += p.collected
        row["recovered_minor"] += p.recovered
        row["written_off_minor"] += p.written_off
        row["written_back_minor"] += p.written_back
        row["diluted_minor"] += p.diluted
        row["fees_earned_minor"] += p.fee_charged
        row["fees_received_minor"] += p.fee_collected + p.fee_recovered
        row["released_minor"] += p.released
        for flag, counted in (("overdue", p.financing_id in late), ("recourse", p.status == "recourse"),
                              ("defaulted", p.status == "defaulted")):
            if counted:
                row[f"{flag}_count"] += 1
                row[f"{flag}_minor"] += p.at_risk
    return tuple(ProductFigures(kind=kind, **totals[kind]) for kind in FINANCING_KINDS)


def financing_book(session: Session, as_of: date) -> FinancingBook:
    """The financing book by product and its early warnings at the end of ``as_of`` (see the module)."""
    listed = positions(session, as_of)
    warnings = financing_warnings(listed, as_of)
    return FinancingBook(as_of=as_of, products=by_product(listed, warnings), warnings=warnings,
                         statuses_read_at=clock.now())
