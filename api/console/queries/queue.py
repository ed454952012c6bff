"""The review queue: referred credit-line applications waiting for the finance team, filtered."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.console.queries.common import Reason, age_days, reasons_of
from api.console.queries.scores import ScoreAt, ScoreThenAndNow, score_now
from api.kit.money import to_minor
from credit.audit import DecisionRecord
from credit.models.serving import ServingModel
from credit.origination.tables import CreditLineApplicationRecord as Application
from credit.policy import Policy
from credit.store.tables import Firm

QUEUE_PAGE = 200
"""Most referred applications the queue lists at once (oldest first)."""


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters; None means "any". Limits are minor units, ages whole days."""

    grade: str | None = None
    min_limit_minor: int | None = None
    max_limit_minor: int | None = None
    reason: str | None = None
    min_age_days: int | None = None
    max_age_days: int | None = None


@dataclass(frozen=True)
class QueueItem:
    """A referred application as the queue lists it."""

    decision_id: str
    firm_id: int
    firm_name: str
    created_at: datetime
    age_days: int
    grade: str
    pd: Decimal
    limit_minor: int
    requested_limit_minor: int | None
    reasons: tuple[Reason, ...]
    score: ScoreThenAndNow  # at application (grade, pd) and now (only for the items listed)

    @property
    def referral_reasons(self) -> tuple[Reason, ...]:
        """Why the policy sent it to the finance team (the ``refer_*`` rules)."""
        return tuple(reason for reason in self.reasons if reason.code.startswith("refer_"))

    @property
    def risk_reasons(self) -> tuple[Reason, ...]:
        """Why the firm scored as risky, most important first (the model's codes)."""
        return tuple(reason for reason in self.reasons if reason.source == "model")


@dataclass(frozen=True)
class Queue:
    """The listed items, how many match the filters and how many wait in all."""

    items: tuple[QueueItem, ...]
    matching: int
    waiting: int
    reason_codes: tuple[Reason, ...]


def review_queue(session: Session, filters: QueueFilters, now: datetime, *, limit: int = QUEUE_PAGE,
                 policy: Policy | None = None, model: ServingModel | None = None) -> Queue:
    """Referred applications waiting for review, oldest first, filtered.

    Parameters
    ----------
    session
        The request's session.
    filters
        Grade, proposed-limit range (minor units, inclusive), a reason code the application
        carries, and its age in whole days (inclusive range).
    now
        The time ages are counted to (UTC).
    limit
        Most items listed; ``matching`` still counts them all.
    policy, model
        With a policy, each item listed carries the firm's score now beside the application's
        (:mod:`api.console.queries.scores`; ``model`` is the champion, if loaded). The grade
        filter reads the grade at application.

    Returns
    -------
    Queue
        The items; ``waiting`` counts every referred application, ``reason_codes`` the codes
        they carry (for the reason filter).
    """
    query = (select(Application.decision_id, Application.firm_id, Application.created_at, Application.score_as_of,
                    Firm.name,
                    DecisionRecord.grade, DecisionRecord.amount_minor, DecisionRecord.result,
                    DecisionRecord.request, DecisionRecord.reason_codes)
             .join(DecisionRecord, DecisionRecord.decision_id == Application.decision_id)
             .join(Firm, Firm.firm_id == Application.firm_id)
             .where(Application.status == "referred")
             .order_by(Application.created_at, Application.decision_id))
    every = session.execute(query).all()
    codes_seen: dict[str, None] = {}
    for row in every:
        for code in row.reason_codes:
            codes_seen.setdefault(code)
    matching = []
    for row in every:
        age = age_days(row.created_at, now)
        if filters.grade is not None and row.grade != filters.grade:
            continue
        if filters.min_limit_minor is not None and row.amount_minor < filters.min_limit_minor:
            continue
        if filters.max_limit_minor is not None and row.amount_minor > filters.max_limit_minor:
            continue
        if filters.reason is not None and filters.reason not in row.reason_codes:
            continue
        if filters.min_age_days is not None and age < filters.min_age_days:
            continue
        if filters.max_age_days is not None and age > filters.max_age_days:
            continue
        pd_ = Decimal(row.result["pd"])
        matching.append(QueueItem(
            decision_id=row.decision_id, firm_id=row.firm_id, firm_name=row.name, created_at=row.created_at,
            age_days=age, grade=row.grade, pd=pd_, limit_minor=row.amount_minor,
            requested_limit_minor=_requested_minor(row.request), reasons=reasons_of(row.reason_codes),
            score=ScoreThenAndNow(ScoreAt(row.grade, pd_, row.score_as_of), None)))
    listed = matching[:limit]
    if policy is not None:
        listed = [replace(item, score=replace(item.score, now=score_now(session, item.firm_id, policy, model)))
                  for item in listed]
    return Queue(items=tuple(listed), matching=len(matching), waiting=len(every),
                 reason_codes=reasons_of(sorted(codes_seen)))


def _requested_minor(request: dict) -> int | None:
    requested = request.get("requested_limit") if isinstance(request, dict) else None
    if requested is None:
        return None
    try:
        return to_minor(str(requested))
    except ValueError:
        return None
