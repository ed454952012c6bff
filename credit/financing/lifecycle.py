"""Money received on a financing, whatever its product: collections from the debtor, recoveries from the supplier.

Both lock the financing, bring an order advance's accrued fee up to the day, split the money
(principal, fee, then the surplus to the supplier: :func:`credit.financing.journal.allocate`)
and settle the financing when nothing is owed. A loan takes no surplus (an amount above what is
owed is refused); order and receivables financing release it to the supplier.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from credit.financing import journal
from credit.financing.accrual import accrual_entry
from credit.financing.errors import FinancingClosed, NotPaidOut
from credit.financing.journal import Entry
from credit.financing.tables import CLOSED_STATUSES, Financing
from credit.policy import Policy


def receive(session: Session, financing_id: int, amount_minor: int, *, kind: str, source: str, booked_on: date,
            actor: str, now: datetime, policy: Policy, decision_id: str | None = None) -> list[Entry]:
    """Book money received on a financing (``kind`` collection or recovery) and settle it when repaid.

    Raises
    ------
    FinancingNotFound, NotPaidOut, FinancingClosed, ExceedsOwed
    """
    financing = journal.lock(session, financing_id)
    if financing.status in CLOSED_STATUSES:
        raise FinancingClosed(financing_id, financing.status)
    if not financing.paid_out_minor:
        raise NotPaidOut(financing_id)
    settling = amount_minor >= journal.amounts(financing).outstanding
    booked = charge_accrued(session, financing, booked_on, actor=actor, now=now, policy=policy, settling=settling)
    entries = journal.allocate(financing, amount_minor, kind=kind, source=source,
                               surplus=financing.kind != "loan")
    booked += journal.post(session, financing, entries, booked_on=booked_on, actor=actor, now=now,
                           decision_id=decision_id)
    settle_if_repaid(session, financing, booked_on, actor=actor, now=now, policy=policy)
    return booked


def charge_accrued(session: Session, financing: Financing, to_day: date, *, actor: str, now: datetime,
                   policy: Policy, settling: bool = False) -> list[Entry]:
    """Charge an order advance's fee accrued up to ``to_day`` (other products' fees are flat: nothing).

    ``settling``: the money at hand repays the principal, so the minimum fee applies now.
    """
    if financing.kind != "order":
        return []
    entry = accrual_entry(session, financing, to_day, policy, settling=settling)
    return journal.post(session, financing, [entry] if entry else [], booked_on=to_day, actor=actor, now=now)


def settle_if_repaid(session: Session, financing: Financing, on: date, *, actor: str, now: datetime,
                     policy: Policy) -> bool:
    """Close a paid-out financing once nothing is owed (an order's minimum fee included): ``settled``, or
    ``written_off`` while part of it remains a realised loss (a recovery later may still win it back)."""
    if financing.status in CLOSED_STATUSES or not financing.paid_out_minor:
        return False
    charge_accrued(session, financing, on, actor=actor, now=now, policy=policy)
    if journal.amounts(financing).owed:
        return False
    lost = financing.written_off_minor + financing.fee_written_off_minor
    journal.post(session, financing, [], booked_on=on, actor=actor, now=now,
                 status="written_off" if lost else "settled")
    return True
