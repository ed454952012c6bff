"""The financing book's daily job: every product's steps for one business day, in one transaction.

Order advances (:mod:`credit.financing.orders`), financed invoices
(:mod:`credit.financing.factoring`) and transaction-flow loans (:mod:`credit.financing.loans`,
after the day's offers, :mod:`credit.financing.offers`) each book what the history shows by
the end of the day and take the steps due. Every part is idempotent: a second run for the same
day books nothing and records no decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from credit.financing import factoring, loans, offers, orders
from credit.policy import Policy


@dataclass(frozen=True)
class FinancingDay:
    """What the job did on ``as_of``: each product's counts (their keys are the product modules')."""

    as_of: date
    counts: dict[str, dict[str, int]]


def run_day(session: Session, as_of: date, policy: Policy, *, actor: str = "financing") -> FinancingDay:
    """Run every product's daily steps for ``as_of`` (flushed, not committed; on SQLite begin IMMEDIATE first)."""
    counts = {
        "order": orders.run_day(session, as_of, policy, actor=actor),
        "receivable": factoring.run_day(session, as_of, policy, actor=actor),
        "loan": loans.run_day(session, as_of, policy, actor=actor),
        "loan offers": offers.run_offers(session, as_of, policy, actor=actor),
    }
    return FinancingDay(as_of, counts)
