"""A receivable's status, from what it owes and when it was due: one rule for every writer.

Every change to a receivable's amounts (capture, refund, repayment, returned payment, late
fee, installment plan) ends with :func:`refresh`, so the stored status is what these rules
give at that moment; the daily servicing job refreshes the rest (a receivable turns overdue
with time alone).

=================  ==================================================================
status             when
=================  ==================================================================
``rescheduled``    split into installments (final)
``charged_off``    written off; becomes ``recovered`` when everything owed is collected
``defaulted``      its line defaulted; stays until charged off (or paid)
``cancelled``      nothing owed and nothing was ever paid on it (refunded in full)
``paid``           nothing owed
``overdue``        something owed, a whole day or more past due (:mod:`credit.standing`)
``partially_paid`` something owed, not overdue, something paid
``open``           something owed, not overdue, nothing paid
=================  ==================================================================

:func:`refresh` writes the events of the transitions a client acts on, in the same unit of
work, once per transition (a refresh that finds the status already stored writes nothing):
``receivable.overdue`` when a receivable turns overdue, ``receivable.paid`` when it is paid in
full (``paid``, or ``recovered`` after a charge-off). Data: :func:`receivable_event_data`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from credit.events import outbox
from credit.money import MARKETPLACE_CURRENCY, from_minor
from credit.servicing.amounts import OWED, OWED_COLUMNS, RECEIVABLES, Owed
from credit.standing import days_past_due, overdue_cutoff

_r = RECEIVABLES.c
_ANNOUNCED = {"overdue": "receivable.overdue", "paid": "receivable.paid", "recovered": "receivable.paid"}
"""The statuses whose arrival is an event, and its type."""


def receivable_event_data(owed: Owed, now: datetime) -> dict[str, object]:
    """A receivable as its events carry it: status, due date, days past due at ``now`` and what it still owes."""
    return {"receivable_id": owed.receivable_id, "line_id": owed.line_id, "hold_id": owed.hold_id,
            "status": owed.status, "due_at": owed.due_at, "days_past_due": days_past_due(owed.due_at, now),
            "currency": MARKETPLACE_CURRENCY,
            "owed": {"principal": from_minor(owed.principal), "fee": from_minor(owed.fee),
                     "late_fee": from_minor(owed.late_fee), "total": from_minor(owed.total)}}


def line_days_past_due(session: Session, line_id: int, now: datetime) -> int:
    """The line's days past due on the book: its oldest overdue receivable's (0 when none is overdue)."""
    oldest = session.execute(select(func.min(_r.due_at)).where(
        _r.line_id == line_id, _r.due_at <= overdue_cutoff(now), OWED > 0)).scalar()
    return 0 if oldest is None else days_past_due(oldest, now)


def status_of(current: str, *, owed_minor: int, paid_minor: int, due_at: datetime, now: datetime) -> str:
    """The status a receivable should have now (see the module's table).

    Parameters
    ----------
    current
        Its stored status.
    owed_minor
        Everything still owed on it (principal, fee and late fee).
    paid_minor
        Everything ever paid on it, net of returned payments.
    due_at, now
        Its due time and the moment judged.
    """
    if current == "rescheduled":
        return current
    if current in ("charged_off", "recovered"):
        return "recovered" if owed_minor <= 0 else "charged_off"
    if owed_minor <= 0:
        return "paid" if paid_minor > 0 else "cancelled"
    if current == "defaulted":
        return current
    if due_at <= overdue_cutoff(now):
        return "overdue"
    return "partially_paid" if paid_minor > 0 else "open"


def refresh(session: Session, receivable_ids: Iterable[int], now: datetime) -> dict[int, str]:
    """Store the status :func:`status_of` gives now for each receivable, and announce an arrival at overdue or paid
    (see the module); returns ``{id: status}``."""
    ids = sorted(set(receivable_ids))
    if not ids:
        return {}
    paid = _r.paid_principal_minor + _r.paid_fee_minor + _r.paid_late_fee_minor
    rows = session.execute(select(*OWED_COLUMNS, OWED.label("owed"), paid.label("paid"))
                           .where(_r.receivable_id.in_(ids)).order_by(_r.receivable_id)).all()
    statuses, changed, arrived = {}, [], []
    for row in rows:
        status = status_of(row.status, owed_minor=int(row.owed), paid_minor=int(row.paid), due_at=row.due_at, now=now)
        statuses[row.receivable_id] = status
        if status != row.status:
            changed.append({"rid": row.receivable_id, "new_status": status, "now": now})
            if status in _ANNOUNCED:
                arrived.append(replace(Owed.of(row), status=status))
    if changed:
        session.execute(update(RECEIVABLES).where(_r.receivable_id == bindparam("rid"))
                        .values(status=bindparam("new_status"), updated_at=bindparam("now"))
                        .execution_options(synchronize_session=False), changed)
    for owed in arrived:
        # occurred now (the clock), not at ``now``: the daily job judges at the end of its day
        outbox.emit(session, _ANNOUNCED[owed.status], object_id=owed.receivable_id, firm_id=owed.firm_id,
             data=receivable_event_data(owed, now))
    return statuses
