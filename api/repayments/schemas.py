"""Request and response schemas of repayments, returned payments and credit balance refunds.

Money comes in as :data:`~api.kit.money.AmountMinor` and goes out as
:data:`~api.kit.money.AmountOut` (decimal strings of major units).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.checkout.schemas import REFERENCE_PATTERN, BalancesOut
from api.kit.money import AmountMinor, AmountOut

_Id = Field(ge=1, le=2**63 - 1)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RepaymentIn(_Request):
    amount: AmountMinor = Field(description="Received from the buyer.")
    reference: str = Field(min_length=1, max_length=200, pattern=REFERENCE_PATTERN,
                           description="The payment's reference in the marketplace's payment system.")
    receivable_ids: list[int] | None = Field(
        default=None, min_length=1, max_length=500,
        description="The receivables the payment names (remittance advice): only they are paid, oldest due first, "
                    "and the rest becomes credit balance. Omitted: every owed receivable, oldest due first.")


class AllocationOut(BaseModel):
    receivable_id: int | None = Field(description="The receivable paid; null for a refund of credit balance.")
    part: Literal["late_fee", "fee", "principal", "credit_refund"]
    amount: AmountOut = Field(description="Negative when money was taken back (a returned payment).")


class RepaymentOut(BaseModel):
    """A repayment booked: where its money went and what it left as credit balance."""

    repayment_id: int
    line_id: int
    amount: AmountOut
    reference: str
    allocations: list[AllocationOut]
    credit_balance: AmountOut = Field(description="The buyer's credit balance on the line after it.")
    line_unfrozen: bool = Field(description="Whether it cured the line and lifted a freeze servicing had put on it.")
    balances: BalancesOut


class ReturnIn(_Request):
    reason: str = Field(min_length=1, max_length=200, description="Why the bank returned it (e.g. `insufficient_funds`).")


class ReturnOut(BaseModel):
    """A returned repayment: what it paid is owed again; the line may have gone over its limit and frozen."""

    repayment_id: int
    line_id: int
    status: Literal["returned"] = "returned"
    reversed: list[AllocationOut]
    credit_balance: AmountOut
    line_status: Literal["active", "frozen", "closed"]
    balances: BalancesOut


class CreditRefundIn(_Request):
    amount: AmountMinor = Field(description="Credit balance paid back to the buyer.")
    reference: str = Field(min_length=1, max_length=200, pattern=REFERENCE_PATTERN,
                           description="The payout's reference in the payment system.")


class CreditBalanceOut(BaseModel):
    line_id: int
    credit_balance: AmountOut = Field(description="Received and not yet applied to receivables or refunded.")
