"""The financing book as the finance team reads it: financings page by page, a supplier's statement, the CSV export.

Read-only: nothing here writes. What a financing owes is the journal's
(:func:`credit.financing.journal.amounts`), what it puts at risk is the exposure's SQL
(:data:`credit.financing.exposure.AT_RISK`), each computed in its one home.

**Pages.** :func:`list_financings` orders by ``financing_id`` and pages by keyset: a page
starts after the last id of the one before, carried by an opaque cursor (:func:`encode_cursor`),
so financings booked while a client walks the pages never shift them: no repeat, no gap.

**Statement** of a supplier (the firm advanced to, a loan's borrower included) for the business
days ``first`` to ``last`` (both included), from the journal's rows by their ``booked_on``:

===================  ==================================================================
figure               what it sums
===================  ==================================================================
opening outstanding  principal outstanding on its financings before ``first``: payouts
                     less collections, recoveries and write-offs of principal booked
                     before it
paid out             principal paid out in the period
collected            principal collected from the debtor (or withheld from the
                     borrower's sales) in the period
recovered            principal recovered from the supplier (recourse, clawback)
written off          principal moved to realised loss
closing outstanding  opening + paid out - collected - recovered - written off
fees charged         fees charged in the period (accrued or flat; a waiver is negative)
fees paid            fees collected or recovered in the period
fees written off     fees moved to realised loss
diluted              the invoice's value lost after financing (receivables)
released             surplus paid to the supplier (the reserve less the fee, overpayments)
===================  ==================================================================

The same figures are given per financing (those with something outstanding at the opening or
a row in the period). The journal is append-only and dated, so the book on any past day is
the sum of what was booked before it.

**CSV** (:func:`write_financings_csv`): one line per financing under a header row of
:data:`CSV_COLUMNS`; amounts in major units as exact decimal strings, never a float.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TextIO

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from credit.financing.exposure import AT_RISK
from credit.financing.journal import Amounts, amounts
from credit.financing.tables import Financing, FinancingEntry
from credit import paging
from credit.money import MARKETPLACE_CURRENCY, from_minor
from credit.paging import InvalidCursor

MAX_PAGE = 1000
"""Most financings :func:`list_financings` returns at once."""

def encode_cursor(financing_id: int) -> str:
    """The opaque cursor of the page after ``financing_id`` (:mod:`credit.paging`)."""
    return paging.encode_cursor("financing", financing_id)


def decode_cursor(cursor: str) -> int:
    """The financing id a cursor of :func:`encode_cursor` carries.

    Raises
    ------
    InvalidCursor
        Anything :func:`encode_cursor` could not have made (another list's cursor included).
    """
    return paging.decode_cursor("financing", cursor)


@dataclass(frozen=True)
class FinancingRow:
    """A financing as it stands: its row, its amounts, and what it puts at risk now (minor units)."""

    financing: Financing
    exposure_minor: int

    @property
    def amounts(self) -> Amounts:
        return amounts(self.financing)


@dataclass(frozen=True)
class FinancingPage:
    """One page of financings; ``next_cursor`` asks for the next one (None: this is the last)."""

    rows: tuple[FinancingRow, ...]
    next_cursor: str | None


def _financings() -> Select:
    return select(Financing, AT_RISK.label("exposure"))


def list_financings(session: Session, *, kinds: Sequence[str] | None = None, statuses: Sequence[str] | None = None,
                    supplier_id: int | None = None, buyer_id: int | None = None, after_id: int | None = None,
                    limit: int = 50) -> FinancingPage:
    """Financings in id order, one page at a time, with what each puts at risk now.

    Parameters
    ----------
    session
        Any session; nothing is written.
    kinds, statuses
        Only financings of these products (order, receivable, loan) and statuses (None: any).
    supplier_id, buyer_id
        Only the supplier's (a loan's borrower), only the buyer's (the order's buyer or the invoice's debtor).
    after_id
        Start after this financing (the id :func:`decode_cursor` reads from the previous page's cursor).
    limit
        Most rows on the page, 1 to :data:`MAX_PAGE`.

    Raises
    ------
    ValueError
        ``limit`` out of range.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"`limit` must be an integer from 1 to {MAX_PAGE}; got {limit!r}.")
    query = _financings()
    if kinds:
        query = query.where(Financing.kind.in_(list(kinds)))
    if statuses:
        query = query.where(Financing.status.in_(list(statuses)))
    if supplier_id is not None:
        query = query.where(Financing.supplier_id == supplier_id)
    if buyer_id is not None:
        query = query.where(Financing.buyer_id == buyer_id)
    if after_id is not None:
        query = query.where(Financing.financing_id > after_id)
    rows = [FinancingRow(financing, int(exposure))
            for financing, exposure in session.execute(query.order_by(Financing.financing_id).limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    return FinancingPage(tuple(rows), encode_cursor(rows[-1].financing.financing_id) if more else None)


def all_financings(session: Session, *, page_size: int = MAX_PAGE, **filters: object) -> Iterable[FinancingRow]:
    """Every financing :func:`list_financings` would list with ``filters``, walking its pages."""
    after_id = None
    while True:
        page = list_financings(session, after_id=after_id, limit=page_size, **filters)
        yield from page.rows
        if page.next_cursor is None:
            return
        after_id = page.rows[-1].financing.financing_id


def get_financing(session: Session, financing_id: int) -> FinancingRow | None:
    """One financing as it stands, or None when there is none with this id."""
    row = session.execute(_financings().where(Financing.financing_id == financing_id)
                          .execution_options(populate_existing=True)).first()
    return None if row is None else FinancingRow(row[0], int(row[1]))


def entries_of(session: Session, financing_id: int) -> list[FinancingEntry]:
    """The financing's journal, in the order it was booked."""
    return list(session.execute(select(FinancingEntry).where(FinancingEntry.financing_id == financing_id)
                                .order_by(FinancingEntry.entry_id)).scalars())


# ---------------------------------------------------------------------------------------------
# a supplier's statement

_FIGURES = {("payout", "principal"): "paid_out", ("collection", "principal"): "collected",
            ("recovery", "principal"): "recovered", ("write_off", "principal"): "written_off",
            ("fee", "fee"): "fees_charged", ("collection", "fee"): "fees_paid", ("recovery", "fee"): "fees_paid",
            ("write_off", "fee"): "fees_written_off", ("dilution", "surplus"): "diluted",
            ("release", "surplus"): "released"}
_PRINCIPAL_SIGN = {"payout": 1, "collection": -1, "recovery": -1, "write_off": -1}


@dataclass
class StatementFigures:
    """The statement's figures for one financing or for all of them (minor units)."""

    opening_minor: int = 0
    paid_out_minor: int = 0
    collected_minor: int = 0
    recovered_minor: int = 0
    written_off_minor: int = 0
    fees_charged_minor: int = 0
    fees_paid_minor: int = 0
    fees_written_off_minor: int = 0
    diluted_minor: int = 0
    released_minor: int = 0

    @property
    def closing_minor(self) -> int:
        """opening + paid out - collected - recovered - written off."""
        return (self.opening_minor + self.paid_out_minor - self.collected_minor - self.recovered_minor
                - self.written_off_minor)

    def add(self, other: StatementFigures) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def moved(self) -> bool:
        return any(getattr(self, name) for name in self.__dataclass_fields__)


@dataclass(frozen=True)
class StatementLine:
    """One financing's figures on the statement."""

    financing_id: int
    kind: str
    buyer_id: int | None
    status: str
    figures: StatementFigures


@dataclass(frozen=True)
class SupplierStatement:
    """A supplier's financing statement for the business days ``first`` to ``last``."""

    firm_id: int
    first: date
    last: date
    currency: str
    totals: StatementFigures
    lines: tuple[StatementLine, ...] = field(default=())


def supplier_statement(session: Session, firm_id: int, first: date, last: date) -> SupplierStatement:
    """The financing statement of ``firm_id`` as supplier (or borrower) for the days ``first`` to ``last``.

    Parameters
    ----------
    session
        Any session; nothing is written.
    firm_id
        The supplier.
    first, last
        The period's first and last business day (both included; rows count by ``booked_on``).

    Raises
    ------
    ValueError
        ``last`` before ``first``.
    """
    if last < first:
        raise ValueError(f"`last` ({last}) must not be before `first` ({first}).")
    e, f = FinancingEntry, Financing
    rows = session.execute(
        select(e.financing_id, e.kind, e.part, e.booked_on, e.amount_minor)
        .join(f, f.financing_id == e.financing_id)
        .where(f.supplier_id == firm_id, e.booked_on <= last)
        .order_by(e.financing_id, e.entry_id)).all()
    figures: dict[int, StatementFigures] = defaultdict(StatementFigures)
    for financing_id, kind, part, booked_on, amount in rows:
        target = figures[financing_id]
        if booked_on < first:
            if part == "principal":
                target.opening_minor += _PRINCIPAL_SIGN[kind] * amount
            continue
        name = _FIGURES[(kind, part)]
        setattr(target, f"{name}_minor", getattr(target, f"{name}_minor") + amount)
    shown = {financing_id: values for financing_id, values in figures.items() if values.moved()}
    about = {row.financing_id: row for row in session.execute(
        select(f.financing_id, f.kind, f.buyer_id, f.status).where(f.financing_id.in_(list(shown))))} if shown else {}
    totals = StatementFigures()
    lines = []
    for financing_id in sorted(shown):
        totals.add(shown[financing_id])
        row = about[financing_id]
        lines.append(StatementLine(financing_id, row.kind, row.buyer_id, row.status, shown[financing_id]))
    return SupplierStatement(firm_id, first, last, MARKETPLACE_CURRENCY, totals, tuple(lines))


# ---------------------------------------------------------------------------------------------
# CSV

CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("financing_id", "The financing's id."),
    ("kind", "order, receivable or loan."),
    ("status", "Where it stands (credit.financing.tables.FINANCING_STATUSES)."),
    ("supplier_id", "The firm advanced to (a loan's borrower)."),
    ("buyer_id", "The order's buyer or the invoice's debtor; empty for a loan."),
    ("order_id", "The purchase order financed or carrying the advance; empty if none."),
    ("invoice_id", "The invoice financed or carrying the advance; empty if none."),
    ("recourse", "true when the supplier repays if the debtor does not."),
    ("created_at", "Booked, UTC."),
    ("value_date", "The payout's value date; empty before the payout."),
    ("due_on", "When repayment is expected; empty if not set."),
    ("payout_reference", "The payments team's payout reference."),
    ("currency", "ISO 4217 code of the amounts."),
    ("face", "What is financed: the PO value, the invoice's outstanding amount, or the loan amount."),
    ("advance", "Amount to advance."),
    ("reserve", "Receivables: the invoice's outstanding amount less the advance."),
    ("paid_out", "Paid out."),
    ("collected", "Principal collected from the debtor or the borrower's sales."),
    ("recovered", "Principal recovered from the supplier."),
    ("written_off", "Principal written off."),
    ("outstanding", "paid_out - collected - recovered - written_off."),
    ("fee_charged", "Fee charged so far."),
    ("fee_owed", "Fee charged and not yet paid or written off."),
    ("diluted", "Receivables: the invoice's value lost after financing."),
    ("released", "Surplus paid to the supplier."),
    ("exposure", "What it puts at risk now: the advance while approved, the outstanding principal while open."),
)
"""The export's columns, in order, with what each holds; the first line of the file names them."""

CSV_HEADER: tuple[str, ...] = tuple(name for name, _ in CSV_COLUMNS)

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str | None) -> str:
    # a spreadsheet reads a leading = + - @ as a formula: OWASP's leading quote
    if value is None:
        return ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def csv_line(row: FinancingRow) -> list[str]:
    """One financing as the cells of :data:`CSV_COLUMNS`."""
    f, owed = row.financing, row.amounts

    def money(minor: int) -> str:
        return str(from_minor(minor, MARKETPLACE_CURRENCY))

    def optional(value: object) -> str:
        return "" if value is None else str(value)

    return [
        str(f.financing_id), f.kind, f.status, str(f.supplier_id), optional(f.buyer_id), optional(f.order_id),
        optional(f.invoice_id), "true" if f.recourse else "false", f.created_at.isoformat(),
        optional(f.value_date and f.value_date.isoformat()), optional(f.due_on and f.due_on.isoformat()),
        _text(f.payout_reference), MARKETPLACE_CURRENCY, money(f.face_minor), money(f.advance_minor),
        money(f.reserve_minor), money(owed.paid_out), money(owed.collected), money(owed.recovered),
        money(owed.written_off), money(owed.outstanding), money(owed.fee_charged), money(owed.fee_owed),
        money(owed.diluted), money(owed.released), money(row.exposure_minor),
    ]


def write_financings_csv(rows: Iterable[FinancingRow], out: TextIO) -> None:
    """Write the header row and one line per financing to ``out`` (RFC 4180: CRLF line ends, quotes as needed)."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(csv_line(row))


def financings_csv(rows: Iterable[FinancingRow]) -> str:
    """:func:`write_financings_csv` into a string."""
    out = io.StringIO()
    write_financings_csv(rows, out)
    return out.getvalue()
