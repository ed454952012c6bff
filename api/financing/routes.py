"""Routes of financing: order financing and receivables financing, quotes and requests.

Roles: ``checkout`` (the marketplace acting for its suppliers, who ask through it), and the
``finance`` team and ``admin``. Analysts read decisions through ``/v1/decisions``.

A quote records its decision (so it can be shown and replayed) but books nothing; it needs
no ``Idempotency-Key``: repeating it books nothing either. A request books the advance when
approved (201 with ``financing_id``) or answers the declined quote (200, replayed like an
approval); it needs an ``Idempotency-Key``.

The routes are ``def`` marked ``runs_sql``: in FastAPI's thread pool on PostgreSQL, inline on
SQLite (see :mod:`api.kit.db`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.financing import service
from api.financing.schemas import OrderFinancingIn, OrderFinancingOut, ReceivableIn, ReceivableOut
from api.kit.state import champion, policy_of
from api.kit.auth import Caller, requires
from api.kit.db import SessionDep, runs_sql
from api.kit.errors import responses
from api.kit.idempotency import IdempotencyDep
from credit import clock

router = APIRouter(tags=["financing"])

Financer = Annotated[Caller, requires("checkout", "finance", "admin")]

_QUOTES = responses(401, 403, 404, 409, 413, 422, 503)
_BOOKINGS = {200: {"description": "Declined: nothing is booked (a business outcome, replayed like a booking)."},
             201: {"description": "Approved and booked: `financing_id` names the advance."},
             **responses(400, 401, 403, 404, 409, 413, 422, 503)}


@router.post("/v1/financing/orders/quotes", response_model=OrderFinancingOut, responses=_QUOTES)
@runs_sql
def quote_order(body: OrderFinancingIn, request: Request, session: SessionDep, caller: Financer) -> OrderFinancingOut:
    """Quote an advance against a confirmed purchase order: rate, amount, fee; nothing is booked."""
    return service.order_financing(session, caller, body, policy_of(request), champion(request), clock.now(),
                                   book=False)


@router.post("/v1/financing/orders/requests", status_code=201, response_model=OrderFinancingOut,
             responses=_BOOKINGS)
@runs_sql
def request_order(body: OrderFinancingIn, request: Request, session: SessionDep, idem: IdempotencyDep,
            caller: Financer) -> Response:
    """Finance a confirmed purchase order: book the advance if approved (an order is financed at most once)."""
    out = service.order_financing(session, caller, body, policy_of(request), champion(request), clock.now(),
                                  book=True)
    return idem.respond(out, status_code=201 if out.financing_id is not None else 200)


@router.post("/v1/financing/receivables/quotes", response_model=ReceivableOut, responses=_QUOTES)
@runs_sql
def quote_receivable(body: ReceivableIn, request: Request, session: SessionDep, caller: Financer) -> ReceivableOut:
    """Quote an advance against an unpaid invoice: eligibility, advance rate, reserve, fee; nothing is booked."""
    return service.receivable_financing(session, caller, body, policy_of(request), champion(request), clock.now(),
                                        book=False)


@router.post("/v1/financing/receivables/requests", status_code=201, response_model=ReceivableOut,
             responses=_BOOKINGS)
@runs_sql
def request_receivable(body: ReceivableIn, request: Request, session: SessionDep, idem: IdempotencyDep,
                 caller: Financer) -> Response:
    """Finance an unpaid invoice: book the advance if eligible (an invoice is financed at most once)."""
    out = service.receivable_financing(session, caller, body, policy_of(request), champion(request), clock.now(),
                                       book=True)
    return idem.respond(out, status_code=201 if out.financing_id is not None else 200)
