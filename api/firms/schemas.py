"""Response schema of a firm's credit standing."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from api.decisions.schemas import Reason
from api.kit.contract import Probability
from api.kit.money import AmountOut


class FirmScoreOut(BaseModel):
    """The firm's score under the champion: from the latest batch snapshot, re-scored if another model wrote it."""

    grade: str = Field(description="Grade of the PD on the policy's master scale.", examples=["C"])
    pd: Probability = Field(description="Calibrated 12-month probability of default.", examples=["0.012300"])
    reason_codes: list[Reason] = Field(description="Why the model scores the firm as risky, most important first.")
    model_name: str
    model_version: str
    as_of: date = Field(description="The batch date the features are as of.")


class ExposureOut(BaseModel):
    """What every product puts at risk on the firm (credit.financing.exposure): as debtor and as supplier.

    A financing counts its whole advance while approved (not yet paid out), then its outstanding
    principal until it closes."""

    line: AmountOut = Field(description="Its credit line: the limit while it can be drawn (active or frozen), else "
                                        "what is still held and posted.")
    order_as_buyer: AmountOut = Field(description="Order advances on the purchase orders it placed.")
    receivable_as_debtor: AmountOut = Field(description="Receivables advances on the invoices it owes.")
    order_as_supplier: AmountOut = Field(description="Order advances made to it.")
    receivable_as_supplier: AmountOut = Field(description="Receivables advances made to it on its invoices.")
    loan: AmountOut = Field(description="Its transaction-flow loans.")
    as_debtor: AmountOut = Field(description="line + order as buyer + receivable as debtor.")
    as_supplier: AmountOut = Field(description="order as supplier + receivable as supplier + loan.")
    total: AmountOut = Field(description="as debtor + as supplier.")


class CapOut(BaseModel):
    """A concentration cap of the policy by the firm's grade, and what is left under it."""

    cap: AmountOut = Field(description="The policy's cap for the firm's grade (`concentration.*`).")
    exposure: AmountOut = Field(description="The exposure the cap reads.")
    headroom: AmountOut = Field(description="cap − exposure, never negative.")


class ConcentrationOut(BaseModel):
    """The per-debtor and per-supplier caps by the firm's grade."""

    grade: str
    per_debtor: CapOut
    per_supplier: CapOut


class FirmCreditOut(BaseModel):
    """A firm's credit line, exposure and score. Without a line the amounts are 0 and `line_status` is `none`."""

    firm_id: int
    line_id: int | None
    line_status: Literal["none", "active", "frozen", "closed"]
    limit: AmountOut = Field(description="Total limit of the line.")
    posted: AmountOut = Field(description="Captured exposure not yet repaid or refunded.")
    pending: AmountOut = Field(description="Held by authorizations not yet captured, voided or expired.")
    available: AmountOut = Field(description="limit − posted − pending, never negative.")
    per_order_cap: AmountOut | None = Field(description="Largest single order on the line; null: no cap or no line.")
    days_past_due: int = Field(description="Most days past due now of an invoice the firm owes (0: none).")
    score: FirmScoreOut | None = Field(description="Null when the batch scoring has not scored the firm yet.")
    exposure: ExposureOut = Field(description="Every product's exposure on the firm, side by side.")
    concentration: ConcentrationOut | None = Field(
        description="The concentration caps of the firm's grade and the headroom under them; null when not scored.")
