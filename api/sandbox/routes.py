"""Routes of the sandbox: read and move its clock, list its test buyers. Test keys (``mck_test_...``) only.

A live key is 403 ``sandbox_only`` here: the sandbox's clock and buyers are not the live
store's. Every role may use them (an integrator's checkout key moves the clock as well as its
admin key). Moving the clock takes an ``Idempotency-Key``: it expires holds and runs the daily
jobs, which move exposure. See docs/sandbox.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.kit.auth import Caller, CallerDep
from api.kit.db import SessionDep, request_store, runs_sql, take_write_lock
from api.kit.errors import Conflict, Forbidden, ServiceError, responses
from api.kit.idempotency import IdempotencyDep
from api.kit.state import policy_of
from api.sandbox.schemas import ClockMoveIn, ClockMoveOut, ClockOut, TestBuyerList, TestBuyerOut
from credit.sandbox import moves
from credit.sandbox.buyers import TEST_BUYERS

router = APIRouter(tags=["sandbox"])

_SANDBOX_ONLY = {403: {**responses(403)[403], "description": "A live key (`sandbox_only`), not a test key."}}


async def _test_caller(request: Request, caller: CallerDep) -> Caller:
    if request_store(request) is None:
        raise Forbidden("The sandbox is for test keys (`mck_test_...`, issued by `credit sandbox key`); this is a "
                        "live key, which acts on the live store only.", code="sandbox_only")
    return caller


TestCaller = Annotated[Caller, Depends(_test_caller)]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def _clock_error(exc: moves.SandboxClockError) -> ServiceError:
    details = {name: _utc(value).isoformat() if isinstance(value, datetime) else value
               for name, value in exc.details.items()}
    if exc.code == "clock_move_too_far":
        return ServiceError(exc.message, code=exc.code, status_code=422, details=details)
    return Conflict(exc.message, code=exc.code, details=details)


@router.get("/v1/sandbox/clock", response_model=ClockOut, responses={**responses(401, 409), **_SANDBOX_ONLY})
@runs_sql
def get_clock(session: SessionDep, _caller: TestCaller) -> ClockOut:
    """The sandbox's now: real time plus how far the clock was moved."""
    try:
        state = moves.state(session)
    except moves.SandboxClockError as exc:
        raise _clock_error(exc) from exc
    return ClockOut(now=_utc(state.now), offset_seconds=state.offset.total_seconds(),
                    serviced_through=state.serviced_through, seeded_at=_utc(state.seeded_at))


@router.post(
    "/v1/sandbox/clock", response_model=ClockMoveOut,
    responses={**responses(400, 401, 409, 413, 422), **_SANDBOX_ONLY,
               409: {**responses(409)[409], "description": "`clock_backwards`: `to` is before the sandbox's now; "
                     "`idempotency_request_in_progress`."},
               422: {**responses(422)[422], "description": "`validation_failed`, `clock_move_too_far`, "
                     "`idempotency_key_reused`."}},
)
@runs_sql
def move_clock(body: ClockMoveIn, request: Request, _caller: TestCaller, session: SessionDep,
               idem: IdempotencyDep) -> Response:
    """Move the sandbox's clock forward and run what falls due on the way.

    For each day whose end the move crosses: the holds expired by then, the servicing daily job
    (reminders, late fees, freeze, default, charge-off; receivables become overdue) and the
    financing book's daily job, each at that day's end; then the holds expired by the new now.
    Their events are written as they happen (GET /v1/events, webhooks).
    """
    take_write_lock(session)
    to = body.to.astimezone(UTC).replace(tzinfo=None) if body.to else timedelta(seconds=body.advance_seconds)
    try:
        move = moves.move_to(session, to, policy_of(request))
    except moves.SandboxClockError as exc:
        raise _clock_error(exc) from exc
    return idem.respond(ClockMoveOut(
        before=_utc(move.before), now=_utc(move.after), days_run=list(move.days_run),
        holds_expired=list(move.holds_expired), servicing_steps=move.servicing_steps,
        financing_counts=move.financing_counts, events_emitted=move.events_emitted))


@router.get("/v1/sandbox/buyers", response_model=TestBuyerList, responses={**responses(401), **_SANDBOX_ONLY})
async def list_test_buyers(_caller: TestCaller) -> TestBuyerList:
    """The documented test buyers and the answer each gives (docs/sandbox.md)."""
    return TestBuyerList(items=[
        TestBuyerOut(buyer_id=b.firm_id, name=b.name, product=b.product, outcome=b.outcome, detail=b.detail,
                     limit=b.limit_minor, per_order_cap=b.per_order_cap_minor) for b in TEST_BUYERS])
