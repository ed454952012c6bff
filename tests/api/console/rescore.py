"""A firm re-scored after its application: a new batch row in the store's ``firm_scores``, written as the batch writes it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy import select

from credit import clock
from credit.scoring.tables import ScoreSnapshot

ANOTHER_GRADE = {"E": Decimal("0.0123")}  # E's own move goes to D (1.23%: between D's bounds 1% and 2%)
DEFAULT_MOVE = Decimal("0.0259")  # grade E on the shipped master scale: above D's bound 2%, below E's 4%


def rescore(app: FastAPI, firm_id: int, then_grade: str) -> ScoreSnapshot:
    """Store a newer batch score of the firm, a day after its latest, in another grade than ``then_grade``.

    The row copies the latest row's model, features and reasons (so the champion, being that
    model, serves it as stored) with the PD of another grade: 2.59% (E), or 1.23% (D) when
    ``then_grade`` is E.
    """
    with app.state.sessionmaker() as session, session.begin():
        latest = session.execute(select(ScoreSnapshot).where(ScoreSnapshot.firm_id == firm_id)
                                 .order_by(ScoreSnapshot.as_of.desc(), ScoreSnapshot.scored_at.desc())
                                 .limit(1)).scalar_one()
        row = ScoreSnapshot(firm_id=firm_id, as_of=latest.as_of + timedelta(days=1), model_name=latest.model_name,
                            model_version=latest.model_version, pd=float(ANOTHER_GRADE.get(then_grade, DEFAULT_MOVE)),
                            features=dict(latest.features), reason_codes=list(latest.reason_codes),
                            reason_catalogue_version=latest.reason_catalogue_version, scored_at=clock.now())
        session.add(row)
        session.flush()
        session.expunge(row)
    return row
