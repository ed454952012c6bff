"""Routes of repayments: money the buyer sent, a bank's return of it, the credit balance.

Money coming in is booked by the party that sees it arrive: the marketplace's payment system
(role ``payments``) and the finance team (``finance``, for payments the payment system could
not match), and ``admin``. The checkout system that asks for credit cannot book repayments.
Every POST takes an ``Idempotency-Key``; the routes are ``def`` marked ``runs_sql``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from api.kit.auth import Caller, requires
from api.kit.db import SessionDep, runs_sql
from api.kit.errors import responses
from api.kit.idempotency import IdempotencyDep
from api.kit.state import policy_of
from api.repayments import service
from api.repayments.schemas import CreditBalanceOut, CreditRefundIn, RepaymentIn, RepaymentOut, ReturnIn, ReturnOut
from credit import clock

router = APIRouter(tags=["repayments"])

Payments = Annotated[Caller, requires("payments", "finance", "admin")]
Reader = Annotated[Caller, requires("payments", "finance", "analyst", "admin")]
LineId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The credit line's id.")]
RepaymentId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The repayment's id.")]

_MOVES = responses(400, 401, 403, 404, 409, 413, 422)


@router.post("/v1/credit-lines/{line_id}/repayments", status_code=201, response_model=RepaymentOut,
             responses=_MOVES, tags=["credit lines"])
@runs_sql
def receive(line_id: LineId, body: RepaymentIn, request: Request, session: SessionDep, idem: IdempotencyDep,
            caller: Payments) -> Response:
    """Book money received from the buyer: it pays the receivables it names, or oldest due first.

    Within a receivable the parts are paid in the policy's order (late fee, fee, principal by
    default); principal restores headroom at once. What is left is the buyer's credit balance.
    A payment that cures the line lifts a freeze servicing put on it, and paying off what is
    overdue lifts the checkout block at once.
    """
    return idem.respond(service.receive(session, caller, line_id, body, policy_of(request), clock.now()),
                        status_code=201)


@router.post("/v1/repayments/{repayment_id}/returns", response_model=ReturnOut, responses=_MOVES)
@runs_sql
def return_repayment(repayment_id: RepaymentId, body: ReturnIn, request: Request, session: SessionDep,
                     idem: IdempotencyDep, caller: Payments) -> Response:
    """The bank returned a repayment (bounced transfer, chargeback): what it paid is owed again.

    Principal goes back on the line's exposure; a line taken over its limit is frozen until repaid.
    """
    return idem.respond(service.return_repayment(session, repayment_id, body, policy_of(request), clock.now()))


@router.post("/v1/credit-lines/{line_id}/credit-balance/refunds", response_model=CreditBalanceOut,
             responses=_MOVES, tags=["credit lines"])
@runs_sql
def refund_credit(line_id: LineId, body: CreditRefundIn, session: SessionDep, idem: IdempotencyDep,
                  caller: Payments) -> Response:
    """Pay part or all of the buyer's credit balance back to it."""
    return idem.respond(service.refund_credit(session, caller, line_id, body, clock.now()))


@router.get("/v1/credit-lines/{line_id}/credit-balance", response_model=CreditBalanceOut,
            responses=responses(401, 403, 404, 422), tags=["credit lines"])
@runs_sql
def credit_balance(line_id: LineId, session: SessionDep, caller: Reader) -> CreditBalanceOut:
    """The buyer's credit balance: money received and not yet applied or refunded."""
    return service.credit_balance(session, line_id)
