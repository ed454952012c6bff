"""Bodies of the sandbox's routes: its clock, a move of it, its test buyers."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.kit.money import AmountOut
from credit.sandbox.moves import MAX_MOVE

MAX_ADVANCE_SECONDS = int(MAX_MOVE.total_seconds())


class ClockOut(BaseModel):
    """The sandbox's clock: its now runs `offset_seconds` ahead of real time and ticks with it."""

    now: AwareDatetime = Field(description="The sandbox's now, UTC.")
    offset_seconds: float = Field(ge=0, description="How far the sandbox's now runs ahead of real time.")
    serviced_through: date = Field(description="The last day the servicing and financing daily jobs ran for.")
    seeded_at: AwareDatetime = Field(description="When the sandbox was last reset (`credit sandbox reset`), UTC.")


class ClockMoveIn(BaseModel):
    """Where to move the sandbox's clock: `advance_seconds` from its now, or `to` an instant; forward only."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"advance_seconds": 1_296_000}, {"to": "2027-01-31T00:00:00Z"}]})

    advance_seconds: int | None = Field(default=None, ge=1, le=MAX_ADVANCE_SECONDS,
                                        description="Move this many seconds ahead of the sandbox's now.")
    to: AwareDatetime | None = Field(default=None, description="Move to this instant (with its UTC offset), at "
                                     f"most {MAX_MOVE.days} days after the sandbox's now and not before it.")

    @model_validator(mode="after")
    def _one_of(self) -> ClockMoveIn:
        if (self.advance_seconds is None) == (self.to is None):
            raise ValueError("give exactly one of `advance_seconds` and `to`")
        return self


class ClockMoveOut(BaseModel):
    """The move and the work that fell due on the way, run as a deployment's schedule would have."""

    before: AwareDatetime = Field(description="The sandbox's now before the move, UTC.")
    now: AwareDatetime = Field(description="The sandbox's now after the move, UTC.")
    days_run: list[date] = Field(description="Days the servicing and financing daily jobs ran for, in order.")
    holds_expired: list[int] = Field(description="Authorizations (hold ids) that expired uncaptured.")
    servicing_steps: dict[str, int] = Field(description="Dunning steps the servicing job took, by step "
                                                        "(`reminder`, `late_fee`, `freeze`, `default`, ...).")
    financing_counts: dict[str, dict[str, int]] = Field(description="What the financing book's job did, by "
                                                                    "product; only what is not zero.")
    events_emitted: int = Field(ge=0, description="Events the move wrote (GET /v1/events; webhooks deliver them).")


class TestBuyerOut(BaseModel):
    """A documented test buyer: send its `buyer_id` and get `outcome` (docs/sandbox.md)."""

    __test__ = False

    buyer_id: int
    name: str
    product: Literal["credit_line_application", "checkout"] = Field(description="The call whose answer it fixes.")
    outcome: str = Field(description="`approved`, `referred`, `declined` (application); `approve` or the "
                                     "checkout decline code.")
    detail: str = Field(description="What makes it so, and for which amounts.")
    limit: AmountOut | None = Field(description="Its line's limit as seeded; null: no line.")
    per_order_cap: AmountOut | None = Field(description="Its line's per-order cap as seeded; null: none.")


class TestBuyerList(BaseModel):
    __test__ = False

    items: list[TestBuyerOut]
