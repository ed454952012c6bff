"""The financing book over HTTP: each lifecycle step is one unit of work on the journal; the reads as schemas.

A payout, a collection or a recovery carries the payment system's reference, which books once
per caller whatever Idempotency-Key carries it (:mod:`credit.ledger.references`): payouts
share the ``payout`` references of credit balance refunds, collections and recoveries the
``payment`` references of line repayments, since one reference is one movement of money. A
retry under a new key is 409 ``duplicate_reference``; when the reference was a financing's,
its ``details`` name the ``financing_id``. The claim's ``object_id`` is left empty: the
references table names a line or a repayment there, not a financing.

Every function takes the request's session and flushes, never commits. A step first takes the
write lock (SQLite) and the financing's row lock (PostgreSQL, :func:`credit.financing.journal.lock`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.financing.book.schemas import (
    EntryOut,
    FinancingItemOut,
    FinancingOut,
    FinancingPageOut,
    FinancingStatementOut,
    MoneyReceivedIn,
    PayoutIn,
    StatementLineOut,
)
from api.firms import service as firms
from api.kit.auth import Caller, client_actors
from api.kit.db import take_write_lock
from api.kit.errors import NotFound, ServiceError, invalid
from credit.financing import book, factoring, journal, lifecycle
from credit.financing.book import FinancingRow, InvalidCursor, StatementFigures
from credit.financing.tables import Financing, FinancingEntry
from credit.ledger import DuplicateReference, references
from credit.policy import Policy

LAST_DAY = date(2999, 12, 31)
"""Latest date a query may name."""


# ---------------------------------------------------------------------------------------------
# lifecycle


def pay_out(session: Session, caller: Caller, financing_id: int, body: PayoutIn, now: datetime) -> FinancingOut:
    """Confirm the payout of an approved financing (once; a second payout is 409 ``already_paid_out``).

    Raises
    ------
    FinancingNotFound, AlreadyPaidOut, NotPayable
        From the journal.
    ServiceError
        422 naming ``value_date``: after today or before the financing was booked.
    DuplicateReference
        The caller used this payout reference already.
    """
    take_write_lock(session)
    financing = journal.lock(session, financing_id)
    if financing.status == "approved":  # else the journal says why it cannot be paid out
        if body.value_date > now.date():
            raise invalid("body", "value_date", f"must not be after today ({now.date()}): a payout is confirmed "
                                                f"once the money left; got {body.value_date}.")
        if body.value_date < financing.created_at.date():
            raise invalid("body", "value_date", f"must not be before the financing was booked "
                                                f"({financing.created_at.date()}); got {body.value_date}.")
        _claim(session, caller, "payout", body.reference, now)
    return _out(session, journal.pay_out(session, financing_id, reference=body.reference,
                                         value_date=body.value_date, actor=caller.actor, now=now))


def receive(session: Session, caller: Caller, financing_id: int, body: MoneyReceivedIn, *, kind: str, policy: Policy,
            now: datetime) -> FinancingOut:
    """Book money received on a financing today: a ``collection`` from the debtor or a ``recovery`` from the supplier.

    Raises
    ------
    FinancingNotFound, NotPaidOut, FinancingClosed, ExceedsOwed
        From the lifecycle.
    DuplicateReference
        The caller used this payment reference already.
    """
    take_write_lock(session)
    locked = journal.lock(session, financing_id)  # 404 before the reference is claimed
    _claim(session, caller, "payment", body.reference, now)
    booking = dict(source=f"api:{body.reference}", booked_on=now.date(), actor=caller.actor, now=now, policy=policy)
    if kind == "collection" and locked.kind == "receivable":
        # the debtor's money on a financed invoice wins back a written-off loss first (credit.financing.factoring)
        factoring.collect(session, financing_id, body.amount, **booking)
    else:
        lifecycle.receive(session, financing_id, body.amount, kind=kind, **booking)
    return financing(session, financing_id)


def cancel(session: Session, caller: Caller, financing_id: int, now: datetime) -> FinancingOut:
    """Cancel an approved financing never paid out: it stops counting as exposure.

    Raises
    ------
    FinancingNotFound, AlreadyPaidOut, FinancingClosed
    """
    take_write_lock(session)
    return _out(session, journal.cancel(session, financing_id, actor=caller.actor, now=now))


def _claim(session: Session, caller: Caller, kind: str, reference: str, now: datetime) -> None:
    try:
        references.claim(session, client=caller.client, kind=kind, reference=reference, now=now)
    except DuplicateReference as exc:
        booked = _financing_of_reference(session, caller, kind, reference)
        if booked is None:
            raise
        raise DuplicateReference(
            f"{kind.capitalize()} reference {reference!r} was booked already (financing {booked}); it books once, "
            "so nothing was booked this time.", kind=kind, reference=reference, financing_id=booked) from None


def _financing_of_reference(session: Session, caller: Caller, kind: str, reference: str) -> int | None:
    if kind == "payout":
        query = select(FinancingEntry.financing_id).where(FinancingEntry.source == f"payout:{reference}",
                                                          FinancingEntry.kind == "payout")
    else:
        query = select(FinancingEntry.financing_id).where(FinancingEntry.source == f"api:{reference}")
    return session.execute(query.where(FinancingEntry.actor.in_(client_actors(session, caller)))
                           .order_by(FinancingEntry.entry_id).limit(1)).scalar()


# ---------------------------------------------------------------------------------------------
# reads


def _item(row: FinancingRow) -> dict[str, Any]:
    f, owed = row.financing, row.amounts
    return dict(
        financing_id=f.financing_id, kind=f.kind, status=f.status, decision_id=f.decision_id,
        supplier_id=f.supplier_id, buyer_id=f.buyer_id, order_id=f.order_id, invoice_id=f.invoice_id,
        offer_id=f.offer_id, recourse=f.recourse, annual_rate=f.annual_rate, withholding_rate=f.withholding_rate,
        period_days=f.period_days, tenor_days=f.tenor_days, due_on=f.due_on, payout_reference=f.payout_reference,
        value_date=f.value_date, created_at=f.created_at, updated_at=f.updated_at, closed_at=f.closed_at,
        face=f.face_minor, advance=f.advance_minor, fee_quoted=f.fee_minor, reserve=f.reserve_minor,
        minimum=f.minimum_minor, paid_out=owed.paid_out, collected=owed.collected, recovered=owed.recovered,
        written_off=owed.written_off, outstanding=owed.outstanding, fee_charged=owed.fee_charged,
        fee_collected=owed.fee_collected, fee_recovered=owed.fee_recovered, fee_written_off=owed.fee_written_off,
        fee_owed=owed.fee_owed, diluted=owed.diluted, released=owed.released, exposure=row.exposure_minor)


def _out(session: Session, financing_row: Financing) -> FinancingOut:
    return financing(session, financing_row.financing_id)


def financing(session: Session, financing_id: int) -> FinancingOut:
    """One financing with its journal, or 404 ``financing_not_found``."""
    row = book.get_financing(session, financing_id)
    if row is None:
        raise NotFound(f"Financing {financing_id} does not exist.", code="financing_not_found")
    entries = [EntryOut(entry_id=e.entry_id, kind=e.kind, part=e.part, amount=e.amount_minor, source=e.source,
                        booked_on=e.booked_on, decision_id=e.decision_id, actor=e.actor, created_at=e.created_at)
               for e in book.entries_of(session, financing_id)]
    return FinancingOut(**_item(row), entries=entries)


def filters(*, kinds: list[str] | None, statuses: list[str] | None, supplier_id: int | None,
            buyer_id: int | None) -> dict[str, Any]:
    """The list's filters for :func:`credit.financing.book.list_financings`."""
    return {"kinds": sorted(set(kinds)) if kinds else None, "statuses": sorted(set(statuses)) if statuses else None,
            "supplier_id": supplier_id, "buyer_id": buyer_id}


def page(session: Session, checked_filters: dict[str, Any], cursor: str | None, limit: int) -> FinancingPageOut:
    """The page of financings after ``cursor`` (the first without one); 422 naming ``cursor`` for one not ours."""
    after_id = None
    if cursor is not None:
        try:
            after_id = book.decode_cursor(cursor)
        except InvalidCursor as exc:
            raise invalid("query", "cursor", str(exc)) from None
    rows = book.list_financings(session, **checked_filters, after_id=after_id, limit=limit)
    return FinancingPageOut(items=[FinancingItemOut(**_item(row)) for row in rows.rows], next_cursor=rows.next_cursor)


def export(session: Session, checked_filters: dict[str, Any]) -> str:
    """Every financing the filters select, as the library's CSV (header row first)."""
    return book.financings_csv(book.all_financings(session, **checked_filters))


def _figures(values: StatementFigures) -> dict[str, int]:
    return dict(opening_outstanding=values.opening_minor, paid_out=values.paid_out_minor,
                collected=values.collected_minor, recovered=values.recovered_minor,
                written_off=values.written_off_minor, closing_outstanding=values.closing_minor,
                fees_charged=values.fees_charged_minor, fees_paid=values.fees_paid_minor,
                fees_written_off=values.fees_written_off_minor, diluted=values.diluted_minor,
                released=values.released_minor)


def statement(session: Session, firm_id: int, period_from: date, period_to: date, today: date) -> FinancingStatementOut:
    """The supplier's financing statement for the business days ``period_from`` to ``period_to``.

    Raises
    ------
    NotFound
        ``unknown_firm``.
    ServiceError
        422 naming ``from`` or ``to``: out of range, reversed, or a period starting after today.
    """
    for value, name in ((period_from, "from"), (period_to, "to")):
        if not date(1900, 1, 1) <= value <= LAST_DAY:
            raise invalid("query", name, f"must be a date from 1900-01-01 to {LAST_DAY}; got {value}.")
    if period_to < period_from:
        raise invalid("query", "to", f"must not be before `from` ({period_from}); got {period_to}.")
    if period_from > today:
        raise invalid("query", "from", f"must not be after today ({today}); got {period_from}.")
    firms.require_firm(session, firm_id)
    result = book.supplier_statement(session, firm_id, period_from, period_to)
    return FinancingStatementOut(
        firm_id=firm_id, period_from=period_from, period_to=period_to, currency=result.currency,
        **_figures(result.totals),
        financings=[StatementLineOut(financing_id=line.financing_id, kind=line.kind, buyer_id=line.buyer_id,
                                     status=line.status, **_figures(line.figures)) for line in result.lines])

