"""Credit-line applications and booked financings (migration ``0006_applications``).

The audit trail (:mod:`credit.audit`) keeps every decision, append-only; these two tables keep
the little mutable state the service needs on top of it:

* ``credit_line_applications``: one row per application, keyed by its decision. Its status
  moves once, from ``referred`` to ``reviewed``, by a guarded UPDATE, so an application is
  reviewed at most once even when two reviewers press the button together.
* ``financings``: one row per booked advance (order or receivable). The UNIQUE constraints
  on ``invoice_id`` and ``order_id`` make "financed at most once" a database fact; exposure
  caps are summed over the rows still ``outstanding``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from credit.store.tables import Base, Identifier

APPLICATION_STATUSES: tuple[str, ...] = ("approved", "referred", "declined", "reviewed")
"""approved / declined: decided at once; referred: waits for the finance team; reviewed: it decided."""

FINANCING_KINDS: tuple[str, ...] = ("order", "receivable")
FINANCING_STATUSES: tuple[str, ...] = ("outstanding", "repaid")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return "(" + " OR ".join(f"{column} = '{v}'" for v in values) + ")"


class CreditLineApplicationRecord(Base):
    """A credit-line application: its decision, where it stands, and the line it opened."""

    __tablename__ = "credit_line_applications"
    __table_args__ = (
        CheckConstraint(_one_of("status", APPLICATION_STATUSES), name="status_allowed"),
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
    actor: Mapped[str] = mapped_column(String(100), nullable=False, doc="Who applied (API key name).")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When it was decided (UTC).")
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="Last status change (UTC).")


class Financing(Base):
    """An advance booked against a confirmed purchase order or an unpaid invoice."""

    __tablename__ = "financings"
    __table_args__ = (
        CheckConstraint(_one_of("kind", FINANCING_KINDS), name="kind_allowed"),
        CheckConstraint(_one_of("status", FINANCING_STATUSES), name="status_allowed"),
        CheckConstraint("advance_minor > 0", name="advance_positive"),
        CheckConstraint("fee_minor >= 0", name="fee_non_negative"),
        CheckConstraint("tenor_days >= 1", name="tenor_positive"),
        CheckConstraint("(kind = 'order' AND order_id IS NOT NULL AND invoice_id IS NULL) OR "
                        "(kind = 'receivable' AND invoice_id IS NOT NULL)", name="financed_object"),
        Index("ix_financings_buyer", "buyer_id", "kind", "status"),
        Index("ix_financings_supplier", "supplier_id", "kind", "status"),
    )

    financing_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True,
                                              doc="Financing identifier.")
    kind: Mapped[str] = mapped_column(String(10), nullable=False, doc="order or receivable.")
    decision_id: Mapped[str] = mapped_column(String(36), nullable=False, unique=True,
                                             doc="The approved quote this booking is.")
    supplier_id: Mapped[int] = mapped_column(ForeignKey("firms.firm_id"), nullable=False,
                                             doc="The supplier advanced to (creditor of a receivable).")
    buyer_id: Mapped[int] = mapped_column(ForeignKey("firms.firm_id"), nullable=False,
                                          doc="The order's buyer, or the invoice's debtor.")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.order_id"), unique=True,
                                                 doc="The purchase order financed (order financing: at most once).")
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.invoice_id"), unique=True,
                                                   doc="The invoice financed (receivables: at most once).")
    advance_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Amount advanced, minor units.",
                                               info={"money": True})
    fee_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Fee, minor units.", info={"money": True})
    tenor_days: Mapped[int] = mapped_column(Integer, nullable=False, doc="Days until repayment is expected.")
    status: Mapped[str] = mapped_column(String(11), nullable=False, doc="outstanding or repaid.")
    actor: Mapped[str] = mapped_column(String(100), nullable=False, doc="Who booked it (API key name).")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When it was booked (UTC).")
