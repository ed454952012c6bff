"""Collections figures of the book for a period (what it collected): money in, where it went, fees, losses and recoveries.

The period runs from the start of ``start`` to the end of ``end`` (whole UTC days, both
included). Every amount is integer minor units, summed in SQL and read as ``int``:

=========================  ==================================================================
figure                     what is summed
=========================  ==================================================================
received                   ``repayments`` received in the period (also those returned since)
returned                   ``repayments`` the bank returned in the period
allocated, by part         net ``repayment_allocations`` booked in the period, per part
                           (``late_fee``, ``fee``, ``principal``, ``credit_refund``); a
                           returned payment's reversals count negative when booked
credit balance             at the end of the period: money of repayments received and not
                           returned by then, less what their allocations had taken by then
late fees assessed         ``servicing_actions`` of step ``late_fee`` on servicing days in
                           the period (their ``amount_minor``)
late fees paid             the ``late_fee`` part of the allocations
charged off                ``charge_off`` transfers of the ledger booked in the period
recovered                  principal allocations booked in the period to receivables charged
                           off before them (booked at or after their line's first
                           ``charge_off`` transfer)
realised loss, net         charged off less recovered (negative when recoveries exceed the
                           period's charge-offs)
=========================  ==================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from credit.ledger.journal import TRANSFERS
from credit.monitoring.book.snapshots import end_of
from credit.servicing.amounts import RECEIVABLES
from credit.servicing.tables import ALLOCATION_PARTS, Repayment, RepaymentAllocation, ServicingAction

_REPAYMENTS = Repayment.__table__
_ALLOCATIONS = RepaymentAllocation.__table__
_ACTIONS = ServicingAction.__table__


@dataclass(frozen=True)
class Collections:
    """The book's collections from ``start`` to ``end`` (both days included); money in minor units."""

    start: date
    end: date
    received_minor: int
    received_count: int
    returned_minor: int
    returned_count: int
    allocated_minor: dict[str, int]
    credit_balance_minor: int
    late_fees_assessed_minor: int
    late_fees_paid_minor: int
    charged_off_minor: int
    recovered_minor: int

    @property
    def realised_loss_minor(self) -> int:
        """Charged off less recovered in the period."""
        return self.charged_off_minor - self.recovered_minor


def collections(session: Session, start: date, end: date) -> Collections:
    """The collections figures of the period (see the module docstring).

    Parameters
    ----------
    session
        A session on the store.
    start, end
        First and last day of the period (UTC), both included.

    Returns
    -------
    Collections

    Raises
    ------
    ValueError
        If ``start`` is after ``end``.
    """
    if start > end:
        raise ValueError(f"the period's start ({start}) must not be after its end ({end}).")
    since, until = datetime.combine(start, time()), end_of(end)
    p, a = _REPAYMENTS.c, _ALLOCATIONS.c
    received = session.execute(select(func.coalesce(func.sum(p.amount_minor), 0), func.count())
                               .where(p.received_at >= since, p.received_at < until)).one()
    returned = session.execute(select(func.coalesce(func.sum(p.amount_minor), 0), func.count())
                               .where(p.returned_at >= since, p.returned_at < until)).one()
    by_part = dict.fromkeys(ALLOCATION_PARTS, 0)
    for part, amount in session.execute(select(a.part, func.sum(a.amount_minor))
                                        .where(a.created_at >= since, a.created_at < until).group_by(a.part)):
        by_part[part] = int(amount)
    late_fees = session.execute(select(func.coalesce(func.sum(_ACTIONS.c.amount_minor), 0)).where(
        _ACTIONS.c.step == "late_fee", _ACTIONS.c.as_of >= start, _ACTIONS.c.as_of <= end)).scalar_one()
    charged_off = session.execute(select(func.coalesce(func.sum(TRANSFERS.c.amount_minor), 0)).where(
        TRANSFERS.c.kind == "charge_off", TRANSFERS.c.created_at >= since, TRANSFERS.c.created_at < until)).scalar_one()
    return Collections(
        start=start, end=end, received_minor=int(received[0]), received_count=int(received[1]),
        returned_minor=int(returned[0]), returned_count=int(returned[1]), allocated_minor=by_part,
        credit_balance_minor=credit_balance_at(session, until), late_fees_assessed_minor=int(late_fees),
        late_fees_paid_minor=by_part["late_fee"], charged_off_minor=int(charged_off),
        recovered_minor=_recovered(session, since, until))


def credit_balance_at(session: Session, moment: datetime) -> int:
    """The buyers' credit balances together just before ``moment``: money received, not returned, not yet applied."""
    p, a = _REPAYMENTS.c, _ALLOCATIONS.c
    standing = and_(p.received_at < moment, or_(p.returned_at.is_(None), p.returned_at >= moment))
    received = session.execute(select(func.coalesce(func.sum(p.amount_minor), 0)).where(standing)).scalar_one()
    applied = session.execute(select(func.coalesce(func.sum(a.amount_minor), 0))
                              .join(_REPAYMENTS, p.repayment_id == a.repayment_id)
                              .where(standing, a.created_at < moment)).scalar_one()
    return int(received) - int(applied)


def _recovered(session: Session, since: datetime, until: datetime) -> int:
    a, r = _ALLOCATIONS.c, RECEIVABLES.c
    charged = (select(func.min(TRANSFERS.c.created_at))
               .where(TRANSFERS.c.kind == "charge_off", TRANSFERS.c.line_id == r.line_id).scalar_subquery())
    total = session.execute(select(func.coalesce(func.sum(a.amount_minor), 0))
                            .join(RECEIVABLES, r.receivable_id == a.receivable_id)
                            .where(a.part == "principal", a.created_at >= since, a.created_at < until,
                                   r.charged_off_minor > 0, a.created_at >= charged)).scalar_one()
    return int(total)
