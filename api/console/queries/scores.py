"""The score a decision used beside the firm's score now, so no page shows a stale score alone.

"Now" is the firm page's score now (:func:`api.console.queries.firm.current_score`: the latest
batch score, re-scored by the champion when another model wrote it). Two scores differ when
their grades differ or their PDs do at the 6 places the service states PDs in
(:mod:`credit.probability`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from api.console.queries.firm import current_score
from credit.models.serving import ServingModel
from credit.policy import Policy
from credit.probability import pd_text


@dataclass(frozen=True)
class ScoreAt:
    """A grade and PD with the batch date of the score (None when not known)."""

    grade: str
    pd: Decimal
    as_of: date | None


@dataclass(frozen=True)
class ScoreThenAndNow:
    """The score a decision used (``then``) and the firm's score now (None: the firm has none now)."""

    then: ScoreAt
    now: ScoreAt | None

    @property
    def differs(self) -> bool:
        """Grade or PD (to 6 places) changed since the decision."""
        return self.now is not None and (self.now.grade, pd_text(self.now.pd)) != (self.then.grade,
                                                                                     pd_text(self.then.pd))

    @property
    def grade_moved(self) -> bool:
        return self.now is not None and self.now.grade != self.then.grade


def score_now(session: Session, firm_id: int, policy: Policy, model: ServingModel | None) -> ScoreAt | None:
    """The firm's score now, as its page shows it; None when it was never scored."""
    score = current_score(session, firm_id, policy, model)
    return None if score is None else ScoreAt(score.grade, score.pd, score.as_of)


def then_and_now(session: Session, firm_id: int, then: ScoreAt, policy: Policy,
                 model: ServingModel | None) -> ScoreThenAndNow:
    """The score a decision used beside the firm's score now.

    Parameters
    ----------
    session
        The request's session.
    firm_id
        The firm decided on.
    then
        The grade and PD the decision recorded, with the batch date of the score it read.
    policy
        Its master scale grades the PD now.
    model
        The champion the service runs (None: the stored score as it is).
    """
    return ScoreThenAndNow(then, score_now(session, firm_id, policy, model))
