"""The financing tables: every advance the provider makes, and the journal of money that moved on it.

Three products share one table, so that one query gives a firm's financing exposure:

* ``order``: an advance to a supplier against a confirmed purchase order of ``buyer_id``;
  once the order is invoiced the advance is carried by that invoice (``invoice_id`` is set).
* ``receivable``: an advance to a supplier against one unpaid invoice of ``buyer_id``
  (factoring); the part of the invoice not advanced is the ``reserve_minor``.
* ``loan``: a transaction-flow loan to ``supplier_id`` (the borrower, a seller), repaid by
  withholding a share of each of its later sales; it has no buyer.

``financing_entries`` is the append-only journal of each financing: signed rows, one per
movement of money or of what is owed (a reversal is a negative row). The ``*_minor`` totals on
``financings`` are caches of it, moved only by :func:`credit.financing.journal.post`, in the same
transaction as the rows. What the provider has at risk on a financing is

    outstanding = paid out - collected - recovered - written off      (principal)

with ``collected`` from the debtor (or from the borrower's sales), ``recovered`` from the
supplier (recourse, clawback), ``written off`` booked as a loss. Fees are owed on top:
``fee_charged - fee_collected``. A financing is exposure from its approval (``approved``, like a
hold) until nothing of its principal is outstanding.

``loan_offers`` are the pre-qualified offers of the daily job, one live offer per firm.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from credit.store.tables import Base, Identifier, one_of

FINANCING_KINDS: tuple[str, ...] = ("order", "receivable", "loan")

FINANCING_STATUSES: tuple[str, ...] = (
    "approved", "paid_out", "invoiced", "overdue", "recourse", "defaulted", "settled", "written_off", "cancelled",
)
"""
approved: booked, not yet paid out (already exposure); paid_out: the money left;
invoiced: (order) the order shipped and its invoice now carries the advance;
overdue: (loan) a period's minimum was missed, (receivable) the debtor is past due;
recourse: the supplier was asked to repay (order cancelled, advance overdue, debtor default with
recourse, dilution beyond the reserve); defaulted: the debtor defaulted without recourse;
settled: principal and fee repaid; written_off: what was left is a realised loss;
cancelled: approved but never paid out.
"""

OPEN_STATUSES: tuple[str, ...] = ("approved", "paid_out", "invoiced", "overdue", "recourse", "defaulted")
"""Statuses that still count as exposure."""

CLOSED_STATUSES: tuple[str, ...] = ("settled", "written_off", "cancelled")

ENTRY_KINDS: tuple[str, ...] = (
    "payout", "collection", "recovery", "fee", "dilution", "release", "write_off",
)
"""
payout: money advanced (principal +); collection: paid by the debtor or withheld from the
borrower's sales (principal or fee); recovery: paid by the supplier under recourse or clawback
(principal or fee); fee: fee charged (accrued, flat, or waived when negative); dilution: the
invoice's collectible value fell after financing (returns, credit notes, a lost dispute);
release: surplus paid to the supplier (the reserve less the fee, or what a collection left over);
write_off: principal or fee moved to realised loss.
"""

ENTRY_PARTS: tuple[str, ...] = ("principal", "fee", "surplus")

CACHED: dict[tuple[str, str], str] = {
    ("payout", "principal"): "paid_out_minor",
    ("collection", "principal"): "collected_minor",
    ("collection", "fee"): "fee_collected_minor",
    ("recovery", "principal"): "recovered_minor",
    ("recovery", "fee"): "fee_recovered_minor",
    ("fee", "fee"): "fee_charged_minor",
    ("dilution", "surplus"): "diluted_minor",
    ("release", "surplus"): "released_minor",
    ("write_off", "principal"): "written_off_minor",
    ("write_off", "fee"): "fee_written_off_minor",
}
"""Which cached total of ``financings`` each (entry kind, part) moves; no other pair is allowed."""

OFFER_STATUSES: tuple[str, ...] = ("open", "accepted", "expired", "withdrawn")



def _money(doc: str) -> Mapped[int]:
    return mapped_column(BigInteger, nullable=False, default=0, doc=doc, info={"money": True})


class Financing(Base):
    """One advance: order financing, receivables financing or a transaction-flow loan."""

    __tablename__ = "financings"
    __table_args__ = (
        CheckConstraint(one_of("kind", FINANCING_KINDS), name="kind_allowed"),
        CheckConstraint(one_of("status", FINANCING_STATUSES), name="status_allowed"),
        CheckConstraint("advance_minor > 0", name="advance_positive"),
        CheckConstraint("fee_minor >= 0", name="fee_non_negative"),
        CheckConstraint("tenor_days >= 1", name="tenor_positive"),
        CheckConstraint("(kind = 'order' AND order_id IS NOT NULL AND buyer_id IS NOT NULL) OR "
                        "(kind = 'receivable' AND invoice_id IS NOT NULL AND buyer_id IS NOT NULL) OR "
                        "(kind = 'loan' AND buyer_id IS NULL AND order_id IS NULL AND invoice_id IS NULL)",
                        name="financed_object"),
        CheckConstraint("paid_out_minor >= 0 AND paid_out_minor <= advance_minor", name="paid_out_within_advance"),
        CheckConstraint("collected_minor >= 0 AND recovered_minor >= 0 AND written_off_minor >= 0",
                        name="principal_parts_non_negative"),
        CheckConstraint("collected_minor + recovered_minor + written_off_minor <= paid_out_minor",
                        name="principal_not_overpaid"),
        CheckConstraint("fee_charged_minor >= 0 AND fee_collected_minor >= 0 AND fee_recovered_minor >= 0 "
                        "AND fee_written_off_minor >= 0", name="fee_parts_non_negative"),
        CheckConstraint("fee_collected_minor + fee_recovered_minor + fee_written_off_minor <= fee_charged_minor",
                        name="fee_not_overpaid"),
        CheckConstraint("reserve_minor >= 0 AND diluted_minor >= 0 AND released_minor >= 0",
                        name="reserve_parts_non_negative"),
        Index("ix_financings_buyer", "buyer_id", "status"),
        Index("ix_financings_supplier", "supplier_id", "status"),
        Index("ix_financings_kind_status", "kind", "status", "financing_id"),
    )

    financing_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True,
                                              doc="Financing identifier.")
    kind: Mapped[str] = mapped_column(String(10), nullable=False, doc="order, receivable or loan.")
    decision_id: Mapped[str] = mapped_column(String(36), nullable=False, unique=True,
                                             doc="The approved quote (or accepted loan offer) this booking is.")
    supplier_id: Mapped[int] = mapped_column(ForeignKey("firms.firm_id"), nullable=False,
                                             doc="The firm advanced to: the supplier, or the loan's borrower.")
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("firms.firm_id"),
                                                 doc="The order's buyer or the invoice's debtor; null for a loan.")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.order_id"), unique=True,
                                                 doc="The purchase order financed (order financing: at most once).")
    invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices.invoice_id"), unique=True,
        doc="The invoice financed (receivables), or carrying an order's advance once invoiced: at most once either way.")
    offer_id: Mapped[int | None] = mapped_column(Identifier, unique=True,
                                                 doc="The loan offer accepted (loans only).")
    face_minor: Mapped[int] = _money("What is financed: the PO value, the invoice's outstanding amount, "
                                     "or the loan amount.")
    advance_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Amount to advance, minor units.",
                                               info={"money": True})
    fee_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, info={"money": True},
                                           doc="Fee quoted: the flat fee (receivable, loan), or for an order "
                                               "advance the fee at its tenor (it accrues per day in fact).")
    annual_rate: Mapped[str | None] = mapped_column(
        String(40), doc="Order financing: the yearly rate the fee accrues at per day outstanding (decimal text).")
    reserve_minor: Mapped[int] = _money("Receivables: the invoice's outstanding amount less the advance.")
    withholding_rate: Mapped[str | None] = mapped_column(
        String(40), doc="Loans: the share of each later sale withheld to repay (decimal text).")
    minimum_minor: Mapped[int] = _money("Loans: the least to be repaid in each period.")
    period_days: Mapped[int | None] = mapped_column(Integer, doc="Loans: the length of a minimum-repayment period.")
    recourse: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True,
                                           doc="Whether the supplier repays if the debtor does not.")
    tenor_days: Mapped[int] = mapped_column(Integer, nullable=False, doc="Days until repayment is expected.")
    due_on: Mapped[date | None] = mapped_column(
        Date, doc="When repayment is expected (payout + tenor; a receivable's due date + collection days).")
    status: Mapped[str] = mapped_column(String(11), nullable=False, doc="See FINANCING_STATUSES.")
    payout_reference: Mapped[str | None] = mapped_column(String(200), doc="The payments team's payout reference.")
    value_date: Mapped[date | None] = mapped_column(Date, doc="The payout's value date: fees accrue from it.")
    paid_out_minor: Mapped[int] = _money("Paid out to the supplier or borrower.")
    collected_minor: Mapped[int] = _money("Principal collected from the debtor or the borrower's sales.")
    recovered_minor: Mapped[int] = _money("Principal recovered from the supplier (recourse, clawback).")
    written_off_minor: Mapped[int] = _money("Principal written off as a realised loss.")
    fee_charged_minor: Mapped[int] = _money("Fee charged so far (accrued or flat).")
    fee_collected_minor: Mapped[int] = _money("Fee collected from the debtor or the borrower's sales.")
    fee_recovered_minor: Mapped[int] = _money("Fee recovered from the supplier.")
    fee_written_off_minor: Mapped[int] = _money("Fee written off.")
    diluted_minor: Mapped[int] = _money("Receivables: the invoice's value lost after financing.")
    released_minor: Mapped[int] = _money("Surplus paid to the supplier (reserve less fee, overpayment).")
    actor: Mapped[str] = mapped_column(String(100), nullable=False,
                                       doc="Who booked it: key:<id> of the API key (its name before 0020).")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When it was booked (UTC).")
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="Last change (UTC).")
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, doc="When it was settled, written off or cancelled.")


class FinancingEntry(Base):
    """One signed row of a financing's journal; the totals on ``financings`` are its sums."""

    __tablename__ = "financing_entries"
    __table_args__ = (
        CheckConstraint(one_of("kind", ENTRY_KINDS), name="kind_allowed"),
        CheckConstraint(one_of("part", ENTRY_PARTS), name="part_allowed"),
        CheckConstraint("amount_minor <> 0", name="amount_not_zero"),
        UniqueConstraint("financing_id", "source"),
        Index("ix_financing_entries_financing", "financing_id", "entry_id"),
        Index("ix_financing_entries_booked", "booked_on", "kind"),
    )

    entry_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True, doc="Entry identifier.")
    financing_id: Mapped[int] = mapped_column(ForeignKey("financings.financing_id"), nullable=False,
                                              doc="The financing.")
    kind: Mapped[str] = mapped_column(String(10), nullable=False, doc="See ENTRY_KINDS.")
    part: Mapped[str] = mapped_column(String(9), nullable=False, doc="principal, fee or surplus.")
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, info={"money": True},
                                              doc="Signed amount, minor units (negative reverses).")
    source: Mapped[str] = mapped_column(
        String(200), nullable=False,
        doc="What caused it, unique per financing so nothing is booked twice: 'payment:<id>' (an ingested "
            "payment), 'api:<reference>' (posted through the API), 'return:<id>', 'day:<date>:<step>', ...")
    booked_on: Mapped[date] = mapped_column(Date, nullable=False, doc="The business day it belongs to.")
    decision_id: Mapped[str | None] = mapped_column(String(36), doc="The audited decision that booked it, if any.")
    actor: Mapped[str] = mapped_column(String(100), nullable=False, doc="Who or which job booked it.")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When it was written (UTC).")


class LoanOffer(Base):
    """A pre-qualified transaction-flow loan offer of the daily job; one open offer per firm."""

    __tablename__ = "loan_offers"
    __table_args__ = (
        CheckConstraint(one_of("status", OFFER_STATUSES), name="status_allowed"),
        CheckConstraint("amount_minor > 0 AND fee_minor >= 0 AND minimum_minor > 0", name="amounts_valid"),
        Index("ix_loan_offers_firm", "firm_id", "status"),
    )

    offer_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True, doc="Offer identifier.")
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.firm_id"), nullable=False, doc="The seller offered to.")
    decision_id: Mapped[str] = mapped_column(String(36), nullable=False, unique=True,
                                             doc="The audited decision that made the offer.")
    as_of: Mapped[date] = mapped_column(Date, nullable=False, doc="The day the offer was computed for.")
    trailing_sales_minor: Mapped[int] = _money("The firm's platform sales over the trailing window.")
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, info={"money": True},
                                              doc="The most the firm may borrow.")
    fee_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, info={"money": True},
                                           doc="The one flat fee on the full amount.")
    withholding_rate: Mapped[str] = mapped_column(String(40), nullable=False,
                                                  doc="Share of each later sale withheld (decimal text).")
    minimum_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, info={"money": True},
                                               doc="The least to be repaid in each period.")
    period_days: Mapped[int] = mapped_column(Integer, nullable=False, doc="Days in a minimum-repayment period.")
    status: Mapped[str] = mapped_column(String(9), nullable=False, doc="open, accepted, expired or withdrawn.")
    expires_on: Mapped[date] = mapped_column(Date, nullable=False, doc="Last day it can be accepted.")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When it was made (UTC).")
