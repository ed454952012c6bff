"""Routes of transaction-flow loans: the offer, its acceptance, prepayments and the payoff amount.

Roles: the marketplace shows a seller its offer and accepts it for the seller (``checkout``),
with the ``finance`` team and ``admin``; ``analyst`` reads offers and payoffs. Money the
borrower sends is booked by the marketplace's payment system (``payments``), the finance team
or ``admin``. Every POST takes an ``Idempotency-Key``; the routes are ``def`` marked
``runs_sql`` (pooled on PostgreSQL, inline on SQLite, see :mod:`api.kit.db`).

The offers themselves are made by the daily job (:func:`credit.financing.offers.run_offers`);
withholding on later sales and the minimum check by :func:`credit.financing.loans.run_day`.
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
from api.loans import service
from api.loans.schemas import AcceptanceIn, LoanOffersOut, LoanOut, PayoffOut, RepaymentIn
from credit import clock

router = APIRouter(tags=["loans"])

Reader = Annotated[Caller, requires("checkout", "finance", "analyst", "admin")]
Borrowing = Annotated[Caller, requires("checkout", "finance", "admin")]
Payments = Annotated[Caller, requires("payments", "finance", "admin")]
PayoffReader = Annotated[Caller, requires("checkout", "payments", "finance", "analyst", "admin")]
_ID = {"ge": 1, "le": 2**63 - 1}
FirmId = Annotated[int, Path(**_ID, description="The seller firm's id.")]
OfferId = Annotated[int, Path(**_ID, description="The loan offer's id.")]
LoanId = Annotated[int, Path(**_ID, description="The loan's id.")]

_READS = responses(401, 403, 404, 422)
_MOVES = responses(400, 401, 403, 404, 409, 413, 422)


@router.get("/v1/firms/{firm_id}/loan-offers", response_model=LoanOffersOut, responses=_READS)
@runs_sql
def loan_offers(firm_id: FirmId, session: SessionDep, _caller: Reader) -> LoanOffersOut:
    """The firm's open pre-qualified loan offer (amount, flat fee, withholding rate, minimum), or none and why."""
    return service.offers(session, firm_id, clock.today())


@router.post("/v1/loan-offers/{offer_id}/acceptances", status_code=201, response_model=LoanOut, responses=_MOVES)
@runs_sql
def accept_offer(offer_id: OfferId, body: AcceptanceIn, request: Request, session: SessionDep, idem: IdempotencyDep,
                 caller: Borrowing) -> Response:
    """Accept an open offer (all of it, or less: the fee pro rata): the loan is booked and paid out today.

    Refused with 409 when the offer was already accepted (``offer_already_accepted``), expired or
    was withdrawn (``offer_not_open``), the firm has a loan open (``loan_already_open``), the
    amount is above the offer (``amount_above_offer``) or below the smallest loan
    (``amount_below_minimum``), or it would take the firm past its supplier concentration cap
    (``supplier_concentration_cap``).
    """
    out = service.accept(session, caller, offer_id, body, policy_of(request), clock.now())
    return idem.respond(out, status_code=201)


@router.post("/v1/loans/{loan_id}/repayments", status_code=201, response_model=LoanOut, responses=_MOVES)
@runs_sql
def repay(loan_id: LoanId, body: RepaymentIn, request: Request, session: SessionDep, idem: IdempotencyDep,
          caller: Payments) -> Response:
    """Book money the borrower sent: a prepayment, or the payoff (principal first, then the flat fee).

    Refused with 409 ``amount_exceeds_owed`` above what is owed (see the payoff), and
    ``duplicate_reference`` for a reference already booked on the loan.
    """
    out = service.repay(session, caller, loan_id, body, policy_of(request), clock.now())
    return idem.respond(out, status_code=201)


@router.get("/v1/loans/{loan_id}/payoff", response_model=PayoffOut, responses=_READS)
@runs_sql
def payoff(loan_id: LoanId, session: SessionDep, _caller: PayoffReader) -> PayoffOut:
    """What settles the loan today: principal and fee left (the fee is flat, whatever the speed)."""
    return service.payoff(session, loan_id, clock.today())
