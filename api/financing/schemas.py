"""Request and response schemas of order financing and receivables financing.

Rates (advance rate, fee rate, reserve, haircut) are exact decimals shown as strings; money
comes in as :data:`~api.kit.money.AmountMinor` and goes out as :data:`~api.kit.money.AmountOut`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.decisions.schemas import NextActionOut, Reason
from api.kit.money import AmountMinor, AmountOut

_ID = {"ge": 1, "le": 2**63 - 1}


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderFinancingIn(_Request):
    order_id: int = Field(**_ID, description="The confirmed purchase order to finance.")
    supplier_id: int = Field(**_ID, description="The supplier asking for the advance; must be the order's.")
    buyer_id: int = Field(**_ID, description="The order's buyer.")
    amount: AmountMinor = Field(description="The PO value to finance; at most the order's amount.")
    tenor_days: int = Field(ge=1, le=3650, description="Days from the advance to the buyer's payment.")


class ReceivableIn(_Request):
    invoice_id: int = Field(**_ID, description="The unpaid invoice (the supplier is its creditor).")


Status = Literal["quoted", "booked", "declined"]


class OrderFinancingOut(BaseModel):
    """An order-financing quote or booking. `financing_id` is set once booked."""

    decision_id: str
    status: Status = Field(description="quoted (a quote, nothing booked), booked, or declined.")
    outcome: Literal["approve", "decline"]
    order_id: int
    supplier_id: int
    buyer_id: int
    buyer_grade: str
    supplier_grade: str
    advance_rate: Decimal = Field(description="Share of the PO value advanced, after the supplier's record.")
    advance: AmountOut = Field(description="Amount advanced, after exposure caps; 0 when declined.")
    fee_rate: Decimal
    fee: AmountOut
    tenor_days: int
    reason_codes: list[Reason]
    next_actions: list[NextActionOut]
    model_version: str | None
    policy_version: str
    financing_id: int | None = None


class ReceivableOut(BaseModel):
    """A receivables-financing quote or booking. `financing_id` is set once booked."""

    decision_id: str
    status: Status
    outcome: Literal["approve", "decline"]
    invoice_id: int
    creditor_id: int
    debtor_id: int
    outstanding: AmountOut = Field(description="Still unpaid on the invoice (less payments and credit notes).")
    eligibility_reasons: list[Reason] = Field(description="Why the invoice is not eligible; empty if it is.")
    debtor_grade: str
    dilution_reserve_rate: Decimal
    risk_haircut_rate: Decimal
    advance_rate: Decimal
    advance: AmountOut
    fee_rate: Decimal
    fee: AmountOut
    tenor_days: int
    reason_codes: list[Reason]
    next_actions: list[NextActionOut]
    model_version: str | None
    policy_version: str
    financing_id: int | None = None
