"""Request and response schemas of credit-line applications, reviews and line changes.

Money comes in as :data:`~api.kit.money.AmountMinor` and goes out as
:data:`~api.kit.money.AmountOut`; a reviewer's or line change's ``reason`` is mandatory and
bounded (1-1000 characters, not blank).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.decisions.schemas import NextActionOut, Reason
from api.kit.contract import Probability, UtcDateTime
from api.kit.money import AmountMinor, AmountOut

ApplicationStatus = Literal["approved", "referred", "declined", "reviewed"]
_REASON = Field(min_length=1, max_length=1000, pattern=r"\S",
                description="Why, in the finance team's words (mandatory, kept in the audit trail).")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApplicationIn(_Request):
    buyer_id: int = Field(ge=1, le=2**63 - 1, description="The applying buyer firm.")
    requested_limit: AmountMinor | None = Field(
        default=None, description="The limit the buyer asks for; omitted: the policy proposes one.")


class ReviewIn(_Request):
    # The rule below, in the schema too: `limit` (not null) with change_limit, absent or null otherwise.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"anyOf": [
        {"properties": {"action": {"const": "change_limit"}, "limit": {"type": "string"}}, "required": ["limit"]},
        {"properties": {"action": {"enum": ["approve", "decline"]}, "limit": {"type": "null"}}},
    ]})

    action: Literal["approve", "change_limit", "decline"]
    limit: AmountMinor | None = Field(default=None, description="The new limit; with `change_limit` and only then.")
    reason: str = _REASON

    @model_validator(mode="after")
    def _limit_with_change_only(self) -> ReviewIn:
        if (self.action == "change_limit") != (self.limit is not None):
            raise ValueError("`limit` is given with action `change_limit` and only then")
        return self


class LineChangeIn(_Request):
    reason: str = _REASON


class LimitChangeIn(_Request):
    limit: AmountMinor = Field(description="The line's new limit; not below what is posted plus held.")
    reason: str = _REASON


class ReviewOut(BaseModel):
    """The finance team's decision on a referred application."""

    decision_id: str
    outcome: Literal["approve", "decline"]
    limit: AmountOut
    per_order_cap: AmountOut
    reason_codes: list[Reason]
    actor: str
    created_at: UtcDateTime


class ApplicationOut(BaseModel):
    """A credit-line application: the decision, where it stands, and the line it opened."""

    decision_id: str = Field(description="The application's audited decision; also the application's id.")
    buyer_id: int
    status: ApplicationStatus = Field(description="approved / declined at once, referred to the finance team, "
                                                  "or reviewed by it (see `review`).")
    outcome: Literal["approve", "refer", "decline"] = Field(description="The application's own decision.")
    grade: str
    pd: Probability = Field(description="The champion's 12-month PD the decision used.")
    limit: AmountOut = Field(description="The limit granted now: at once (approved), by the review (reviewed: the "
                                         "reviewer's, 0 if declined), proposed and waiting (referred), or 0 "
                                         "(declined).")
    per_order_cap: AmountOut = Field(description="The per-order cap that goes with `limit`.")
    proposed_limit: AmountOut | None = Field(description="A referred application's proposal to the finance team "
                                                         "(kept after the review); null if it was not referred.")
    requested_limit: AmountOut | None
    reason_codes: list[Reason] = Field(description="Policy reasons in rule order, then the model's reasons.")
    next_actions: list[NextActionOut] = Field(description="What the buyer can do now: after a review, the review's.")
    model_name: str | None
    model_version: str | None
    score_as_of: date | None = Field(description="The batch date of the features scored.")
    policy_version: str
    line_id: int | None = Field(description="The credit line opened on approval (at once or by review).")
    review: ReviewOut | None = None
    created_at: UtcDateTime


class ApplicationList(BaseModel):
    """One page of applications, oldest first; pass `next_cursor` as `cursor` for the next one."""

    items: list[ApplicationOut]
    next_cursor: str | None = Field(description="Opaque; null on the last page.")


class CreditLineOut(BaseModel):
    """A credit line now: its terms, status and balances."""

    line_id: int
    firm_id: int = Field(description="The buyer firm the line is for.")
    currency: str = Field(examples=["EUR"])
    status: Literal["active", "frozen", "closed"]
    frozen_by: Literal["finance", "servicing"] | None = Field(description="Who froze a frozen line: `finance` (the finance team) or `servicing` "
                                              "(overdue receivables, a returned payment); null otherwise.")
    limit: AmountOut
    posted: AmountOut = Field(description="Captured and not yet repaid.")
    pending: AmountOut = Field(description="Held by authorizations not yet captured, voided or expired.")
    available: AmountOut = Field(description="limit - posted - pending, never below 0.")
    per_order_cap: AmountOut | None = Field(description="The largest single order; null: no cap beyond the limit.")


class LineOut(BaseModel):
    """A credit line after a change by the finance team, with the audited decision of the change."""

    line_id: int
    firm_id: int
    status: Literal["active", "frozen", "closed"]
    limit: AmountOut
    posted: AmountOut
    pending: AmountOut
    available: AmountOut
    per_order_cap: AmountOut | None
    decision_id: str
    reason_codes: list[Reason]
