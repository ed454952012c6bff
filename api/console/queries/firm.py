"""A firm: its score history and score now, its line's limit and exposure over time, its receivables on the book
and their statement, its decisions, early warnings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.console.queries.common import Reason, reasons_of
from api.console.queries.exposure import LineView
from api.firms import service as firms
from api.kit.errors import Conflict
from credit.audit import DecisionRecord
from credit.ledger.journal import TRANSFERS
from credit.models.serving import ServingModel
from credit.monitoring.results import WARNING_REASONS, EarlyWarning, warnings_of_firm
from credit.policy import Policy
from credit.scoring.tables import ScoreSnapshot
from credit.servicing.statement import ReceivableRow, Statement, list_receivables, statement

DECISIONS_SHOWN = 50
RECEIVABLES_SHOWN = 50

KIND_LABELS = {
    "credit_line_application": "Credit-line application", "credit_line_review": "Review by the finance team",
    "line_change": "Line change", "checkout": "Checkout", "order_financing": "Order financing",
    "receivable_financing": "Receivables financing",
}
_LINE_KINDS = ("credit_line_application", "credit_line_review", "line_change")


@dataclass(frozen=True)
class ScorePoint:
    """The firm's score at one batch date (the last run of that date)."""

    as_of: date
    pd: Decimal
    grade: str
    model_version: str


def score_history(session: Session, firm_id: int, policy: Policy) -> list[ScorePoint]:
    """The firm's PD and grade at every batch date, oldest first.

    Parameters
    ----------
    session
        The request's session.
    firm_id
        The firm.
    policy
        Its master scale grades each PD.

    Returns
    -------
    list of ScorePoint
        One per as-of date of ``firm_scores``: the last run of that date (any model version).
    """
    rows = session.execute(
        select(ScoreSnapshot.as_of, ScoreSnapshot.pd, ScoreSnapshot.model_version)
        .where(ScoreSnapshot.firm_id == firm_id)
        .order_by(ScoreSnapshot.as_of, ScoreSnapshot.scored_at, ScoreSnapshot.score_id)).all()
    last: dict[date, ScorePoint] = {}
    for as_of, pd_, version in rows:
        value = Decimal(repr(float(pd_)))
        last[as_of] = ScorePoint(as_of, value, policy.grade_of(value), version)
    return list(last.values())


@dataclass(frozen=True)
class CurrentScore:
    """The firm's score now, as the API's ``GET /v1/firms/{id}/credit`` gives it."""

    as_of: date
    pd: Decimal
    grade: str
    model_name: str
    model_version: str
    reasons: tuple[Reason, ...]


def current_score(session: Session, firm_id: int, policy: Policy, model: ServingModel | None) -> CurrentScore | None:
    """The firm's score now, as ``GET /v1/firms/{id}/credit`` gives it.

    Parameters
    ----------
    session
        The request's session.
    firm_id
        The firm.
    policy
        Its master scale grades the PD.
    model
        The champion; the latest snapshot is re-scored with it when another version wrote it
        (as stored when it cannot be, or when ``model`` is None).

    Returns
    -------
    CurrentScore or None
        None when the firm was never scored.
    """
    try:
        score = firms.current_score(session, model, firm_id)
    except Conflict:  # the snapshot cannot be re-scored by the champion: show it as stored
        score = firms.current_score(session, None, firm_id)
    if score is None:
        return None
    pd_ = firms.pd_decimal(score)
    return CurrentScore(score.as_of, pd_, policy.grade_of(pd_), score.model_name, score.model_version,
                        reasons_of(score.reason_codes))


@dataclass(frozen=True)
class LineHistory:
    """A line's limit and exposure (posted + pending) at the end of each day something changed, and now."""

    limit: tuple[tuple[date, int], ...]
    exposure: tuple[tuple[date, int], ...]

    @property
    def utilisation(self) -> tuple[tuple[date, Decimal | None], ...]:
        return tuple((day, Decimal(used) / Decimal(limit) if limit else None)
                     for (day, limit), (_, used) in zip(self.limit, self.exposure, strict=True))


def line_history(session: Session, firm_id: int, line: LineView, now: datetime) -> LineHistory:
    """The line's limit (from its audited decisions) and exposure (replayed from its transfers) over time.

    The limit before the first line decision is that decision's; a line opened without one
    (outside the API) shows its current limit throughout.

    Parameters
    ----------
    session
        The request's session.
    firm_id
        The line's firm (its decisions name the firm).
    line
        The line now (:func:`line_of_firm`).
    now
        The last point of both series is the line as it is now, dated today.

    Returns
    -------
    LineHistory
    """
    limits = session.execute(
        select(DecisionRecord.created_at, DecisionRecord.amount_minor)
        .where(DecisionRecord.firm_id == firm_id, DecisionRecord.kind.in_(_LINE_KINDS),
               DecisionRecord.outcome == "approve", DecisionRecord.created_at >= line.created_at)
        .order_by(DecisionRecord.created_at, DecisionRecord.decision_id)).all()
    transfers = session.execute(
        select(TRANSFERS.c.created_at, TRANSFERS.c.kind, TRANSFERS.c.amount_minor)
        .where(TRANSFERS.c.line_id == line.line_id).order_by(TRANSFERS.c.transfer_id)).all()
    events: list[tuple[datetime, int, str, int]] = [(at, 0, "limit", amount) for at, amount in limits]
    events += [(at, 1, kind, amount) for at, kind, amount in transfers]
    events.sort(key=lambda event: (event[0], event[1]))
    limit = limits[0].amount_minor if limits else line.limit_minor
    posted = pending = 0
    by_day: dict[date, tuple[int, int]] = {line.created_at.date(): (limit, 0)}
    for at, _, kind, amount in events:
        if kind == "limit":
            limit = amount
        elif kind == "hold":
            pending += amount
        elif kind == "post":
            pending -= amount
            posted += amount
        elif kind in ("void", "expire"):
            pending -= amount
        elif kind == "reopen":  # a returned repayment, or paid principal refunded: exposure again
            posted += amount
        else:  # refund, repay, charge_off
            posted -= amount
        by_day[max(at.date(), line.created_at.date())] = (limit, posted + pending)
    by_day[max(now.date(), line.created_at.date())] = (line.limit_minor, line.exposure_minor)
    days = sorted(by_day)
    return LineHistory(limit=tuple((day, by_day[day][0]) for day in days),
                       exposure=tuple((day, by_day[day][1]) for day in days))


@dataclass(frozen=True)
class FirmBook:
    """The firm's receivables on the book (the first ones, by id) and its statement for the month to date."""

    receivables: tuple[ReceivableRow, ...]
    more: bool  # more receivables than shown: the CSV export has them all
    statement: Statement


def book_of_firm(session: Session, firm_id: int, now: datetime, *, shown: int = RECEIVABLES_SHOWN) -> FirmBook:
    """The firm's receivables with what each owes now, and its statement from the first of the month to now.

    The statement closes now, so its closing balance is what the receivables owe now and its
    ageing is by days past due now (:mod:`credit.servicing.statement`). At midnight on the first
    of a month, the month to date is empty: the statement is the previous month's.
    """
    page = list_receivables(session, firm_id=firm_id, limit=shown)
    month_start = datetime(now.year, now.month, 1)
    if month_start >= now:
        month_start = datetime(now.year - (now.month == 1), (now.month - 2) % 12 + 1, 1)
    return FirmBook(page.rows, page.next_cursor is not None,
                    statement(session, firm_id, period_start=month_start, period_end=now))


@dataclass(frozen=True)
class DecisionSummary:
    """One audited decision in a firm's history."""

    decision_id: str
    kind: str
    outcome: str
    grade: str | None
    amount_minor: int | None
    actor: str
    created_at: datetime
    reason: str | None
    parent_decision_id: str | None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


def decisions_of_firm(session: Session, firm_id: int, *, shown: int = DECISIONS_SHOWN) -> tuple[list[DecisionSummary], int]:
    """The firm's audited decisions, newest first.

    Parameters
    ----------
    shown
        Most decisions returned.

    Returns
    -------
    tuple
        The latest ``shown`` decisions as :class:`DecisionSummary`, and how many the firm has.
    """
    total = session.execute(select(func.count()).select_from(DecisionRecord)
                            .where(DecisionRecord.firm_id == firm_id)).scalar_one()
    rows = session.execute(
        select(DecisionRecord.decision_id, DecisionRecord.kind, DecisionRecord.outcome, DecisionRecord.grade,
               DecisionRecord.amount_minor, DecisionRecord.actor, DecisionRecord.created_at, DecisionRecord.request,
               DecisionRecord.parent_decision_id)
        .where(DecisionRecord.firm_id == firm_id)
        .order_by(DecisionRecord.created_at.desc(), DecisionRecord.decision_id).limit(shown)).all()
    return [DecisionSummary(r.decision_id, r.kind, r.outcome, r.grade, r.amount_minor, r.actor, r.created_at,
                            r.request.get("reason") if isinstance(r.request, dict) else None, r.parent_decision_id)
            for r in rows], total


@dataclass(frozen=True)
class WarningShown:
    """An early-warning reason of the latest monitoring run, in words, with its numbers."""

    code: str
    text: str
    details: Any


def early_warnings(session: Session, firm_id: int) -> tuple[WarningShown, ...]:
    """The firm's early-warning reasons in the latest monitoring run.

    Returns
    -------
    tuple of WarningShown
        Empty when the firm is not on the list, or no run is stored yet.
    """
    return tuple(shown for warning in warnings_of_firm(session, firm_id) for shown in warning_reasons(warning))


def warning_reasons(warning: EarlyWarning) -> tuple[WarningShown, ...]:
    """Each reason of an early warning with its text and its own numbers (``details[code]`` when present)."""
    return tuple(WarningShown(code, WARNING_REASONS.get(code, code), warning.details.get(code))
                 for code in warning.reasons)
