"""Request and response schemas of installment plans and their early settlement.

Money comes in as :data:`~api.kit.money.AmountMinor` and goes out as
:data:`~api.kit.money.AmountOut` (decimal strings of major units); times are UTC.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.checkout.schemas import REFERENCE_PATTERN, BalancesOut
from api.kit.contract import UtcDateTime
from api.kit.money import AmountMinor, AmountOut
from api.repayments.schemas import AllocationOut
from credit.servicing.tables import RECEIVABLE_STATUSES

EarlyRepayment = Literal["refund_unused_fee", "keep_fee"]
ReceivableStatus = Literal[RECEIVABLE_STATUSES]  # type: ignore[valid-type]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InstallmentOut(BaseModel):
    number: int = Field(description="1 for the first due.")
    due_at: UtcDateTime = Field(description="Calendar months after acceptance, at the same time of day (UTC).")
    principal: AmountOut
    fee: AmountOut
    total: AmountOut


class InstallmentQuoteOut(BaseModel):
    """The schedule the buyer would accept now; nothing is booked."""

    receivable_id: int
    line_id: int
    grade: str | None = Field(description="The buyer's grade from its latest score; null when it was never scored.")
    count: int
    max_count: int = Field(description="The most installments the policy offers this grade.")
    amount: AmountOut = Field(description="The principal split: what the receivable still owes.")
    fee: AmountOut = Field(description="monthly_fee_rate x amount x (count - 1), rounded half up.")
    total: AmountOut
    monthly_fee_rate: str = Field(pattern=r"^\d+(\.\d+)?$", examples=["0.01"])
    early_repayment: EarlyRepayment = Field(
        description="What early settlement does with the fee of installments not yet due: refunded or kept.")
    installments: list[InstallmentOut]


class InstallmentPlanIn(_Request):
    count: int = Field(ge=2, le=12, description="How many monthly installments (2 to the grade's maximum).")


class PlanInstallmentOut(InstallmentOut):
    receivable_id: int = Field(description="The installment's own receivable.")
    status: ReceivableStatus = Field(description="The receivable's status (open, or paid by the buyer's credit balance).")


class InstallmentPlanOut(BaseModel):
    """A plan accepted: the receivable is rescheduled into installment receivables; exposure did not move."""

    receivable_id: int
    line_id: int
    status: Literal["rescheduled"] = "rescheduled"
    count: int
    amount: AmountOut
    fee: AmountOut
    total: AmountOut
    installments: list[PlanInstallmentOut]
    balances: BalancesOut


class SettlementItemOut(BaseModel):
    receivable_id: int
    number: int
    due_at: UtcDateTime
    used: bool = Field(description="Its due time has come; an unused one's fee is refunded under refund_unused_fee.")
    principal: AmountOut
    fee: AmountOut = Field(description="Fee still owed once the waiver is applied.")
    late_fee: AmountOut
    fee_waived: AmountOut = Field(description="Fee still owed that the settlement waives.")
    fee_returned: AmountOut = Field(description="Fee already paid that goes back to the buyer's credit balance.")
    total: AmountOut = Field(description="What the settlement pays on it.")


class EarlySettlementOut(BaseModel):
    """What settles the plan now, installment by installment."""

    receivable_id: int
    line_id: int
    early_repayment: EarlyRepayment
    principal: AmountOut
    fee: AmountOut
    late_fee: AmountOut
    fee_waived: AmountOut
    fee_returned: AmountOut
    amount_due: AmountOut = Field(description="To pay now: everything the plan still owes after the waiver.")
    installments: list[SettlementItemOut]


class EarlySettlementIn(_Request):
    amount: AmountMinor = Field(description="Received from the buyer: at least the amount due; more becomes credit.")
    reference: str = Field(min_length=1, max_length=200, pattern=REFERENCE_PATTERN,
                           description="The payment's reference in the marketplace's payment system.")


class EarlySettlementBookedOut(BaseModel):
    """An early settlement booked: the fee given up, and the repayment that paid the rest."""

    receivable_id: int
    line_id: int
    repayment_id: int
    amount: AmountOut
    reference: str
    settlement: EarlySettlementOut = Field(description="The settlement's terms as they stood when it was booked.")
    allocations: list[AllocationOut]
    credit_balance: AmountOut = Field(description="The buyer's credit balance on the line after it.")
    balances: BalancesOut
