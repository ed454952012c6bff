"""The score snapshot: every firm's PD, model inputs and reason codes as of a date (migration ``0005_scores``).

The batch job (:func:`credit.scoring.batch.score_all`) writes one row per eligible firm, as-of
date and model version; the decision service reads a firm's latest row
(:func:`credit.scoring.online.latest_score`) instead of rebuilding point-in-time features
inside a request. The row keeps exactly the model's inputs, so a later champion can re-score
it (:func:`credit.scoring.online.score_features`) and a decision can be replayed.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON, CheckConstraint, Date, DateTime, Double, ForeignKey, Index, Integer, String, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from credit.store.tables import Base, Identifier


class ScoreSnapshot(Base):
    """One firm's score as of a date under one model version."""

    __tablename__ = "firm_scores"
    __table_args__ = (
        CheckConstraint("pd >= 0 AND pd <= 1", name="pd_probability"),
        UniqueConstraint("firm_id", "as_of", "model_name", "model_version", name="uq_firm_scores_firm_as_of_model"),
        # latest_score: newest as-of, then newest run, read from the index alone with LIMIT 1
        Index("ix_firm_scores_latest", "firm_id", "as_of", "scored_at", "score_id"),
    )

    score_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True, doc="Row identifier.")
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.firm_id"), nullable=False, doc="Firm scored.")
    as_of: Mapped[date] = mapped_column(Date, nullable=False,
                                        doc="Features use only events before this date (midnight UTC).")
    model_name: Mapped[str] = mapped_column(String(200), nullable=False, doc="Registered PD model.")
    model_version: Mapped[str] = mapped_column(String(50), nullable=False, doc="Its registry version.")
    pd: Mapped[float] = mapped_column(Double, nullable=False,
                                      doc="Calibrated 12-month probability of default (a probability, not money).")
    features: Mapped[dict] = mapped_column(JSON, nullable=False,
                                           doc="The model's inputs by name: numbers, category labels as text, "
                                               "null for missing.")
    reason_codes: Mapped[list] = mapped_column(JSON, nullable=False,
                                               doc="Ordered codes of credit.models.reasons.REASON_CATALOGUE.")
    reason_catalogue_version: Mapped[int] = mapped_column(Integer, nullable=False,
                                                          doc="credit.models.reasons.REASON_CATALOGUE_VERSION.")
    scored_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When the batch ran, UTC.")
