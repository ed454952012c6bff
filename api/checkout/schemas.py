"""Request and response schemas of checkout credit: pre-check, authorization, capture, void, refund.

Money comes in as :data:`~api.kit.money.AmountMinor` (a decimal string, ``int`` minor units
inside) and goes out as :data:`~api.kit.money.AmountOut` (minor units shown as a decimal
string). Timestamps are UTC.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.kit.contract import UtcDateTime
from api.decisions.schemas import DeclineCode, NextActionCode
from api.kit.money import AmountMinor, AmountOut

FirmId = Field(ge=1, le=2**63 - 1, description="The buyer firm's id on the marketplace.")
REFERENCE_PATTERN = r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$"  # printable ASCII, no leading/trailing space


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PrecheckIn(_Request):
    buyer_id: int = FirmId
    amount: AmountMinor


class AuthorizationIn(_Request):
    buyer_id: int = FirmId
    order_reference: str = Field(min_length=1, max_length=100, pattern=REFERENCE_PATTERN,
                                 description="The marketplace's order reference, kept on the hold.")
    amount: AmountMinor
    terms_days: Literal[30, 60, 90] | None = Field(
        default=None, description="Payment terms of what is captured (net 30, 60 or 90 days), among those the "
                                  "policy offers the buyer's grade; the policy's default when omitted.")


class CaptureIn(_Request):
    amount: AmountMinor = Field(description="What shipped now; several partial captures may follow one authorization.")
    shipment_reference: str = Field(min_length=1, max_length=200, pattern=REFERENCE_PATTERN,
                                    description="The shipment this capture is for.")


class RefundIn(_Request):
    amount: AmountMinor = Field(description="Refunded by the seller; at most what was captured less earlier refunds.")
    reference: str | None = Field(default=None, min_length=1, max_length=200, pattern=REFERENCE_PATTERN,
                                  description="The refund's reference (credit note), if any.")


class BalancesOut(BaseModel):
    """A line's limit and exposure; ``available`` = limit − posted − pending (negative only on a line a returned payment took over its limit, which is then frozen)."""

    limit: AmountOut
    posted: AmountOut = Field(description="Captured exposure not yet repaid or refunded.")
    pending: AmountOut = Field(description="Held by authorizations not yet captured, voided or expired.")
    available: AmountOut


class NextAction(BaseModel):
    code: NextActionCode = Field(description="Stable code from the next-action catalogue.", examples=["reduce_order_amount"])
    message: str


class PrecheckOut(BaseModel):
    """Would the amount be authorized now? Nothing is held: only an authorization reserves."""

    approved: bool
    decline_code: DeclineCode | None = Field(description="Why not, when not approved (e.g. `limit_exceeded`).")
    message: str | None
    next_actions: list[NextAction]
    balances: BalancesOut | None = Field(description="The buyer's line; null when the buyer has none.")


class AuthorizationApproved(BaseModel):
    """201: the amount is held on the buyer's line until captured, voided or expired."""

    status: Literal["approved"] = "approved"
    hold_id: int
    line_id: int
    buyer_id: int
    order_reference: str
    amount: AmountOut
    terms_days: int = Field(description="Payment terms of what is captured: due this many days after each capture.")
    expires_at: UtcDateTime = Field(description="After this the hold can no longer be captured (UTC).")
    balances: BalancesOut
    decision_id: str = Field(description="The audited checkout decision.")


class AuthorizationDeclined(BaseModel):
    """200: a business outcome, not an error; nothing is held. Replayed like an approval."""

    status: Literal["declined"] = "declined"
    buyer_id: int
    order_reference: str
    amount: AmountOut
    decline_code: DeclineCode = Field(examples=["limit_exceeded"])
    message: str
    next_actions: list[NextAction]
    balances: BalancesOut | None = Field(description="The buyer's line; null when the buyer has none.")
    decision_id: str = Field(description="The audited checkout decision.")


class HoldOut(BaseModel):
    """An authorization and what became of it, with its line's balances."""

    hold_id: int
    line_id: int
    order_reference: str
    status: Literal["pending", "closed", "expired"] = Field(
        description="pending (capturable), closed (fully captured or voided) or expired.")
    amount: AmountOut = Field(description="Authorized.")
    captured: AmountOut
    released: AmountOut = Field(description="Released by a void or by expiry.")
    refunded: AmountOut
    remaining: AmountOut = Field(description="Still held: capturable until `expires_at`.")
    expires_at: UtcDateTime
    balances: BalancesOut
    receivable_id: int | None = Field(
        default=None, description="The receivable a capture booked (what the buyer owes for the shipment); "
                                  "null on other answers.")


HoldStatus = Literal["pending", "closed", "expired"]


class HoldPageOut(BaseModel):
    """One page of a buyer's holds in id order; pass `next_cursor` as `cursor` for the next one."""

    items: list[HoldOut] = Field(description="Each with the balances of the buyer's line now.")
    next_cursor: str | None = Field(description="Opaque; null on the last page.")
