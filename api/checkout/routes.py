"""Routes of checkout credit: pre-check, authorize, capture, void, refund, read a hold.

Roles: the marketplace's checkout system (``checkout``) and ``admin`` pre-check, authorize,
capture, void and refund; reading a hold, and listing a buyer's holds, is also open to
``finance`` and ``analyst``. A ``checkout`` key sees (and lists) only the holds it authorized
(:func:`api.checkout.service.visible_hold`). Repayments are not checkout's: the payment system
books them (:mod:`api.repayments`).

Each order, shipment and refund reference books once per caller: a retry under a new
Idempotency-Key is 409 ``duplicate_reference`` with the id of what the first booked.

The routes are ``def`` marked ``runs_sql``: on PostgreSQL they run in FastAPI's thread pool,
so their statements never block the event loop; on SQLite inline (see :mod:`api.kit.db`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.checkout import service
from api.checkout.schemas import (
    AuthorizationApproved,
    AuthorizationDeclined,
    AuthorizationIn,
    CaptureIn,
    HoldOut,
    HoldPageOut,
    HoldStatus,
    PrecheckIn,
    PrecheckOut,
    RefundIn,
)
from api.kit.auth import Caller, requires
from api.kit.db import SessionDep, runs_sql
from api.kit.errors import responses
from api.kit.idempotency import IdempotencyDep, IdempotentUnitOfWorkDep
from api.kit.state import policy_of
from credit import clock

router = APIRouter(tags=["checkout"])

Checkout = Annotated[Caller, requires("checkout", "admin")]
Reader = Annotated[Caller, requires("checkout", "finance", "analyst", "admin")]
MAX_PAGE = 500
HoldId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The hold's id (from the authorization).")]

_MOVES = responses(400, 401, 403, 404, 409, 413, 422)


@router.post("/v1/checkout/prechecks", response_model=PrecheckOut, responses=responses(401, 403, 404, 413, 422))
@runs_sql
def precheck(body: PrecheckIn, request: Request, session: SessionDep, caller: Checkout) -> PrecheckOut:
    """Would this amount be authorized now? Reads only: no hold, no record, no Idempotency-Key (404 `unknown_firm`)."""
    return service.precheck(session, caller, body, policy_of(request), clock.now())


@router.post(
    "/v1/checkout/authorizations", status_code=201, response_model=AuthorizationApproved,
    responses={200: {"model": AuthorizationDeclined,
                     "description": "Declined (a business outcome, replayed like an approval): nothing is held."},
               201: {"description": "Approved: the amount is held on the buyer's line."},
               **_MOVES},
)
@runs_sql
def authorize(body: AuthorizationIn, request: Request, idem: IdempotentUnitOfWorkDep, caller: Checkout) -> Response:
    """Authorize an order on the buyer's credit line: hold the amount (201) or decline (200)."""
    # The hottest route: its Idempotency-Key claim commits with the hold (one commit, not two).
    session = idem.begin()
    outcome = service.authorize(session, caller, body, policy_of(request), clock.now())
    return idem.respond(outcome, status_code=201 if isinstance(outcome, AuthorizationApproved) else 200)


@router.get("/v1/checkout/authorizations", response_model=HoldPageOut, responses=responses(401, 403, 404, 422))
@runs_sql
def list_authorizations(
    session: SessionDep, caller: Reader,
    buyer_id: Annotated[int, Query(ge=1, le=2**63 - 1, description="The buyer whose holds to list (404 "
                                                                   "`unknown_firm` if no firm has this id).")],
    status: Annotated[list[HoldStatus] | None, Query(
        max_length=3, description="Only holds in these statuses (repeat the parameter for several).")] = None,
    cursor: Annotated[str | None, Query(min_length=1, max_length=60,
                                        description="`next_cursor` of the previous page, as given.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Most holds on the page.")] = 50,
) -> HoldPageOut:
    """A buyer's authorizations in the order they were made, one page at a time; a checkout key sees its own."""
    return service.holds_of_buyer(session, caller, buyer_id, status, cursor, limit)


@router.get("/v1/checkout/authorizations/{hold_id}", response_model=HoldOut, responses=responses(401, 403, 404, 422))
@runs_sql
def get_authorization(hold_id: HoldId, session: SessionDep, caller: Reader) -> HoldOut:
    """An authorization: what was held, captured, released and refunded, and its line's balances."""
    return service.hold_out(session, service.visible_hold(session, caller, hold_id))


@router.post("/v1/checkout/authorizations/{hold_id}/captures", response_model=HoldOut, responses=_MOVES)
@runs_sql
def capture(hold_id: HoldId, body: CaptureIn, request: Request, session: SessionDep, idem: IdempotencyDep,
            caller: Checkout) -> Response:
    """Capture part or all of what the hold still reserves (goods shipped) and book the buyer's receivable.

    The receivable is due after the terms chosen at authorization; several captures may follow.
    """
    hold = service.capture(session, caller, hold_id, body.amount, body.shipment_reference, policy_of(request),
                           clock.now())
    return idem.respond(hold)


@router.post("/v1/checkout/authorizations/{hold_id}/void", response_model=HoldOut, responses=_MOVES)
@runs_sql
def void(hold_id: HoldId, session: SessionDep, idem: IdempotencyDep, caller: Checkout) -> Response:
    """Release everything the hold still reserves (order cancelled or shipped short) and close it."""
    return idem.respond(service.void(session, caller, hold_id, clock.now()))


@router.post("/v1/checkout/authorizations/{hold_id}/refunds", response_model=HoldOut, responses=_MOVES)
@runs_sql
def refund(hold_id: HoldId, body: RefundIn, session: SessionDep, idem: IdempotencyDep,
           caller: Checkout) -> Response:
    """Book the seller refunding part of what was captured: the buyer's posted exposure goes down."""
    return idem.respond(service.refund(session, caller, hold_id, body.amount, body.reference, clock.now()))
