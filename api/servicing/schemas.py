"""Response schemas of the book's receivables and a buyer's statement.

Money leaves as :data:`~api.kit.money.AmountOut`: minor units inside, a decimal string in major
units on the wire (``"1250.50"``). Times are UTC.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from api.kit.contract import UtcDateTime
from api.kit.money import AmountOut

ReceivableStatus = Literal["open", "partially_paid", "paid", "overdue", "defaulted", "charged_off", "recovered",
                           "rescheduled", "cancelled"]
AgeingBucketName = Literal["current", "1-30", "31-60", "61-90", "90+"]


class OwedOut(BaseModel):
    """What a receivable still owes, by part."""

    principal: AmountOut = Field(description="principal − refunded − rescheduled − paid principal.")
    fee: AmountOut = Field(description="fee − paid fee.")
    late_fee: AmountOut = Field(description="late fee − paid late fee.")
    total: AmountOut = Field(description="The three together: what the buyer must still pay on it.")


class ReceivableOut(BaseModel):
    """What a buyer owes the credit provider for one capture (or one installment of it), and what it paid."""

    receivable_id: int
    firm_id: int = Field(description="The buyer.")
    line_id: int
    hold_id: int = Field(description="The order's authorization it was captured from.")
    parent_id: int | None = Field(description="For an installment: the receivable it splits; else null.")
    kind: Literal["terms", "installment"]
    installment_number: int | None = Field(description="1..count for an installment; else null.")
    installment_count: int | None
    order_reference: str
    shipment_reference: str
    terms_days: int = Field(description="Payment terms in days (net 30/60/90).")
    issued_at: UtcDateTime = Field(description="Captured (or plan accepted), UTC.")
    due_at: UtcDateTime = Field(description="Due, UTC.")
    status: ReceivableStatus
    currency: str = Field(description="ISO 4217 code of the line's amounts.", examples=["EUR"])
    principal: AmountOut = Field(description="Captured.")
    refunded: AmountOut = Field(description="Principal taken off by seller refunds.")
    rescheduled: AmountOut = Field(description="Principal moved to installments.")
    fee: AmountOut = Field(description="Fee the buyer owes for the terms or the plan.")
    merchant_fee: AmountOut = Field(description="Terms fee the merchant pays; not owed by the buyer.")
    late_fee: AmountOut = Field(description="Late fees assessed by dunning.")
    paid_principal: AmountOut = Field(description="Principal paid, net of returned payments.")
    paid_fee: AmountOut
    paid_late_fee: AmountOut
    charged_off: AmountOut = Field(description="Principal written off to realised loss.")
    recovered: AmountOut = Field(description="Principal collected after the charge-off.")
    owed: OwedOut


class ReceivablePageOut(BaseModel):
    """One page of receivables in id order; pass `next_cursor` as `cursor` for the next one."""

    items: list[ReceivableOut]
    next_cursor: str | None = Field(description="Opaque; null on the last page.")


class AgeingBucketOut(BaseModel):
    bucket: AgeingBucketName = Field(description="Days past due at the statement's end: current (not past due), "
                                                 "1-30, 31-60, 61-90 or 90+.")
    receivables: int = Field(description="Receivables with something owed in the bucket.")
    owed: AmountOut


class StatementOut(BaseModel):
    """A buyer's statement: closing = opening + new receivables + fees − payments − adjustments."""

    firm_id: int
    line_id: int | None = Field(description="The buyer's credit line; null when it has none.")
    currency: str = Field(examples=["EUR"])
    period_from: date = Field(description="First day of the period (UTC), as asked.")
    period_to: date = Field(description="Last day of the period (UTC), as asked.")
    closing_at: UtcDateTime = Field(description="The moment the closing balance, credit balance and ageing are as of: "
                                             "the end of `period_to`, or now when that is still to come (UTC).")
    opening_balance: AmountOut = Field(description="Owed at the start of `period_from`.")
    new_receivables: AmountOut = Field(description="Principal captured in the period plus the buyer's fees on it.")
    fees: AmountOut = Field(description="Late fees assessed in the period.")
    payments: AmountOut = Field(description="Payments allocated in the period, net of returned payments.")
    adjustments: AmountOut = Field(description="Seller refunds in the period.")
    closing_balance: AmountOut = Field(description="Owed at `closing_at`.")
    credit_balance: AmountOut = Field(description="Money received and not yet applied, at `closing_at`.")
    ageing: list[AgeingBucketOut] = Field(description="What is owed at `closing_at`, by days past due then.")
