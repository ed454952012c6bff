"""The book's own performance, read from the servicing tables: what ``credit monitor book``, the API and the console show.

- :mod:`~credit.monitoring.book.roll_rates`: ageing bucket transitions between consecutive
  month ends (current -> 1-30 -> 31-60 -> 61-90 -> 90+), by lines and by open amount.
- :mod:`~credit.monitoring.book.vintages`: by capture month, the cumulative share of principal
  charged off and the share more than 30 days past due, by months on book.
- :mod:`~credit.monitoring.book.grades`: realised against predicted default by grade at line
  opening, on the book's lines, with the monitoring's Clopper-Pearson interval.
- :mod:`~credit.monitoring.book.collected`: collections figures for a period.
- :mod:`~credit.monitoring.book.snapshots`: the month-end days and charge-off times the
  first two share.

Money is integer minor units throughout; shares and rates are floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from credit.monitoring.book.collected import Collections, collections
from credit.monitoring.book.grades import INTERVAL, UNGRADED, BookGrade, realised_by_grade
from credit.monitoring.book.roll_rates import SETTLED, TO_STATES, RollCell, RollMatrix, RollRow, roll_rates
from credit.monitoring.book.snapshots import month_end_days
from credit.monitoring.book.vintages import PAST_DUE_DAYS, VintageCurve, VintagePoint, vintage_curves
from credit.policy import Policy

CONFIDENCE = 0.95


@dataclass(frozen=True)
class BookPerformance:
    """Everything the book reports: roll rates, vintages, calibration by grade, one period's collections.

    ``month_ends`` are the snapshot days the roll rates and vintages read; the period
    (``collections.start`` to ``collections.end``) applies to the collections figures only.
    """

    month_ends: tuple[date, ...]
    roll_rates: tuple[RollMatrix, ...]
    vintages: tuple[VintageCurve, ...]
    grades: tuple[BookGrade, ...]
    collections: Collections
    confidence: float = CONFIDENCE

    @property
    def interval(self) -> str:
        """How the grades' intervals are computed, e.g. ``Clopper-Pearson, 95%``."""
        return f"{INTERVAL}, {self.confidence:.0%}"


def book_performance(session: Session, policy: Policy, *, start: date, end: date) -> BookPerformance:
    """The book's figures, with the collections of ``start`` to ``end`` (both days included).

    Parameters
    ----------
    session
        A session on the store.
    policy
        Its master scale grades the PDs at line opening.
    start, end
        The collections period.

    Raises
    ------
    ValueError
        If ``start`` is after ``end``.
    """
    figures = collections(session, start, end)
    return BookPerformance(month_ends=month_end_days(session), roll_rates=roll_rates(session),
                           vintages=vintage_curves(session),
                           grades=realised_by_grade(session, policy, confidence=CONFIDENCE), collections=figures)


__all__ = ["PAST_DUE_DAYS", "SETTLED", "TO_STATES", "UNGRADED", "BookGrade", "BookPerformance", "Collections",
           "RollCell", "RollMatrix", "RollRow", "VintageCurve", "VintagePoint", "book_performance", "collections",
           "month_end_days", "realised_by_grade", "roll_rates", "vintage_curves"]
