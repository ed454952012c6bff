"""Realised against predicted default by grade on the book's own lines.

* **Lines**: every credit line with at least one receivable (a line never drawn on has no
  outcome on the book). One line per firm, so lines are firms.
* **Predicted**: the PD of the firm's latest score known when its line was opened: the
  newest ``firm_scores`` row (latest as-of date, then latest run) scored at or before the
  line's ``created_at``, graded on the policy's master scale. A line opened before its firm
  had any score is ``ungraded``: it has a realised rate but no prediction.
* **Realised**: the line reached default: a ``servicing_actions`` row with step ``default``
  for it, or a receivable of it charged off (``charged_off_minor > 0`` or status
  ``charged_off``/``recovered``).

The interval is :func:`credit.monitoring.calibration.clopper_pearson` and the status
:func:`~credit.monitoring.calibration.calibration_status`, as for the model's own cohorts:
``ok`` inside the 95% interval, ``watch`` outside it, ``alarm`` outside the 99.9% one. The
PD is a 12-month probability while a line's outcome is counted whenever it happened, however
long the line has been open: on a book younger than a year the realised rates run below the
predicted ones by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from sqlalchemy import exists, or_, select, union
from sqlalchemy.orm import Session

from credit.ledger.journal import LINES
from credit.monitoring.calibration import by_grade, clopper_pearson
from credit.policy import Policy
from credit.scoring.tables import ScoreSnapshot
from credit.servicing.amounts import RECEIVABLES
from credit.servicing.tables import WRITTEN_OFF, ServicingAction

UNGRADED = "ungraded"
INTERVAL = "Clopper-Pearson"

_SCORES = ScoreSnapshot.__table__
_ACTIONS = ServicingAction.__table__


@dataclass(frozen=True)
class BookGrade:
    """The book's lines of one grade at opening: predicted mean PD against the share that defaulted."""

    grade: str
    lines: int
    defaults: int
    predicted_pd: float | None
    realised_rate: float
    ci_low: float
    ci_high: float
    status: str | None


def realised_by_grade(session: Session, policy: Policy, *, confidence: float = 0.95,
                      alarm_confidence: float = 0.999) -> tuple[BookGrade, ...]:
    """Realised against predicted default of the book's lines by grade (see the module docstring).

    Parameters
    ----------
    session
        A session on the store.
    policy
        Its master scale grades the PDs.
    confidence, alarm_confidence
        Levels of the reported interval and of the alarm.

    Returns
    -------
    tuple of BookGrade
        Grades that hold lines, best first, then ``ungraded`` (no predicted PD, no status).
    """
    lines = session.execute(select(LINES.c.line_id).where(
        exists().where(RECEIVABLES.c.line_id == LINES.c.line_id)).order_by(LINES.c.line_id)).scalars().all()
    if not lines:
        return ()
    pds = _pd_at_opening(session)
    defaulted = _defaulted_lines(session)
    graded = [line_id for line_id in lines if line_id in pds]
    rows: list[BookGrade] = []
    if graded:
        pd_ = np.array([pds[line_id] for line_id in graded], dtype=float)
        grades = np.array([policy.grade_of(Decimal(repr(pds[line_id]))) for line_id in graded], dtype=object)
        outcome = np.array([line_id in defaulted for line_id in graded], dtype=int)
        rows = [BookGrade(g.grade, g.firms, g.defaults, g.predicted_rate, g.realised_rate, g.ci_low, g.ci_high,
                          g.status)
                for g in by_grade(grades, pd_, outcome, policy.grades, confidence=confidence,
                                  alarm_confidence=alarm_confidence)]
    ungraded = [line_id for line_id in lines if line_id not in pds]
    if ungraded:
        defaults = sum(line_id in defaulted for line_id in ungraded)
        low, high = clopper_pearson(defaults, len(ungraded), confidence)
        rows.append(BookGrade(UNGRADED, len(ungraded), defaults, None, defaults / len(ungraded), low, high, None))
    return tuple(rows)


def _pd_at_opening(session: Session) -> dict[int, float]:
    s = _SCORES.c
    known = (select(LINES.c.line_id, s.pd).join(_SCORES, (s.firm_id == LINES.c.firm_id)
                                                & (s.scored_at <= LINES.c.created_at))
             .order_by(LINES.c.line_id, s.as_of, s.scored_at, s.score_id))
    latest: dict[int, float] = {}
    for line_id, pd_ in session.execute(known):
        latest[line_id] = float(pd_)  # ascending: the newest row wins
    return latest


def _defaulted_lines(session: Session) -> set[int]:
    r = RECEIVABLES.c
    query = union(
        select(_ACTIONS.c.line_id).where(_ACTIONS.c.step == "default"),
        select(r.line_id).where(or_(r.charged_off_minor > 0, r.status.in_(WRITTEN_OFF))))
    return set(session.execute(query).scalars())
