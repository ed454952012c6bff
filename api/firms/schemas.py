"""Response schema of a firm's credit standing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from api.decisions.schemas import Reason
from api.kit.money import AmountOut


class FirmScoreOut(BaseModel):
    """The firm's score under the champion: from the latest batch snapshot, re-scored if another model wrote it."""

    grade: str = Field(description="Grade of the PD on the policy's master scale.", examples=["C"])
    pd: Decimal = Field(description="Calibrated 12-month probability of default.", examples=["0.0123"])
    reason_codes: list[Reason] = Field(description="Why the model scores the firm as risky, most important first.")
    model_name: str
    model_version: str
    as_of: date = Field(description="The batch date the features are as of.")


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
