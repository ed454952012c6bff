"""Routes of credit lines: applications, the finance team's review queue and reviews, line changes.

Roles:

- apply: ``checkout`` (the marketplace applies on a buyer's behalf) and ``admin``;
- read applications, the review queue: ``finance`` and ``admin`` (``checkout`` may read an
  application it can name, to show the buyer the answer: every checkout key sees every
  application, the marketplace being one tenant);
- review, freeze, unfreeze, change a limit: ``finance`` and ``admin`` only;
- read a line: every role (the marketplace is one tenant: checkout shows a buyer its headroom,
  the payment system books repayments on lines, analysts watch them).

Every POST takes an ``Idempotency-Key``. The routes that write are ``def`` marked
``runs_sql`` (pooled on PostgreSQL, inline on SQLite); the reads are plain ``def`` routes in
FastAPI's thread pool (see :mod:`api.kit.db`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.credit_lines import service
from api.credit_lines.schemas import (
    ApplicationIn,
    ApplicationList,
    ApplicationOut,
    CreditLineOut,
    LimitChangeIn,
    LineChangeIn,
    LineOut,
    ReviewIn,
)
from api.kit.state import champion, champion_if_available, policy_of
from api.kit.auth import Caller, requires
from api.kit.db import SessionDep, runs_sql
from api.kit.errors import responses
from api.kit.idempotency import IdempotencyDep
from credit import clock

router = APIRouter(tags=["credit lines"])

Applicant = Annotated[Caller, requires("checkout", "admin")]
Finance = Annotated[Caller, requires("finance", "admin")]
Reader = Annotated[Caller, requires("checkout", "finance", "admin")]
LineReader = Annotated[Caller, requires("checkout", "payments", "finance", "analyst", "admin")]
DecisionId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$",
                                 description="The application's decision id (a UUID).")]
LineId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The credit line's id.")]

_WRITES = responses(400, 401, 403, 404, 409, 413, 422)


@router.post(
    "/v1/credit-lines/applications", status_code=201, response_model=ApplicationOut,
    responses={201: {"description": "Decided: approved (the line is open), referred or declined."},
               **_WRITES, **responses(503)},
)
@runs_sql
def apply(body: ApplicationIn, request: Request, session: SessionDep, idem: IdempotencyDep,
          caller: Applicant) -> Response:
    """Apply for a buyer's credit line: scored, decided, audited; approval opens the line at once."""
    model = champion(request)
    return idem.respond(service.apply(session, caller, body, policy_of(request), model, clock.now()), status_code=201)


@router.get("/v1/credit-lines/applications", response_model=ApplicationList, responses=responses(401, 403, 422))
def list_applications(
    session: SessionDep, caller: Finance,
    status: Annotated[Literal["approved", "referred", "declined", "reviewed"] | None,
                      Query(description="Only applications in this status; `referred` is the review queue.")] = None,
    cursor: Annotated[str | None, Query(min_length=1, max_length=200,
                                        description="`next_cursor` of the previous page, as given.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Most applications on the page, oldest first.")] = 100,
) -> ApplicationList:
    """Credit-line applications, oldest first, a page at a time; `?status=referred` is the review queue."""
    return service.list_applications(session, caller, status, cursor, limit)


@router.get("/v1/credit-lines/applications/{decision_id}", response_model=ApplicationOut,
            responses=responses(401, 403, 404, 422))
def get_application(decision_id: DecisionId, session: SessionDep, caller: Reader) -> ApplicationOut:
    """One application: its decision, reasons, status and review."""
    return service.visible_application(session, caller, decision_id)


@router.post("/v1/credit-lines/applications/{decision_id}/review", response_model=ApplicationOut,
             responses=_WRITES)
@runs_sql
def review(decision_id: DecisionId, body: ReviewIn, request: Request, session: SessionDep, idem: IdempotencyDep,
           caller: Finance) -> Response:
    """Approve, change the limit of, or decline a referred application (once; a reason is mandatory)."""
    return idem.respond(service.review(session, caller, decision_id, body, policy_of(request), clock.now()))


@router.get("/v1/credit-lines/{line_id}", response_model=CreditLineOut, responses=responses(401, 403, 404, 422))
@runs_sql
def get_line(line_id: LineId, session: SessionDep, _caller: LineReader) -> CreditLineOut:
    """A credit line now: limit, posted, pending, available, per-order cap, status (404 `line_not_found`)."""
    return service.line(session, line_id)


@router.post("/v1/credit-lines/{line_id}/freeze", response_model=LineOut, responses=_WRITES)
@runs_sql
def freeze(line_id: LineId, body: LineChangeIn, request: Request, session: SessionDep, idem: IdempotencyDep,
           caller: Finance) -> Response:
    """Freeze a line: no new authorizations; captures, voids, refunds and repayments go on."""
    return idem.respond(service.change_line(session, caller, line_id, "freeze", body.reason, None,
                                            policy_of(request), champion_if_available(request), clock.now()))


@router.post("/v1/credit-lines/{line_id}/unfreeze", response_model=LineOut, responses=_WRITES)
@runs_sql
def unfreeze(line_id: LineId, body: LineChangeIn, request: Request, session: SessionDep, idem: IdempotencyDep,
             caller: Finance) -> Response:
    """Unfreeze a line: authorizations are accepted again."""
    return idem.respond(service.change_line(session, caller, line_id, "unfreeze", body.reason, None,
                                            policy_of(request), champion_if_available(request), clock.now()))


@router.post("/v1/credit-lines/{line_id}/limit", response_model=LineOut, responses=_WRITES)
@runs_sql
def change_limit(line_id: LineId, body: LimitChangeIn, request: Request, session: SessionDep, idem: IdempotencyDep,
                 caller: Finance) -> Response:
    """Set a line's limit (and its per-order cap from the policy); never below what is posted plus held."""
    return idem.respond(service.change_line(session, caller, line_id, "change_limit", body.reason, body.limit,
                                            policy_of(request), champion_if_available(request), clock.now()))
