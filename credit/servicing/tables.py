"""The servicing tables: the book's receivables, the repayments received and where they went.

* ``receivables`` is what a buyer owes the credit provider: one row per capture (a shipment on
  payment terms) or per installment of a split capture. Its amounts are integer minor units:
  ``principal_minor`` (captured), less ``refunded_minor`` (seller refunds) and
  ``rescheduled_minor`` (moved to installments), is the principal owed; ``fee_minor`` is the
  fee the buyer owes (terms fee when the buyer pays it, installment fee); ``late_fee_minor`` is
  what dunning added. ``paid_*`` are the net allocations to each part (cached from
  ``repayment_allocations``). While the receivable is not charged off, its open principal is
  posted exposure on the line: the open principal of a line's live receivables equals the
  line's ``posted_minor``.
* ``repayments`` is money the buyer sent: received, or returned by the bank afterwards.
  ``applied_minor`` is what its allocations and credit refunds took (cached); the rest is the
  buyer's credit balance: never negative, never lost.
* ``repayment_allocations`` is the append-only journal of where each repayment went: signed
  rows per receivable and part (a reversal is a negative row), and ``credit_refund`` rows for
  credit balance paid back to the buyer. Paid at any moment is the sum of rows booked before it.
* ``servicing_actions`` is every step the daily servicing job took (reminder, late fee, freeze,
  unfreeze, default, charge-off), once per subject, step and date, each with its audited decision.
* ``book_ageing`` is the daily ageing snapshot of each line (for roll rates and vintages).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from credit.store.tables import Base, Identifier, one_of

RECEIVABLE_KINDS: tuple[str, ...] = ("terms", "installment")
RECEIVABLE_STATUSES: tuple[str, ...] = (
    "open", "partially_paid", "paid", "overdue", "defaulted", "charged_off", "recovered", "rescheduled", "cancelled",
)
"""``rescheduled``: split into installments; ``cancelled``: refunded in full before anything was paid;
``recovered``: paid in full after a charge-off."""

WRITTEN_OFF: tuple[str, ...] = ("charged_off", "recovered")
"""Statuses whose open principal is no longer exposure (it moved to realised loss)."""

REPAYMENT_STATUSES: tuple[str, ...] = ("received", "returned")
ALLOCATION_PARTS: tuple[str, ...] = ("late_fee", "fee", "principal", "credit_refund")
ACTION_STEPS: tuple[str, ...] = ("reminder", "late_fee", "freeze", "unfreeze", "default", "charge_off")
AGEING_BUCKETS: tuple[str, ...] = ("current", "1-30", "31-60", "61-90", "90+")



def _money(doc: str) -> Mapped:
    return mapped_column(BigInteger, nullable=False, doc=doc, info={"money": True})


class Receivable(Base):
    """What a buyer owes the credit provider for one capture, or one installment of it."""

    __tablename__ = "receivables"
    __table_args__ = (
        CheckConstraint("principal_minor > 0", name="principal_positive"),
        CheckConstraint("refunded_minor >= 0 AND rescheduled_minor >= 0 AND paid_principal_minor >= 0",
                        name="principal_parts_non_negative"),
        CheckConstraint("refunded_minor + rescheduled_minor + paid_principal_minor <= principal_minor",
                        name="principal_not_overpaid"),
        CheckConstraint("paid_fee_minor >= 0 AND paid_fee_minor <= fee_minor", name="fee_not_overpaid"),
        CheckConstraint("paid_late_fee_minor >= 0 AND paid_late_fee_minor <= late_fee_minor",
                        name="late_fee_not_overpaid"),
        CheckConstraint("fee_minor >= 0 AND merchant_fee_minor >= 0 AND late_fee_minor >= 0",
                        name="fees_non_negative"),
        CheckConstraint("charged_off_minor >= 0 AND recovered_minor >= 0", name="loss_non_negative"),
        CheckConstraint("terms_days > 0", name="terms_positive"),
        CheckConstraint("due_at >= issued_at", name="due_after_issue"),
        CheckConstraint(one_of("kind", RECEIVABLE_KINDS), name="kind_allowed"),
        CheckConstraint(one_of("status", RECEIVABLE_STATUSES), name="status_allowed"),
        CheckConstraint("(kind = 'terms') = (parent_id IS NULL)", name="installment_has_parent"),
        Index("ix_receivables_line_due", "line_id", "due_at"),
        Index("ix_receivables_firm_due", "firm_id", "due_at"),
        Index("ix_receivables_hold", "hold_id"),
    )

    receivable_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True,
                                               doc="Receivable identifier, in booking order.")
    line_id: Mapped[int] = mapped_column(ForeignKey("credit_lines.line_id"), nullable=False,
                                         doc="Credit line whose exposure it is.")
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.firm_id"), nullable=False, doc="The buyer who owes it.")
    hold_id: Mapped[int] = mapped_column(ForeignKey("holds.hold_id"), nullable=False,
                                         doc="The order's authorization it was captured from.")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("receivables.receivable_id"),
                                                  doc="For an installment: the receivable it splits; else null.")
    kind: Mapped[str] = mapped_column(String(11), nullable=False,
                                      doc="terms (one capture on net terms) or installment.")
    installment_number: Mapped[int | None] = mapped_column(Integer, doc="1..count for an installment; else null.")
    installment_count: Mapped[int | None] = mapped_column(Integer, doc="Installments of the plan; else null.")
    shipment_reference: Mapped[str] = mapped_column(String(200), nullable=False,
                                                    doc="The capture's shipment reference.")
    terms_days: Mapped[int] = mapped_column(Integer, nullable=False,
                                            doc="Payment terms in days (net 30/60/90); months x 30 for a plan.")
    issued_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="Capture (or plan acceptance), UTC.")
    due_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When it must be paid, UTC.")
    principal_minor: Mapped[int] = _money("Captured amount (or the installment's share), minor units; > 0.")
    refunded_minor: Mapped[int] = _money("Principal taken off by seller refunds.")
    rescheduled_minor: Mapped[int] = _money("Principal moved to installments (all of it, for a rescheduled one).")
    fee_minor: Mapped[int] = _money("Fee the buyer owes (terms fee when the buyer pays it, installment fee).")
    merchant_fee_minor: Mapped[int] = _money("Terms fee the merchant pays (deducted from its payout); not owed here.")
    late_fee_minor: Mapped[int] = _money("Late fees assessed by dunning.")
    paid_principal_minor: Mapped[int] = _money("Principal paid (net of returned payments).")
    paid_fee_minor: Mapped[int] = _money("Fee paid.")
    paid_late_fee_minor: Mapped[int] = _money("Late fees paid.")
    charged_off_minor: Mapped[int] = _money("Principal moved from exposure to realised loss at charge-off.")
    recovered_minor: Mapped[int] = _money("Principal collected after the charge-off (reduces realised loss).")
    status: Mapped[str] = mapped_column(String(14), nullable=False,
                                        doc="open, partially_paid, paid, overdue, defaulted, charged_off, "
                                            "recovered, rescheduled or cancelled.")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When it was booked (UTC).")
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="Last change (UTC).")


class Repayment(Base):
    """Money a buyer sent to repay its line: received, then possibly returned by the bank."""

    __tablename__ = "repayments"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("applied_minor >= 0 AND applied_minor <= amount_minor", name="applied_within_amount"),
        CheckConstraint(one_of("status", REPAYMENT_STATUSES), name="status_allowed"),
        CheckConstraint("(status = 'returned') = (returned_at IS NOT NULL)", name="returned_when_returned"),
        Index("ix_repayments_line", "line_id", "repayment_id"),
    )

    repayment_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True,
                                              doc="Repayment identifier, in booking order.")
    line_id: Mapped[int] = mapped_column(ForeignKey("credit_lines.line_id"), nullable=False, doc="Line repaid.")
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.firm_id"), nullable=False, doc="The buyer who paid.")
    reference: Mapped[str] = mapped_column(String(200), nullable=False,
                                           doc="The payment's reference in the payment system.")
    received_by: Mapped[str] = mapped_column(String(100), nullable=False,
                                             doc="Who booked it (the API key holder's name, or a job).")
    amount_minor: Mapped[int] = _money("Amount received, minor units; > 0.")
    applied_minor: Mapped[int] = _money("Allocated to receivables or refunded from credit (net; cached).")
    status: Mapped[str] = mapped_column(String(8), nullable=False, doc="received or returned.")
    received_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When it was booked (UTC).")
    returned_at: Mapped[datetime | None] = mapped_column(DateTime, doc="When the bank returned it (UTC); else null.")
    return_reason: Mapped[str | None] = mapped_column(String(200), doc="Why it was returned, as the bank said.")


class RepaymentAllocation(Base):
    """One signed movement of a repayment's money: to a receivable's part, or back to the buyer."""

    __tablename__ = "repayment_allocations"
    __table_args__ = (
        CheckConstraint("amount_minor <> 0", name="amount_non_zero"),
        CheckConstraint(one_of("part", ALLOCATION_PARTS), name="part_allowed"),
        CheckConstraint("(part = 'credit_refund') = (receivable_id IS NULL)", name="receivable_unless_refund"),
        Index("ix_repayment_allocations_repayment", "repayment_id"),
        Index("ix_repayment_allocations_receivable", "receivable_id"),
    )

    allocation_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True,
                                               doc="Allocation identifier, in booking order.")
    repayment_id: Mapped[int] = mapped_column(ForeignKey("repayments.repayment_id"), nullable=False,
                                              doc="The money allocated.")
    receivable_id: Mapped[int | None] = mapped_column(ForeignKey("receivables.receivable_id"),
                                                      doc="Receivable paid; null for a credit refund.")
    part: Mapped[str] = mapped_column(String(13), nullable=False,
                                      doc="late_fee, fee, principal, or credit_refund (paid back to the buyer).")
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, info={"money": True},
                                              doc="Signed minor units: negative reverses (returned payment, refund).")
    reason: Mapped[str] = mapped_column(String(20), nullable=False,
                                        doc="payment, credit (from the credit balance), returned, refund, credit_refund, "
                                            "fee_waiver (a plan's unused fee given back at early settlement).")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When it was booked (UTC).")


class ServicingAction(Base):
    """A step the servicing job took for a receivable or a line on one date, with its audited decision."""

    __tablename__ = "servicing_actions"
    __table_args__ = (
        CheckConstraint(one_of("step", ACTION_STEPS), name="step_allowed"),
        UniqueConstraint("subject", "step_key", "as_of", name="once_per_day"),
        Index("ix_servicing_actions_line", "line_id", "as_of"),
    )

    action_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True,
                                           doc="Action identifier.")
    line_id: Mapped[int] = mapped_column(ForeignKey("credit_lines.line_id"), nullable=False, doc="Line concerned.")
    receivable_id: Mapped[int | None] = mapped_column(ForeignKey("receivables.receivable_id"),
                                                      doc="Receivable concerned; null for a line step.")
    subject: Mapped[str] = mapped_column(String(30), nullable=False,
                                         doc="receivable:<id> or line:<id>: what the step is about.")
    step: Mapped[str] = mapped_column(String(10), nullable=False,
                                      doc="reminder, late_fee, freeze, unfreeze, default or charge_off.")
    step_key: Mapped[str] = mapped_column(String(30), nullable=False,
                                          doc="The step and its day offset, e.g. reminder:-3, late_fee:7.")
    reason_code: Mapped[str] = mapped_column(String(40), nullable=False, doc="Why (a servicing reason code).")
    days_past_due: Mapped[int] = mapped_column(Integer, nullable=False,
                                               doc="Days past due (negative: days before due) when taken.")
    amount_minor: Mapped[int | None] = mapped_column(BigInteger, info={"money": True},
                                                     doc="Amount booked by the step (late fee, charge-off).")
    decision_id: Mapped[str] = mapped_column(String(36), nullable=False, doc="The audited decision of the step.")
    as_of: Mapped[date] = mapped_column(Date, nullable=False, doc="The servicing day it was taken for.")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When it was booked (UTC).")


class BookAgeing(Base):
    """A line's ageing at the end of one servicing day: the roll-rate and vintage source."""

    __tablename__ = "book_ageing"
    __table_args__ = (
        CheckConstraint(one_of("bucket", AGEING_BUCKETS), name="bucket_allowed"),
        CheckConstraint("open_minor >= 0 AND overdue_minor >= 0", name="amounts_non_negative"),
    )

    as_of: Mapped[date] = mapped_column(Date, primary_key=True, doc="The servicing day.")
    line_id: Mapped[int] = mapped_column(ForeignKey("credit_lines.line_id"), primary_key=True, doc="The line.")
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.firm_id"), nullable=False, doc="The buyer.")
    days_past_due: Mapped[int] = mapped_column(Integer, nullable=False, doc="The buyer's days past due on the book.")
    bucket: Mapped[str] = mapped_column(String(7), nullable=False,
                                        doc="current, 1-30, 31-60, 61-90 or 90+ (charged off counts as 90+).")
    open_minor: Mapped[int] = _money("Everything owed on the book's receivables (principal, fees, late fees).")
    overdue_minor: Mapped[int] = _money("Of which past due.")
    charged_off_minor: Mapped[int] = _money("Realised loss of the line so far, net of recoveries.")
