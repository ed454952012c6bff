"""Request and response schemas of the financing book: lifecycle steps, a financing, pages, a supplier's statement.

Money comes in as :data:`~api.kit.money.AmountMinor` and goes out as
:data:`~api.kit.money.AmountOut` (decimal strings of major units); rates are exact decimals
shown as strings. Times are UTC; business days are dates.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.checkout.schemas import REFERENCE_PATTERN
from api.kit.contract import Day, UtcDateTime
from api.kit.money import AmountMinor, AmountOut

FinancingKind = Literal["order", "receivable", "loan"]
FinancingStatus = Literal["approved", "paid_out", "invoiced", "overdue", "recourse", "defaulted", "settled",
                          "written_off", "cancelled"]
EntryKind = Literal["payout", "collection", "recovery", "fee", "dilution", "release", "write_off"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PayoutIn(_Request):
    reference: str = Field(min_length=1, max_length=200, pattern=REFERENCE_PATTERN,
                           description="The payout's reference in the payment system; books once per caller.")
    value_date: Day = Field(description="The day the money left (YYYY-MM-DD): not before the booking, not after "
                                         "today. Fees accrue from it.")


class MoneyReceivedIn(_Request):
    amount: AmountMinor = Field(description="Received: principal is repaid first, then the fee; what is left is "
                                            "released to the supplier (a loan refuses more than it owes).")
    reference: str = Field(min_length=1, max_length=200, pattern=REFERENCE_PATTERN,
                           description="The payment's reference in the payment system; books once per caller "
                                       "(a line repayment's references included).")


class EntryOut(BaseModel):
    """One signed row of the financing's journal."""

    entry_id: int
    kind: EntryKind
    part: Literal["principal", "fee", "surplus"]
    amount: AmountOut = Field(description="Negative when it reverses.")
    source: str = Field(description="What caused it: 'payout:<reference>', 'api:<reference>', 'payment:<id>', ...")
    booked_on: date = Field(description="The business day it belongs to.")
    decision_id: str | None = Field(description="The audited decision that booked it, if any.")
    actor: str
    created_at: UtcDateTime


class FinancingItemOut(BaseModel):
    """A financing as it stands: its terms and its journal's totals. outstanding = paid out − collected −
    recovered − written off; fee owed = fee charged − fee collected − fee recovered − fee written off."""

    financing_id: int
    kind: FinancingKind
    status: FinancingStatus
    decision_id: str = Field(description="The approved quote (or accepted loan offer) it books.")
    supplier_id: int = Field(description="The firm advanced to: the supplier, or the loan's borrower.")
    buyer_id: int | None = Field(description="The order's buyer or the invoice's debtor; null for a loan.")
    order_id: int | None
    invoice_id: int | None
    offer_id: int | None
    recourse: bool = Field(description="Whether the supplier repays if the debtor does not.")
    annual_rate: Decimal | None = Field(description="Order financing: the yearly rate the fee accrues at.")
    withholding_rate: Decimal | None = Field(description="Loans: the share of each later sale withheld.")
    period_days: int | None = Field(description="Loans: the length of a minimum-repayment period.")
    tenor_days: int
    due_on: date | None
    payout_reference: str | None
    value_date: date | None = Field(description="The payout's value date: fees accrue from it.")
    created_at: UtcDateTime
    updated_at: UtcDateTime
    closed_at: UtcDateTime | None
    face: AmountOut = Field(description="What is financed: the PO value, the invoice's outstanding amount, "
                                        "or the loan amount.")
    advance: AmountOut
    fee_quoted: AmountOut = Field(description="The fee quoted (for an order advance, at its tenor).")
    reserve: AmountOut = Field(description="Receivables: the invoice's outstanding amount less the advance.")
    minimum: AmountOut = Field(description="Loans: the least to repay in each period.")
    paid_out: AmountOut
    collected: AmountOut = Field(description="Principal collected from the debtor or the borrower's sales.")
    recovered: AmountOut = Field(description="Principal recovered from the supplier (recourse, clawback).")
    written_off: AmountOut
    outstanding: AmountOut
    fee_charged: AmountOut
    fee_collected: AmountOut
    fee_recovered: AmountOut
    fee_written_off: AmountOut
    fee_owed: AmountOut
    diluted: AmountOut = Field(description="Receivables: the invoice's value lost after financing.")
    released: AmountOut = Field(description="Surplus paid to the supplier.")
    exposure: AmountOut = Field(description="What it puts at risk now: the advance while approved, the outstanding "
                                            "principal while open, 0 once closed.")


class FinancingOut(FinancingItemOut):
    """A financing with its journal."""

    entries: list[EntryOut]


class FinancingPageOut(BaseModel):
    """One page of financings in id order; pass `next_cursor` as `cursor` for the next one."""

    items: list[FinancingItemOut]
    next_cursor: str | None = Field(description="Opaque; null on the last page.")


class StatementFiguresOut(BaseModel):
    """closing = opening + paid out − collected − recovered − written off (principal)."""

    opening_outstanding: AmountOut
    paid_out: AmountOut
    collected: AmountOut
    recovered: AmountOut
    written_off: AmountOut
    closing_outstanding: AmountOut
    fees_charged: AmountOut
    fees_paid: AmountOut = Field(description="Fees collected or recovered.")
    fees_written_off: AmountOut
    diluted: AmountOut
    released: AmountOut = Field(description="Surplus paid to the supplier.")


class StatementLineOut(StatementFiguresOut):
    financing_id: int
    kind: FinancingKind
    buyer_id: int | None
    status: FinancingStatus = Field(description="Its status now.")


class FinancingStatementOut(StatementFiguresOut):
    """A supplier's financing statement over whole business days, its totals and one line per financing."""

    firm_id: int
    period_from: date
    period_to: date
    currency: str
    financings: list[StatementLineOut] = Field(description="Those outstanding at the opening or moved in the period.")
