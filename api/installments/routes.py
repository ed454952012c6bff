"""Routes of installment plans: a receivable's quote and plan, and the plan's early settlement.

The checkout system shows the buyer the schedule and books the plan it accepts (``checkout``,
for the receivables of its own holds), as can the finance team and admins. Settling a plan
early books money received, so it is the payment system's (``payments``), the finance team's
and admins'; reading what it would take is open to every role that reads the book. Writers take
an ``Idempotency-Key``; the routes are ``def`` marked ``runs_sql``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.installments import service
from api.installments.schemas import (
    EarlySettlementBookedOut,
    EarlySettlementIn,
    EarlySettlementOut,
    InstallmentPlanIn,
    InstallmentPlanOut,
    InstallmentQuoteOut,
)
from api.kit.auth import Caller, requires
from api.kit.db import SessionDep, runs_sql
from api.kit.errors import ErrorBody, responses
from api.kit.idempotency import IdempotencyDep
from api.kit.state import policy_of
from credit import clock

router = APIRouter(tags=["installments"])

Planner = Annotated[Caller, requires("checkout", "finance", "admin")]
Payments = Annotated[Caller, requires("payments", "finance", "admin")]
Reader = Annotated[Caller, requires("checkout", "payments", "finance", "analyst", "admin")]
ReceivableId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The receivable's id (from the capture).")]
Count = Annotated[int, Query(ge=2, le=12, description="How many monthly installments (2 to the grade's maximum).")]


def _answers(statuses: tuple[int, ...], described: dict[int, str]) -> dict:
    """``responses(*statuses)``, and the statuses whose descriptions name this package's own codes."""
    own = {status: {"model": ErrorBody, "description": text} for status, text in described.items()}
    return responses(*statuses) | own


_NOT_FOUND = "No such receivable, or not one of this checkout key's holds (`receivable_not_found`)."
_NOT_OFFERED = "the policy offers no such plan to this buyer (`installments_not_allowed`: grade, count or amount)."
_NOT_SPLIT = ("The receivable cannot be split now (`receivable_not_reschedulable`: not open or partially paid, past "
              "its due time, owing fees, or its line not active) or already was (`installment_plan_exists`)")
_NOT_SETTLED = ("The receivable was not split (`no_installment_plan`), or its plan owes nothing or is in "
                "collections (`plan_not_settleable`)")
_QUOTE = _answers((401, 403), {
    404: _NOT_FOUND, 409: _NOT_SPLIT + ".", 422: f"Validation failed (`validation_failed`), or {_NOT_OFFERED}"})
_PLAN = _answers((400, 401, 403, 413), {
    404: _NOT_FOUND, 409: _NOT_SPLIT + "; or `idempotency_request_in_progress`.",
    422: f"Validation failed (`validation_failed`, `idempotency_key_reused`), or {_NOT_OFFERED}"})
_SETTLEMENT = _answers((401, 403), {
    404: _NOT_FOUND, 409: _NOT_SETTLED + ".", 422: "Validation failed (`validation_failed`)."})
_SETTLE = _answers((400, 401, 403, 413, 422), {
    404: _NOT_FOUND,
    409: _NOT_SETTLED + "; the amount is below what is due (`settlement_amount_short`); or "
                        "`idempotency_request_in_progress`."})


@router.get("/v1/receivables/{receivable_id}/installment-quote", response_model=InstallmentQuoteOut,
            responses=_QUOTE)
@runs_sql
def installment_quote(receivable_id: ReceivableId, count: Count, request: Request, session: SessionDep,
                      caller: Planner) -> InstallmentQuoteOut:
    """The fee schedule of splitting what the receivable owes into `count` monthly installments, if accepted now.

    Nothing is booked. 409 `receivable_not_reschedulable` when the receivable cannot be split
    (not open or partially paid, past its due time, owing fees, line not active) and
    `installment_plan_exists` when it already was.
    """
    return service.quote(session, caller, receivable_id, count, policy_of(request), clock.now())


@router.post("/v1/receivables/{receivable_id}/installment-plans", status_code=201,
             response_model=InstallmentPlanOut, responses=_PLAN)
@runs_sql
def accept_plan(receivable_id: ReceivableId, body: InstallmentPlanIn, request: Request, session: SessionDep,
                idem: IdempotencyDep, caller: Planner) -> Response:
    """Accept the quoted plan: the receivable is split into installment receivables, the first due in a month.

    Exposure does not move; the buyer's credit balance pays the installments first due first.
    A receivable already split answers 409 `installment_plan_exists` with its installments' ids.
    """
    return idem.respond(service.accept(session, caller, receivable_id, body, policy_of(request), clock.now()),
                        status_code=201)


@router.get("/v1/receivables/{receivable_id}/early-settlement", response_model=EarlySettlementOut,
            responses=_SETTLEMENT)
@runs_sql
def early_settlement(receivable_id: ReceivableId, request: Request, session: SessionDep,
                     caller: Reader) -> EarlySettlementOut:
    """What paying off the receivable's installment plan now takes, with the fee the policy gives up.

    409 `no_installment_plan` for a receivable not split, `plan_not_settleable` for a plan paid
    or in collections.
    """
    return service.early_settlement(session, caller, receivable_id, policy_of(request), clock.now())


@router.post("/v1/receivables/{receivable_id}/early-settlements", status_code=201,
             response_model=EarlySettlementBookedOut, responses=_SETTLE)
@runs_sql
def settle_early(receivable_id: ReceivableId, body: EarlySettlementIn, request: Request, session: SessionDep,
                 idem: IdempotencyDep, caller: Payments) -> Response:
    """Book money that settles the receivable's installment plan early.

    The fee of installments not yet due is waived (what was paid of it returns to the buyer's
    credit balance) when the policy refunds unused fee; the payment then pays everything the
    plan owes, and any surplus is credit balance. 409 `settlement_amount_short` when the amount
    is below what is due: nothing is booked.
    """
    return idem.respond(service.settle_early(session, caller, receivable_id, body, policy_of(request), clock.now()),
                        status_code=201)
