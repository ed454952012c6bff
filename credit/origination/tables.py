"""Credit-line applications (migration ``0006_applications``).

The audit trail (:mod:`credit.audit`) keeps every decision, append-only; this table keeps
the little mutable state the service needs on top of it:

* ``credit_line_applications``: one row per application, keyed by its decision. Its status
  moves once, from ``referred`` to ``reviewed``, by a guarded UPDATE, so an application is
  reviewed at most once even when two reviewers press the button together.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from credit.store.tables import Base, Identifier, one_of

APPLICATION_STATUSES: tuple[str, ...] = ("approved", "referred", "declined", "reviewed")
"""approved / declined: decided at once; referred: waits for the finance team; reviewed: it decided."""




class CreditLineApplicationRecord(Base):
    """A credit-line application: its decision, where it stands, and the line it opened."""

    __tablename__ = "credit_line_applications"
    __table_args__ = (
        CheckConstraint(one_of("status", APPLICATION_STATUSES), name="status_allowed"),
        CheckConstraint("(status = 'reviewed') = (review_decision_id IS NOT NULL)", name="reviewed_has_review"),
        Index("ix_credit_line_applications_status", "status", "created_at"),
        Index("ix_credit_line_applications_firm", "firm_id", "created_at"),
    )

    # Decisions and lines are named without foreign keys: they live on other migration
    # branches (see migration 0006_applications); each row is written with its decision.
    decision_id: Mapped[str] = mapped_column(String(36), primary_key=True,
                                             doc="The application's decision (kind credit_line_application).")
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.firm_id"), nullable=False, doc="The applying buyer.")
    status: Mapped[str] = mapped_column(String(8), nullable=False,
                                        doc="approved, referred, declined, or reviewed (by the finance team).")
    review_decision_id: Mapped[str | None] = mapped_column(
        String(36), unique=True, doc="The finance team's review decision, once reviewed.")
    line_id: Mapped[int | None] = mapped_column(Identifier, doc="The credit line opened on approval; null otherwise.")
    score_as_of: Mapped[date | None] = mapped_column(Date, doc="The batch date of the score the decision used.")
    actor: Mapped[str] = mapped_column(String(100), nullable=False,
                                       doc="Who applied: key:<id> of the API key (its name before 0020).")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When it was decided (UTC).")
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="Last status change (UTC).")
