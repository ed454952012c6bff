"""The fee of an order advance, accruing per day outstanding.

fee accrued to day d = max(minimum, annual_rate x principal-days(d) / 365), rounded half up,
where principal-days(d) is the sum over the journal's principal rows (payout +, collection,
recovery and write-off -) of amount x days from the row's business day to d: each minor unit
of principal counts for each day it was out. The minimum (``min_fee_rate`` x advance, half up)
is reached only once the principal is repaid: until then the fee grows with time, and the
minimum stops a short advance costing nothing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.decisions.pricing import DAYS_PER_YEAR
from credit.financing.journal import Entry, amounts
from credit.financing.tables import Financing, FinancingEntry
from credit.money import round_half_up
from credit.policy import Policy


def principal_days(session: Session, financing_id: int, to_day: date) -> int:
    """Sum of principal x days outstanding from each principal row's day to ``to_day`` (rows after it are ignored)."""
    e = FinancingEntry
    total = 0
    for kind, amount, booked_on in session.execute(select(e.kind, e.amount_minor, e.booked_on).where(
            e.financing_id == financing_id, e.part == "principal", e.booked_on <= to_day)):
        signed = amount if kind == "payout" else -amount
        total += signed * (to_day - booked_on).days
    return total


def fee_accrued(session: Session, financing: Financing, to_day: date, policy: Policy, *,
                settling: bool = False) -> int:
    """The order advance's fee accrued to ``to_day``; the minimum applies once the principal is repaid
    (or, ``settling``, is being repaid by the money at hand)."""
    rate = Decimal(financing.annual_rate or "0")
    accrued = round_half_up(rate * principal_days(session, financing.financing_id, to_day) / DAYS_PER_YEAR)
    if (settling or amounts(financing).outstanding == 0) and financing.paid_out_minor:
        minimum = round_half_up(policy.order_financing.fee.min_fee_rate * financing.advance_minor)
        accrued = max(accrued, minimum)
    return accrued


def accrual_entry(session: Session, financing: Financing, to_day: date, policy: Policy, *,
                  settling: bool = False) -> Entry | None:
    """The ``fee`` entry that brings the fee charged up to what has accrued by ``to_day``, or None."""
    due = fee_accrued(session, financing, to_day, policy, settling=settling) - financing.fee_charged_minor
    if due <= 0:
        return None
    return Entry("fee", "fee", due, f"accrual:{to_day.isoformat()}:{financing.fee_charged_minor + due}")
