"""The financing journal: the one place where money on a financing is booked.

Every movement is a :class:`Entry` (kind, part, signed amount, and a ``source`` unique per
financing, so a job that sees the same ingested payment twice books it once). :func:`post` writes
the entries and moves the cached totals of ``financings`` in the same statement set; the
database's CHECK constraints refuse a total that would go negative or past what was paid out, so
a bug cannot book more than is owed.

Amounts are integer minor units. Locking: :func:`lock` takes the financing's row
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's writer lock is the caller's ``BEGIN
IMMEDIATE``) before anything is read to decide what to book.

Statuses move here too, and only here: a financing is written ``approved`` by :func:`add` and
moved on by :func:`post`'s ``status``; each of those writes ``financing.changed`` in the same
unit of work (data: :func:`financing_event_data`), so every product and job announces every
status it sets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from credit.events import outbox
from credit.financing.errors import AlreadyPaidOut, ExceedsOwed, FinancingClosed, FinancingNotFound, NotPayable
from credit.financing.tables import CACHED, CLOSED_STATUSES, Financing, FinancingEntry
from credit.money import MARKETPLACE_CURRENCY, from_minor

FINANCINGS = Financing.__table__
FLAT_FEE_KINDS: tuple[str, ...] = ("receivable", "loan")
"""Products whose fee is one flat amount, charged when the money is paid out."""
FLAT_FEE_SOURCE = "fee:flat"
ENTRIES = FinancingEntry.__table__


@dataclass(frozen=True)
class Entry:
    """One movement to book: ``amount_minor`` of ``part`` by ``kind`` (see ``credit.financing.tables``)."""

    kind: str
    part: str
    amount_minor: int
    source: str

    def __post_init__(self) -> None:
        if (self.kind, self.part) not in CACHED:
            raise ValueError(f"No financing entry books {self.kind!r} on part {self.part!r}.")
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            raise TypeError(f"`amount_minor` must be an int of minor units; got {self.amount_minor!r}.")


@dataclass(frozen=True)
class Amounts:
    """Where a financing stands, from its cached totals (minor units)."""

    advance: int
    paid_out: int
    collected: int
    recovered: int
    written_off: int
    fee_charged: int
    fee_collected: int
    fee_recovered: int
    fee_written_off: int
    reserve: int
    diluted: int
    released: int

    @property
    def outstanding(self) -> int:
        """Principal at risk: paid out - collected - recovered - written off."""
        return self.paid_out - self.collected - self.recovered - self.written_off

    @property
    def fee_owed(self) -> int:
        """Fee charged and not yet paid or written off."""
        return self.fee_charged - self.fee_collected - self.fee_recovered - self.fee_written_off

    @property
    def owed(self) -> int:
        return self.outstanding + self.fee_owed


def amounts(financing: Financing) -> Amounts:
    """The cached totals of a loaded ``Financing`` row."""
    f = financing
    return Amounts(f.advance_minor, f.paid_out_minor, f.collected_minor, f.recovered_minor, f.written_off_minor,
                   f.fee_charged_minor, f.fee_collected_minor, f.fee_recovered_minor, f.fee_written_off_minor,
                   f.reserve_minor, f.diluted_minor, f.released_minor)


def financing_event_data(financing: Financing, previous_status: str | None) -> dict[str, object]:
    """A financing as its events carry it: kind, status (and the one before), parties, terms and where it stands."""
    f, owed = financing, amounts(financing)
    return {"financing_id": f.financing_id, "kind": f.kind, "status": f.status, "previous_status": previous_status,
            "decision_id": f.decision_id, "supplier_id": f.supplier_id, "buyer_id": f.buyer_id,
            "order_id": f.order_id, "invoice_id": f.invoice_id, "offer_id": f.offer_id, "recourse": f.recourse,
            "due_on": f.due_on, "value_date": f.value_date, "payout_reference": f.payout_reference,
            "currency": MARKETPLACE_CURRENCY, "advance": from_minor(f.advance_minor),
            "paid_out": from_minor(owed.paid_out), "outstanding": from_minor(owed.outstanding),
            "fee_owed": from_minor(owed.fee_owed), "written_off": from_minor(owed.written_off)}


def _announce(session: Session, financing: Financing, previous_status: str | None, now: datetime) -> None:
    # the firm is the one advanced to: the supplier, or the loan's borrower
    outbox.emit(session, "financing.changed", object_id=financing.financing_id, firm_id=financing.supplier_id,
         data=financing_event_data(financing, previous_status), occurred_at=now)


def add(session: Session, financing: Financing) -> Financing:
    """Write a new financing (status ``approved``) and its event; in a savepoint, so a conflict leaves the unit of work.

    Raises
    ------
    sqlalchemy.exc.IntegrityError
        A UNIQUE of ``financings`` (its order, invoice, offer or decision is financed already).
    """
    with session.begin_nested():
        session.add(financing)
    _announce(session, financing, None, financing.created_at)
    return financing


def lock(session: Session, financing_id: int) -> Financing:
    """The financing, its row locked for the rest of the transaction (PostgreSQL; SQLite: BEGIN IMMEDIATE).

    Raises
    ------
    FinancingNotFound
    """
    financing = session.execute(
        select(Financing).where(Financing.financing_id == financing_id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one_or_none()
    if financing is None:
        raise FinancingNotFound(financing_id)
    return financing


def booked_sources(session: Session, financing_id: int) -> set[str]:
    """The sources already booked on a financing (what a job must not book again)."""
    return set(session.execute(select(FinancingEntry.source).where(
        FinancingEntry.financing_id == financing_id)).scalars())


def post(session: Session, financing: Financing, entries: Sequence[Entry], *, booked_on: date, actor: str,
         now: datetime, decision_id: str | None = None, status: str | None = None) -> list[Entry]:
    """Book ``entries`` on a locked financing, move its totals, and optionally its status.

    Entries of amount 0 are left out; an entry whose source is already booked on the financing
    is refused (``IntegrityError`` from the database): callers that may see a source twice
    check :func:`booked_sources` first.

    Returns
    -------
    list of Entry
        What was booked.
    """
    entries = [e for e in entries if e.amount_minor]
    if entries:
        session.execute(insert(ENTRIES), [
            {"financing_id": financing.financing_id, "kind": e.kind, "part": e.part, "amount_minor": e.amount_minor,
             "source": e.source, "booked_on": booked_on, "decision_id": decision_id, "actor": actor,
             "created_at": now} for e in entries])
    moves: dict[str, int] = defaultdict(int)
    for e in entries:
        moves[CACHED[(e.kind, e.part)]] += e.amount_minor
    values: dict[str, object] = {column: getattr(FINANCINGS.c, column) + delta
                                 for column, delta in moves.items() if delta}
    previous = financing.status
    if status is not None and status != previous:
        values["status"] = status
        if status in CLOSED_STATUSES:
            values["closed_at"] = now
    if values:
        session.execute(update(FINANCINGS).where(FINANCINGS.c.financing_id == financing.financing_id)
                        .values(updated_at=now, **values))
        session.refresh(financing)
    if "status" in values:
        _announce(session, financing, previous, now)
    return entries


def pay_out(session: Session, financing_id: int, *, reference: str, value_date: date, actor: str,
            now: datetime) -> Financing:
    """Confirm the payout of an approved financing: the advance left on ``value_date``.

    A receivable's and a loan's fee is flat: it is charged with the payout (source ``fee:flat``,
    on the value date). An order advance's fee accrues per day (:mod:`credit.financing.accrual`).

    Raises
    ------
    FinancingNotFound, AlreadyPaidOut (with the existing reference), NotPayable (cancelled)
    """
    financing = lock(session, financing_id)
    if financing.status != "approved":
        if financing.paid_out_minor:
            raise AlreadyPaidOut(financing_id, financing.payout_reference or "")
        raise NotPayable(financing_id, financing.status)
    session.execute(update(FINANCINGS).where(FINANCINGS.c.financing_id == financing_id)
                    .values(payout_reference=reference, value_date=value_date))
    entries = [Entry("payout", "principal", financing.advance_minor, f"payout:{reference}")]
    if financing.kind in FLAT_FEE_KINDS:
        entries.append(Entry("fee", "fee", financing.fee_minor, FLAT_FEE_SOURCE))
    post(session, financing, entries, booked_on=value_date, actor=actor, now=now, status="paid_out")
    return financing


def cancel(session: Session, financing_id: int, *, actor: str, now: datetime) -> Financing:
    """Cancel an approved financing that was never paid out: it stops counting as exposure.

    Raises
    ------
    FinancingNotFound, AlreadyPaidOut, FinancingClosed (cancelled already)
    """
    financing = lock(session, financing_id)
    if financing.status != "approved":
        if not financing.paid_out_minor:
            raise FinancingClosed(financing_id, financing.status)
        raise AlreadyPaidOut(financing_id, financing.payout_reference or "")
    post(session, financing, [], booked_on=now.date(), actor=actor, now=now, status="cancelled")
    return financing


def allocate(financing: Financing, amount_minor: int, *, kind: str, source: str,
             surplus: bool) -> list[Entry]:
    """Split money received on a financing: principal first, then fee owed, then the rest.

    The first row carries ``source`` itself, the others ``source:fee`` and ``source:release``, so a
    job asking whether a payment is booked looks for its bare source, whatever the payment paid.

    ``kind`` is ``collection`` (from the debtor or the borrower's sales) or ``recovery`` (from
    the supplier). What is left after principal and fee is a ``release`` to the supplier when
    ``surplus`` (the reserve, an overpaid invoice); otherwise it is refused.

    Raises
    ------
    ExceedsOwed
        When ``surplus`` is False and the amount is more than principal and fee owed.
    """
    if kind not in ("collection", "recovery"):
        raise ValueError(f"money received is a collection or a recovery; got {kind!r}")
    if amount_minor <= 0:
        raise ValueError(f"`amount_minor` must be > 0; got {amount_minor!r}")
    owed = amounts(financing)
    principal = min(amount_minor, owed.outstanding)
    fee = min(amount_minor - principal, owed.fee_owed)
    rest = amount_minor - principal - fee
    if rest and not surplus:
        raise ExceedsOwed(financing.financing_id, amount_minor, owed.owed)
    parts = [(kind, "principal", principal, ""), (kind, "fee", fee, ":fee"), ("release", "surplus", rest, ":release")]
    booked = [part for part in parts if part[2]]
    # the first row booked carries the bare source, so "is this source booked?" is one lookup whatever it paid
    return [Entry(entry_kind, part, amount, source if i == 0 else f"{source}{suffix}")
            for i, (entry_kind, part, amount, suffix) in enumerate(booked)]
