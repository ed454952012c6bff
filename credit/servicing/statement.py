"""The book as the finance team reads it: receivables page by page, a buyer's statement, the CSV export.

Read-only: nothing here writes. Every owed figure is :mod:`credit.servicing.amounts`'s: the
list applies its SQL forms to the rows as they stand; the statement rebuilds each receivable as
it stood at a past moment and applies the same formula in Python
(:func:`~credit.servicing.amounts.owed_parts`).

**Pages.** :func:`list_receivables` orders by ``receivable_id`` and pages by keyset: a page
starts after the last id of the one before, carried by an opaque cursor (:func:`encode_cursor`),
so receivables booked while a client walks the pages never shift them: no repeat, no gap.

**Statement** of a buyer for the period ``[start, end)`` (booked at ``start``: in the period;
booked at ``end``: in the next one):

=================  =====================================================================
figure             what it sums
=================  =====================================================================
opening balance    owed on the buyer's receivables just before ``start``
new receivables    principal of the captures booked in the period, plus the buyer's fee of
                   every receivable booked in it (an installment plan moves principal from
                   its parent to the installments: only its fee is new)
fees               late fees assessed by dunning in the period (``servicing_actions`` rows
                   of step ``late_fee``, their ``amount_minor``)
payments           allocations to its receivables in the period, net of reversals (a
                   returned payment reverses what it paid; a refund gives back paid principal)
adjustments        seller refunds on its orders in the period (the ledger's ``refund`` transfers)
closing balance    owed just before ``end``: opening + new + fees − payments − adjustments
credit balance     its repayments' money not applied just before ``end``
ageing             what is owed just before ``end``, by each receivable's days past due at
                   ``end`` (:func:`credit.standing.days_past_due`) in the buckets of
                   :func:`credit.servicing.ageing.ageing_bucket`: current, 1-30, 31-60,
                   61-90, 90+ (and 90+ once its line was charged off, as ``book_ageing``)
=================  =====================================================================

Why these sources: each is append-only and time-stamped (the receivables' ``created_at``,
``repayment_allocations``, ``servicing_actions``, ``ledger_transfers``), so the book at any
past moment is the sum of what was booked before it. The receivables' ``paid_*``,
``refunded_minor``, ``rescheduled_minor`` and ``late_fee_minor`` are running totals without
history: exact now, unknown at a past moment. Refunds need care: a refund transfer names the
order (hold), whose receivables take it newest capture first
(:mod:`credit.servicing.receivables`). A receivable's refunded amount at a past moment is its
own ``refunded_minor`` when no refund of its order came later (exact, the usual case); else
the order's refunds before that moment laid newest capture first, the rule they were booked
by (the order's total is exact either way; only its split between the order's captures could
differ, if a capture or a charge-off came between its refunds). Refunds booked on an order
before its first receivable (captured before servicing existed) are not the book's. Every
"when" is the booking time (``created_at``), a servicing day's late fees included.

One gap the journals leave: an installment plan settled early with its unused fee waived
(:mod:`credit.servicing.installments`) sets those installments' ``fee_minor`` to 0 with no
dated row for the part that was still owed, so the statement treats a waived fee as never
charged: a period before the settlement shows that much less owed (the identity still holds).

**CSV** (:func:`write_receivables_csv`): one line per receivable under a header row of
:data:`CSV_COLUMNS`; times ISO 8601 UTC, amounts in major units of the line's currency as
exact decimal strings, never a float.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TextIO

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session

from credit import ledger, paging
from credit.ledger.journal import HOLDS, LINES, TRANSFERS
from credit.money import MARKETPLACE_CURRENCY, from_minor
from credit.paging import InvalidCursor
from credit.servicing.ageing import ageing_bucket
from credit.servicing.amounts import FEE_OWED, LATE_FEE_OWED, PRINCIPAL_OWED, RECEIVABLES, Owed, owed_parts
from credit.servicing.tables import AGEING_BUCKETS, Repayment, RepaymentAllocation, ServicingAction
from credit.standing import days_past_due
from credit.store.tables import Firm

ALLOCATIONS = RepaymentAllocation.__table__
REPAYMENTS = Repayment.__table__
ACTIONS = ServicingAction.__table__
_r = RECEIVABLES.c

MAX_PAGE = 1000
"""Most receivables :func:`list_receivables` returns at once."""

class InvalidPeriod(ValueError):
    """A period or date range whose end is not after its start."""


# ---------------------------------------------------------------------------------------------
# receivables, page by page


def encode_cursor(receivable_id: int) -> str:
    """The opaque cursor of the page after ``receivable_id`` (:mod:`credit.paging`)."""
    return paging.encode_cursor("receivable", receivable_id)


def decode_cursor(cursor: str) -> int:
    """The receivable id a cursor of :func:`encode_cursor` carries.

    Raises
    ------
    InvalidCursor
        Anything :func:`encode_cursor` could not have made (another list's cursor included).
    """
    return paging.decode_cursor("receivable", cursor)


@dataclass(frozen=True)
class ReceivableRow:
    """One receivable as it stands, with what it owes (:class:`~credit.servicing.amounts.Owed`)."""

    receivable_id: int
    line_id: int
    firm_id: int
    hold_id: int
    parent_id: int | None
    kind: str
    installment_number: int | None
    installment_count: int | None
    order_reference: str
    shipment_reference: str
    currency: str
    terms_days: int
    issued_at: datetime
    due_at: datetime
    status: str
    principal_minor: int
    refunded_minor: int
    rescheduled_minor: int
    fee_minor: int
    merchant_fee_minor: int
    late_fee_minor: int
    paid_principal_minor: int
    paid_fee_minor: int
    paid_late_fee_minor: int
    charged_off_minor: int
    recovered_minor: int
    owed: Owed

    @property
    def owed_minor(self) -> int:
        return self.owed.total


@dataclass(frozen=True)
class ReceivablePage:
    """One page of receivables; ``next_cursor`` asks for the next one (None: this is the last)."""

    rows: tuple[ReceivableRow, ...]
    next_cursor: str | None


_STORED = (
    _r.receivable_id, _r.line_id, _r.firm_id, _r.hold_id, _r.parent_id, _r.kind, _r.installment_number,
    _r.installment_count, HOLDS.c.order_reference, _r.shipment_reference, LINES.c.currency, _r.terms_days,
    _r.issued_at, _r.due_at, _r.status, _r.principal_minor, _r.refunded_minor, _r.rescheduled_minor, _r.fee_minor,
    _r.merchant_fee_minor, _r.late_fee_minor, _r.paid_principal_minor, _r.paid_fee_minor, _r.paid_late_fee_minor,
    _r.charged_off_minor, _r.recovered_minor,
)


def _receivables() -> Select:
    return (select(*_STORED, PRINCIPAL_OWED.label("principal_owed"), FEE_OWED.label("fee_owed"),
                   LATE_FEE_OWED.label("late_fee_owed"))
            .join(HOLDS, HOLDS.c.hold_id == _r.hold_id).join(LINES, LINES.c.line_id == _r.line_id))


def _row(row) -> ReceivableRow:  # noqa: ANN001 - a row of _receivables()
    stored = [row._mapping[column.name] for column in _STORED]
    return ReceivableRow(*stored, owed=Owed.of(row))


def day_range(first: date | None, last: date | None, *,
              names: tuple[str, str]) -> tuple[datetime | None, datetime | None]:
    """Whole UTC days ``first`` to ``last`` (both included) as the half-open ``[start, end)`` of times.

    Raises
    ------
    InvalidPeriod
        ``last`` before ``first``; the message names both (``names``).
    """
    if first is not None and last is not None and last < first:
        raise InvalidPeriod(f"`{names[1]}` ({last}) must not be before `{names[0]}` ({first}).")
    start = None if first is None else datetime(first.year, first.month, first.day)
    end = None if last is None else datetime(last.year, last.month, last.day) + timedelta(days=1)
    return start, end


def list_receivables(session: Session, *, firm_id: int | None = None, line_id: int | None = None,
                     statuses: Sequence[str] | None = None, due_from: date | None = None, due_to: date | None = None,
                     after_id: int | None = None, limit: int = 50) -> ReceivablePage:
    """Receivables in id order, one page at a time, with what each owes now.

    Parameters
    ----------
    session
        Any session; nothing is written.
    firm_id, line_id
        Only the buyer's, only the line's.
    statuses
        Only receivables in one of these statuses (None: any).
    due_from, due_to
        Only those due on these UTC days or between them (both included).
    after_id
        Start after this receivable (the id :func:`decode_cursor` reads from the previous page's cursor).
    limit
        Most rows on the page, 1 to :data:`MAX_PAGE`.

    Returns
    -------
    ReceivablePage
        The rows, and the cursor of the next page when there are more.

    Raises
    ------
    ValueError
        ``limit`` out of range; :class:`InvalidPeriod` when ``due_to`` is before ``due_from``.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"`limit` must be an integer from 1 to {MAX_PAGE}; got {limit!r}.")
    due_start, due_end = day_range(due_from, due_to, names=("due_from", "due_to"))
    query = _receivables()
    for wanted, condition in ((firm_id, lambda: _r.firm_id == firm_id), (line_id, lambda: _r.line_id == line_id),
                              (statuses, lambda: _r.status.in_(list(statuses))),
                              (due_start, lambda: _r.due_at >= due_start), (due_end, lambda: _r.due_at < due_end),
                              (after_id, lambda: _r.receivable_id > after_id)):
        if wanted is not None:
            query = query.where(condition())
    rows = [_row(row) for row in session.execute(query.order_by(_r.receivable_id).limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    return ReceivablePage(tuple(rows), encode_cursor(rows[-1].receivable_id) if more else None)


def all_receivables(session: Session, *, page_size: int = MAX_PAGE, **filters: object) -> Iterable[ReceivableRow]:
    """Every receivable :func:`list_receivables` would list with ``filters``, walking its pages."""
    after_id = None
    while True:
        page = list_receivables(session, after_id=after_id, limit=page_size, **filters)
        yield from page.rows
        if page.next_cursor is None:
            return
        after_id = page.rows[-1].receivable_id


def get_receivable(session: Session, receivable_id: int) -> ReceivableRow | None:
    """One receivable as it stands, or None when there is none with this id."""
    row = session.execute(_receivables().where(_r.receivable_id == receivable_id)).first()
    return None if row is None else _row(row)


# ---------------------------------------------------------------------------------------------
# a buyer's statement


@dataclass(frozen=True)
class AgeingBucket:
    """What the buyer owes in one bucket of days past due: receivables with something owed, and the sum."""

    bucket: str
    receivables: int
    owed_minor: int


@dataclass(frozen=True)
class Statement:
    """A buyer's statement for ``[period_start, period_end)`` (see the module's table); minor units."""

    firm_id: int
    line_id: int | None
    currency: str
    period_start: datetime
    period_end: datetime
    opening_minor: int
    new_receivables_minor: int
    fees_minor: int
    payments_minor: int
    adjustments_minor: int
    closing_minor: int
    credit_balance_minor: int
    ageing: tuple[AgeingBucket, ...]

    @property
    def balances(self) -> bool:
        """Whether closing = opening + new + fees − payments − adjustments."""
        return self.closing_minor == (self.opening_minor + self.new_receivables_minor + self.fees_minor
                                      - self.payments_minor - self.adjustments_minor)


@dataclass(frozen=True)
class _Booked:
    """A receivable's fixed facts and its journals, to rebuild it at any moment."""

    receivable_id: int
    line_id: int
    hold_id: int
    parent_id: int | None
    kind: str
    status: str
    due_at: datetime
    created_at: datetime
    principal: int
    fee: int
    refunded_now: int


class _Book:
    """A buyer's receivables with every movement booked on them, read once."""

    def __init__(self, session: Session, firm_id: int, until: datetime) -> None:
        self.firm_id = firm_id
        self.receivables = [_Booked(*row) for row in session.execute(
            select(_r.receivable_id, _r.line_id, _r.hold_id, _r.parent_id, _r.kind, _r.status, _r.due_at,
                   _r.created_at, _r.principal_minor, _r.fee_minor, _r.refunded_minor)
            .where(_r.firm_id == firm_id).order_by(_r.receivable_id))]
        mine = _r.firm_id == firm_id
        self.allocations = session.execute(
            select(ALLOCATIONS.c.receivable_id, ALLOCATIONS.c.part, ALLOCATIONS.c.amount_minor,
                   ALLOCATIONS.c.created_at)
            .join(RECEIVABLES, _r.receivable_id == ALLOCATIONS.c.receivable_id)
            .where(mine, ALLOCATIONS.c.created_at < until)).all()
        self.late_fees = session.execute(
            select(ACTIONS.c.receivable_id, ACTIONS.c.amount_minor, ACTIONS.c.created_at)
            .join(RECEIVABLES, _r.receivable_id == ACTIONS.c.receivable_id)
            .where(mine, ACTIONS.c.step == "late_fee", ACTIONS.c.amount_minor.is_not(None),
                   ACTIONS.c.created_at < until)).all()
        # A line's charge-off writes off every receivable it had then (servicing.run): "90+" from that moment.
        self.charge_offs = session.execute(
            select(ACTIONS.c.line_id, ACTIONS.c.created_at)
            .where(ACTIONS.c.line_id.in_(sorted({r.line_id for r in self.receivables})), ACTIONS.c.step == "charge_off",
                   ACTIONS.c.created_at < until)).all()
        first_capture = {}
        for receivable in self.receivables:
            first_capture.setdefault(receivable.hold_id, receivable.created_at)
        # All of them, later ones too: they say whether the rows' refunded_minor still holds at a past moment.
        self.refunds = [row for row in session.execute(
            select(TRANSFERS.c.hold_id, TRANSFERS.c.amount_minor, TRANSFERS.c.created_at)
            .where(TRANSFERS.c.kind == "refund", TRANSFERS.c.hold_id.in_(sorted(first_capture)))
            .order_by(TRANSFERS.c.transfer_id)) if row.created_at >= first_capture[row.hold_id]]

    def refunded_at(self, at: datetime) -> dict[int, int]:
        """Refunded principal of each receivable booked before ``at``, as it stood then."""
        before, later = defaultdict(int), defaultdict(int)
        for refund in self.refunds:
            (before if refund.created_at < at else later)[refund.hold_id] += int(refund.amount_minor)
        rescheduled = self.rescheduled_at(at)
        refunded: dict[int, int] = {}
        by_hold: dict[int, list[_Booked]] = defaultdict(list)
        for receivable in self.receivables:
            if receivable.created_at < at:
                by_hold[receivable.hold_id].append(receivable)
        for hold_id, receivables in by_hold.items():
            if not later[hold_id]:
                refunded.update((r.receivable_id, r.refunded_now) for r in receivables)
                continue
            left = before[hold_id]
            for receivable in sorted(receivables, key=lambda r: r.receivable_id, reverse=True):  # newest first
                take = min(left, max(receivable.principal - rescheduled[receivable.receivable_id], 0))
                refunded[receivable.receivable_id] = take
                left -= take
        return refunded

    def written_off_at(self, at: datetime) -> set[int]:
        """Receivables charged off before ``at`` (their ageing bucket is ``90+``, as in ``book_ageing``)."""
        return {r.receivable_id for r in self.receivables for line_id, charged_at in self.charge_offs
                if line_id == r.line_id and r.created_at <= charged_at < at}

    def rescheduled_at(self, at: datetime) -> dict[int, int]:
        """Principal each receivable had moved to installments before ``at``: its installments booked by then."""
        moved: dict[int, int] = defaultdict(int)
        for receivable in self.receivables:
            if receivable.parent_id is not None and receivable.created_at < at:
                moved[receivable.parent_id] += receivable.principal
        return moved

    def owed_at(self, at: datetime) -> list[Owed]:
        """Each receivable booked before ``at``, with what it owed then (amounts.py's formula)."""
        paid: dict[tuple[int, str], int] = defaultdict(int)
        for allocation in self.allocations:
            if allocation.created_at < at:
                paid[allocation.receivable_id, allocation.part] += int(allocation.amount_minor)
        late: dict[int, int] = defaultdict(int)
        for action in self.late_fees:
            if action.created_at < at:
                late[action.receivable_id] += int(action.amount_minor)
        refunded, rescheduled = self.refunded_at(at), self.rescheduled_at(at)
        owed = []
        for r in self.receivables:
            if r.created_at >= at:
                continue
            i = r.receivable_id
            parts = owed_parts(principal=r.principal, refunded=refunded[i], rescheduled=rescheduled[i],
                               paid_principal=paid[i, "principal"], fee=r.fee, paid_fee=paid[i, "fee"],
                               late_fee=late[i], paid_late_fee=paid[i, "late_fee"])
            owed.append(Owed(i, r.line_id, self.firm_id, r.hold_id, r.status, r.due_at, *parts))
        return owed


def _credit_balance_at(session: Session, firm_id: int, at: datetime) -> int:
    """The buyer's repayments received before ``at`` and not returned by then, less what they had applied."""
    kept = and_(REPAYMENTS.c.firm_id == firm_id, REPAYMENTS.c.received_at < at,
                (REPAYMENTS.c.returned_at.is_(None)) | (REPAYMENTS.c.returned_at >= at))
    received = sum(int(amount) for amount in session.execute(select(REPAYMENTS.c.amount_minor).where(kept)).scalars())
    applied = sum(int(amount) for amount in session.execute(
        select(ALLOCATIONS.c.amount_minor).join(REPAYMENTS, REPAYMENTS.c.repayment_id == ALLOCATIONS.c.repayment_id)
        .where(kept, ALLOCATIONS.c.created_at < at)).scalars())
    return received - applied


def statement(session: Session, firm_id: int, *, period_start: datetime, period_end: datetime) -> Statement:
    """The buyer's statement for ``[period_start, period_end)``: balances, movements, credit balance, ageing.

    Parameters
    ----------
    session
        Any session; nothing is written.
    firm_id
        The buyer.
    period_start, period_end
        Naive UTC times; what is booked at ``period_start`` is in the period, at ``period_end`` is not.
        The closing balance, credit balance and ageing are as they stood just before ``period_end``
        (days past due counted at ``period_end``).

    Returns
    -------
    Statement
        Minor units; see the module's table for each figure's source.

    Raises
    ------
    InvalidPeriod
        ``period_end`` is not after ``period_start``.
    FirmNotFound
        No such firm.
    """
    if period_end <= period_start:
        raise InvalidPeriod(f"The period must end after it starts; got {period_start} to {period_end}.")
    if session.get(Firm, firm_id) is None:
        raise ledger.FirmNotFound(f"Firm {firm_id} does not exist.", firm_id=firm_id)
    line = session.execute(select(LINES.c.line_id, LINES.c.currency).where(LINES.c.firm_id == firm_id)).first()
    book = _Book(session, firm_id, period_end)

    def within(moment: datetime) -> bool:
        return period_start <= moment < period_end

    opening = sum(owed.total for owed in book.owed_at(period_start))
    closing_owed = book.owed_at(period_end)
    new = sum((r.principal if r.kind == "terms" else 0) + r.fee for r in book.receivables if within(r.created_at))
    fees = sum(int(action.amount_minor) for action in book.late_fees if within(action.created_at))
    payments = sum(int(allocation.amount_minor) for allocation in book.allocations if within(allocation.created_at))
    adjustments = sum(book.refunded_at(period_end).values()) - sum(book.refunded_at(period_start).values())
    counts, sums = dict.fromkeys(AGEING_BUCKETS, 0), dict.fromkeys(AGEING_BUCKETS, 0)
    written_off = book.written_off_at(period_end)
    for owed in closing_owed:
        if owed.total > 0:
            bucket = ageing_bucket(days_past_due(owed.due_at, period_end),
                                   written_off=owed.receivable_id in written_off)
            counts[bucket] += 1
            sums[bucket] += owed.total
    return Statement(
        firm_id=firm_id, line_id=line.line_id if line else None,
        currency=line.currency if line else MARKETPLACE_CURRENCY, period_start=period_start, period_end=period_end,
        opening_minor=opening, new_receivables_minor=new, fees_minor=fees, payments_minor=payments,
        adjustments_minor=adjustments, closing_minor=sum(owed.total for owed in closing_owed),
        credit_balance_minor=_credit_balance_at(session, firm_id, period_end),
        ageing=tuple(AgeingBucket(bucket, counts[bucket], sums[bucket]) for bucket in AGEING_BUCKETS))


# ---------------------------------------------------------------------------------------------
# the CSV export

CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("receivable_id", "Receivable id."),
    ("firm_id", "The buyer."),
    ("line_id", "Its credit line."),
    ("hold_id", "The order's authorization."),
    ("parent_id", "For an installment: the receivable it splits; else empty."),
    ("kind", "terms or installment."),
    ("installment_number", "1..count for an installment; else empty."),
    ("installment_count", "Installments of the plan; else empty."),
    ("order_reference", "The marketplace's order reference."),
    ("shipment_reference", "The capture's shipment reference."),
    ("terms_days", "Payment terms, days."),
    ("issued_at", "Issued (captured), ISO 8601 UTC."),
    ("due_at", "Due, ISO 8601 UTC."),
    ("status", "open, partially_paid, paid, overdue, defaulted, charged_off, recovered, rescheduled or cancelled."),
    ("currency", "ISO 4217 code of every amount on the line."),
    ("principal", "Captured amount."),
    ("refunded", "Principal taken off by seller refunds."),
    ("rescheduled", "Principal moved to installments."),
    ("fee", "Fee the buyer owes for the terms or the plan."),
    ("late_fee", "Late fees assessed."),
    ("paid_principal", "Principal paid, net of returned payments."),
    ("paid_fee", "Fee paid."),
    ("paid_late_fee", "Late fees paid."),
    ("principal_owed", "principal − refunded − rescheduled − paid_principal."),
    ("fee_owed", "fee − paid_fee."),
    ("late_fee_owed", "late_fee − paid_late_fee."),
    ("owed", "Everything still owed: the three together."),
    ("merchant_fee", "Terms fee the merchant pays (not owed by the buyer)."),
    ("charged_off", "Principal written off to realised loss."),
    ("recovered", "Principal collected after the charge-off."),
)
"""The export's columns, in order, with what each holds; the first line of the file names them.

Amounts are major units of ``currency`` as exact decimal strings (``1250.50``). A reference
that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return) is written with a leading ``'``, as OWASP advises for CSV files.
"""

CSV_HEADER: tuple[str, ...] = tuple(name for name, _ in CSV_COLUMNS)

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def csv_line(row: ReceivableRow) -> list[str]:
    """One receivable as the cells of :data:`CSV_COLUMNS`."""
    def money(minor: int) -> str:
        return str(from_minor(minor, row.currency))

    def optional(value: int | None) -> str:
        return "" if value is None else str(value)

    owed = row.owed
    return [
        str(row.receivable_id), str(row.firm_id), str(row.line_id), str(row.hold_id), optional(row.parent_id), row.kind,
        optional(row.installment_number), optional(row.installment_count), _text(row.order_reference),
        _text(row.shipment_reference), str(row.terms_days), row.issued_at.isoformat(), row.due_at.isoformat(),
        row.status, row.currency, money(row.principal_minor), money(row.refunded_minor), money(row.rescheduled_minor),
        money(row.fee_minor), money(row.late_fee_minor), money(row.paid_principal_minor), money(row.paid_fee_minor),
        money(row.paid_late_fee_minor), money(owed.principal), money(owed.fee), money(owed.late_fee),
        money(owed.total), money(row.merchant_fee_minor), money(row.charged_off_minor), money(row.recovered_minor),
    ]


def write_receivables_csv(rows: Iterable[ReceivableRow], out: TextIO) -> None:
    """Write the header row and one line per receivable to ``out`` (RFC 4180: CRLF line ends, quotes as needed)."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(csv_line(row))


def receivables_csv(rows: Iterable[ReceivableRow]) -> str:
    """:func:`write_receivables_csv` into a string."""
    out = io.StringIO()
    write_receivables_csv(rows, out)
    return out.getvalue()
