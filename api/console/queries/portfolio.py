"""The book: open lines by grade with exposure and expected loss, utilisation, application rates.

Expected loss is summed in ``Decimal`` and rounded once, per total; everything else is integer minor units.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from credit.audit import DecisionRecord
from credit.ledger.journal import LINES
from credit.origination.tables import CreditLineApplicationRecord as Application
from credit.policy import Policy
from credit.scoring.tables import ScoreSnapshot

UTILISATION_BANDS: tuple[tuple[str, int, int], ...] = (
    ("0%", 0, 0), ("1–25%", 0, 25), ("25–50%", 25, 50), ("50–75%", 50, 75), ("75–90%", 75, 90), ("90–100%", 90, 100),
)
"""(label, above, up to) in percent of the limit used; the first band is lines with nothing used."""


@dataclass
class GradeExposure:
    """Lines of one grade: how many, their limits, exposure (posted + pending) and expected loss."""

    grade: str
    lines: int = 0
    limit_minor: int = 0
    exposure_minor: int = 0
    expected_loss: Decimal = field(default_factory=Decimal)

    @property
    def expected_loss_minor(self) -> int:
        """Expected loss rounded once to minor units (half to even)."""
        return int(self.expected_loss.to_integral_value(ROUND_HALF_EVEN))

    @property
    def utilisation(self) -> Decimal | None:
        return Decimal(self.exposure_minor) / Decimal(self.limit_minor) if self.limit_minor else None


@dataclass(frozen=True)
class ApplicationRates:
    """Credit-line applications by how they were decided."""

    total: int
    approved: int
    referred_waiting: int
    reviewed_approved: int
    reviewed_declined: int
    declined: int

    @property
    def referred(self) -> int:
        """Referred to the finance team, reviewed since or not."""
        return self.referred_waiting + self.reviewed_approved + self.reviewed_declined

    def rate(self, number: int) -> Decimal | None:
        return Decimal(number) / Decimal(self.total) if self.total else None


@dataclass(frozen=True)
class MonthlyRates:
    month: date
    rates: ApplicationRates


@dataclass(frozen=True)
class Portfolio:
    """The book: exposure and expected loss by grade, utilisation, application rates."""

    grades: tuple[GradeExposure, ...]
    total: GradeExposure
    utilisation: tuple[tuple[str, int], ...]
    frozen_lines: int
    rates: ApplicationRates
    monthly: tuple[MonthlyRates, ...]
    loss_given_default: Decimal
    scores_as_of: date | None


def portfolio(session: Session, policy: Policy) -> Portfolio:
    """Open lines by the firm's current grade, with expected loss = PD x LGD x exposure.

    PD is the firm's latest batch score (``firm_scores``: newest as-of, newest run), graded
    on the policy's master scale; LGD is the policy's ``credit_line.limit.loss_given_default``;
    exposure is posted plus pending. Lines of firms never scored are the grade ``unscored``
    (no expected loss). Closed lines are left out.

    Returns
    -------
    Portfolio
    """
    lgd = policy.credit_line.limit.loss_given_default
    lines = session.execute(select(LINES.c.firm_id, LINES.c.status, LINES.c.limit_minor, LINES.c.posted_minor,
                                   LINES.c.pending_minor).where(LINES.c.status != "closed")).all()
    firm_ids = [line.firm_id for line in lines]
    latest: dict[int, tuple[date, Decimal]] = {}
    for start in range(0, len(firm_ids), 500):  # IN lists of bounded size
        chunk = firm_ids[start:start + 500]
        for firm_id, as_of, pd_ in session.execute(
                select(ScoreSnapshot.firm_id, ScoreSnapshot.as_of, ScoreSnapshot.pd)
                .where(ScoreSnapshot.firm_id.in_(chunk))
                .order_by(ScoreSnapshot.firm_id, ScoreSnapshot.as_of, ScoreSnapshot.scored_at, ScoreSnapshot.score_id)):
            latest[firm_id] = (as_of, Decimal(repr(float(pd_))))
    by_grade = {grade: GradeExposure(grade) for grade in policy.grades}
    total = GradeExposure("all")
    bands = dict.fromkeys((label for label, _, _ in UTILISATION_BANDS), 0)
    frozen = 0
    for line in lines:
        exposure = line.posted_minor + line.pending_minor
        score = latest.get(line.firm_id)
        grade = policy.grade_of(score[1]) if score else "unscored"
        bucket = by_grade.setdefault(grade, GradeExposure(grade))
        loss = score[1] * lgd * exposure if score else Decimal(0)
        for target in (bucket, total):
            target.lines += 1
            target.limit_minor += line.limit_minor
            target.exposure_minor += exposure
            target.expected_loss += loss
        bands[utilisation_band(exposure, line.limit_minor)] += 1
        frozen += line.status == "frozen"
    rates, monthly = _application_rates(session)
    return Portfolio(grades=tuple(by_grade.values()), total=total, utilisation=tuple(bands.items()),
                     frozen_lines=frozen, rates=rates, monthly=monthly, loss_given_default=lgd,
                     scores_as_of=max((as_of for as_of, _ in latest.values()), default=None))


def utilisation_band(exposure_minor: int, limit_minor: int) -> str:
    """The band of :data:`UTILISATION_BANDS` of a line (integer arithmetic: exact at the edges)."""
    if exposure_minor <= 0:
        return UTILISATION_BANDS[0][0]
    for label, _, up_to in UTILISATION_BANDS[1:]:
        if exposure_minor * 100 <= up_to * limit_minor:
            return label
    return UTILISATION_BANDS[-1][0]


def _application_rates(session: Session) -> tuple[ApplicationRates, tuple[MonthlyRates, ...]]:
    review = aliased(DecisionRecord)
    rows = session.execute(select(Application.status, Application.created_at, review.outcome)
                           .outerjoin(review, review.decision_id == Application.review_decision_id)).all()
    months: dict[date, list] = defaultdict(list)
    for row in rows:
        months[row.created_at.date().replace(day=1)].append(row)
    return _rates(rows), tuple(MonthlyRates(month, _rates(months[month])) for month in sorted(months))


def _rates(rows: list) -> ApplicationRates:
    counts: dict[str, int] = defaultdict(int)
    for status, _, review_outcome in rows:
        counts[f"reviewed_{review_outcome}" if status == "reviewed" else status] += 1
    return ApplicationRates(total=len(rows), approved=counts["approved"], referred_waiting=counts["referred"],
                            reviewed_approved=counts["reviewed_approve"], reviewed_declined=counts["reviewed_decline"],
                            declined=counts["declined"])
