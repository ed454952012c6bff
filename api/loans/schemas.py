"""Request and response schemas of transaction-flow loans.

Rates (the withholding rate) are exact decimals shown as strings; money comes in as
:data:`~api.kit.money.AmountMinor` and goes out as :data:`~api.kit.money.AmountOut`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.checkout.schemas import REFERENCE_PATTERN
from api.decisions.schemas import NextActionOut, Reason
from api.kit.money import AmountMinor, AmountOut
from credit.financing.tables import FINANCING_STATUSES


LoanStatus = Literal[FINANCING_STATUSES]  # type: ignore[valid-type]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoanOfferOut(BaseModel):
    """An open pre-qualified offer: what the firm may borrow and on what terms."""

    offer_id: int
    firm_id: int
    decision_id: str = Field(description="The audited `loan_offer` decision that made it.")
    as_of: date = Field(description="The business day it was computed for.")
    trailing_sales: AmountOut = Field(description="The firm's platform sales over the trailing window.")
    amount: AmountOut = Field(description="The most the firm may borrow.")
    fee: AmountOut = Field(description="The one flat fee on the full amount (pro rata on less).")
    withholding_rate: Decimal = Field(description="Share of each later sale withheld to repay.")
    minimum: AmountOut = Field(description="The least to be repaid in every period.")
    period_days: int = Field(description="Days in a minimum-repayment period.")
    periods: int = Field(description="Periods over which the minimum repays amount and fee.")
    expires_on: date = Field(description="Last day it can be accepted.")


class LoanOffersOut(BaseModel):
    """The firm's open offer (at most one), or none with the reasons why."""

    firm_id: int
    offers: list[LoanOfferOut]
    reason_codes: list[Reason] = Field(description="Why there is no offer; empty when there is one.")
    next_actions: list[NextActionOut]


class AcceptanceIn(_Request):
    amount: AmountMinor | None = Field(default=None, description="How much to borrow; at most the offer's amount "
                                                                 "(omitted: all of it). The fee is pro rata.")


class RepaymentIn(_Request):
    amount: AmountMinor = Field(description="Paid by the borrower; at most what is owed.")
    reference: str = Field(min_length=1, max_length=190, pattern=REFERENCE_PATTERN,
                           description="The payment's reference in the marketplace's payment system (once per loan).")


class LoanOut(BaseModel):
    """A loan and where it stands."""

    loan_id: int
    firm_id: int
    offer_id: int | None
    status: LoanStatus = Field(description="approved (not yet paid out), paid_out, overdue, settled or written_off.")
    amount: AmountOut = Field(description="Lent.")
    fee: AmountOut = Field(description="The flat fee.")
    withholding_rate: Decimal
    minimum: AmountOut = Field(description="The least to be repaid in every period.")
    period_days: int
    value_date: date | None
    principal_outstanding: AmountOut
    fee_owed: AmountOut
    repaid: AmountOut = Field(description="Principal and fee repaid so far.")


class PayoffOut(BaseModel):
    """What settles the loan today; the fee is flat, so paying early saves nothing of it."""

    loan_id: int
    as_of: date
    status: LoanStatus
    principal: AmountOut
    fee: AmountOut
    total: AmountOut
