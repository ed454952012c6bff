"""The decision audit trail: every decision and every policy document it used, append-only.

Both tables are written with INSERT only; database triggers (migration ``0003_audit``) refuse
UPDATE and DELETE, so a stored decision can be replayed and compared, never rewritten.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from credit.store.tables import Base, one_of

DECISION_KINDS: tuple[str, ...] = (
    "credit_line_application", "credit_line_review", "line_change", "checkout", "order_financing",
    "receivable_financing", "dunning", "order_financing_step", "receivable_financing_step", "loan_offer", "loan_step",
)
OUTCOMES: tuple[str, ...] = ("approve", "refer", "decline")



class StoredPolicy(Base):
    """A policy document as it was used, kept so decisions replay under their own policy."""

    __tablename__ = "policies"

    policy_version: Mapped[str] = mapped_column(String(20), primary_key=True, doc="The policy's `version`.")
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True,
                                              doc="SHA-256 of the canonical content.")
    document: Mapped[str] = mapped_column(Text, nullable=False, doc="The YAML document exactly as read.")
    stored_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When it was first used.")


class DecisionRecord(Base):
    """One decision of any product: what was asked, what was used, what was decided and why."""

    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint(one_of("kind", DECISION_KINDS), name="kind_allowed"),
        CheckConstraint(one_of("outcome", OUTCOMES), name="outcome_allowed"),
        Index("ix_decisions_firm_created", "firm_id", "created_at"),
        Index("ix_decisions_kind_created", "kind", "created_at"),
    )

    decision_id: Mapped[str] = mapped_column(String(36), primary_key=True, doc="UUID of the decision.")
    kind: Mapped[str] = mapped_column(String(32), nullable=False, doc="Product and step decided.")
    firm_id: Mapped[int | None] = mapped_column(BigInteger, doc="The firm decided on (buyer, supplier or debtor).")
    request: Mapped[dict] = mapped_column(JSON, nullable=False, doc="The request as the caller sent it.")
    inputs: Mapped[dict] = mapped_column(JSON, nullable=False,
                                         doc="Everything the decision function read: feature values, PDs, "
                                             "exposures; replay re-runs the function on exactly this.")
    model_name: Mapped[str | None] = mapped_column(String(200), doc="Registered PD model that scored, if any.")
    model_version: Mapped[str | None] = mapped_column(String(50), doc="Its registry version.")
    policy_version: Mapped[str] = mapped_column(ForeignKey("policies.policy_version"), nullable=False)
    policy_hash: Mapped[str] = mapped_column(String(64), nullable=False, doc="Content hash of that policy.")
    reason_catalogue_version: Mapped[int] = mapped_column(Integer, nullable=False,
                                                          doc="credit.models.reasons.REASON_CATALOGUE_VERSION.")
    codes_catalogue_version: Mapped[int] = mapped_column(Integer, nullable=False,
                                                         doc="credit.decisions.codes.CODES_CATALOGUE_VERSION.")
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    grade: Mapped[str | None] = mapped_column(String(4), doc="Grade of the firm decided on, if graded.")
    amount_minor: Mapped[int | None] = mapped_column(BigInteger, doc="The headline amount: limit, advance or "
                                                                     "order amount.")
    amounts: Mapped[dict] = mapped_column(JSON, nullable=False, doc="Every amount of the decision, minor units.")
    rules_fired: Mapped[list] = mapped_column(JSON, nullable=False, doc="[{code, detail}] in order.")
    reason_codes: Mapped[list] = mapped_column(JSON, nullable=False, doc="Ordered reason codes.")
    next_actions: Mapped[list] = mapped_column(JSON, nullable=False, doc="Ordered next-action codes.")
    result: Mapped[dict] = mapped_column(JSON, nullable=False, doc="The whole decision as returned.")
    actor: Mapped[str] = mapped_column(String(100), nullable=False,
                                       doc="Caller: key:<id> of the API key (its name before 0020), or a job.")
    parent_decision_id: Mapped[str | None] = mapped_column(
        ForeignKey("decisions.decision_id"), doc="The decision this one follows, e.g. the application a review "
                                                 "decides.")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="UTC.")
