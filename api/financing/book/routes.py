"""Routes of the financing book: a financing's payout, collections, recoveries and cancellation; its reads.

Roles. Money moving is booked by the party that sees it move: the marketplace's payment
system (``payments``) and the finance team (``finance``, for what the payment system could not
match), and ``admin``, as for line repayments; a cancellation is the finance team's (``finance``,
``admin``). The finance team, analysts, ``admin`` and the payment system read financings and
statements; the CSV export is for ``finance`` and ``admin``. The checkout key gets 403: a
storefront asks for financing (``/v1/financing/...``) but does not run the book.

Every POST takes an ``Idempotency-Key``. A refusal of the book is 404 ``financing_not_found``
or 409 with the book's own code (``already_paid_out``, ``financing_not_paid_out``, ...). The
routes are ``def`` marked ``runs_sql``: pooled on PostgreSQL, inline on SQLite (see :mod:`api.kit.db`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.financing.book import service
from api.financing.book.schemas import (
    FinancingKind,
    FinancingOut,
    FinancingPageOut,
    FinancingStatementOut,
    FinancingStatus,
    MoneyReceivedIn,
    PayoutIn,
)
from api.kit.auth import Caller, requires
from api.kit.contract import Day
from api.kit.db import SessionDep, runs_sql
from api.kit.errors import responses
from api.kit.idempotency import IdempotencyDep
from api.kit.state import policy_of
from credit import clock
from credit.financing.book import MAX_PAGE

router = APIRouter(tags=["financing"])

Payments = Annotated[Caller, requires("payments", "finance", "admin")]
Finance = Annotated[Caller, requires("finance", "admin")]
Reader = Annotated[Caller, requires("finance", "analyst", "admin", "payments")]
Exporter = Annotated[Caller, requires("finance", "admin")]
_ID = {"ge": 1, "le": 2**63 - 1}
FinancingId = Annotated[int, Path(**_ID, description="The financing's id.")]
FirmId = Annotated[int, Path(**_ID, description="The supplier firm's id.")]
_MOVES = responses(400, 401, 403, 404, 409, 413, 422)
_READS = responses(401, 403, 404, 422)

KindFilter = Annotated[list[FinancingKind] | None, Query(
    max_length=3, description="Only these products (repeat the parameter for several).")]
StatusFilter = Annotated[list[FinancingStatus] | None, Query(
    max_length=9, description="Only financings in these statuses (repeat the parameter for several).")]
SupplierFilter = Annotated[int | None, Query(**_ID, description="Only the supplier's (a loan's borrower's).")]
BuyerFilter = Annotated[int | None, Query(**_ID, description="Only the buyer's (the order's buyer, the invoice's "
                                                             "debtor).")]


@router.post("/v1/financings/{financing_id}/payouts", status_code=201, response_model=FinancingOut,
             responses=_MOVES)
@runs_sql
def pay_out(financing_id: FinancingId, body: PayoutIn, session: SessionDep, idem: IdempotencyDep,
            caller: Payments) -> Response:
    """Confirm the payout of an approved financing: the advance left on the value date (once)."""
    return idem.respond(service.pay_out(session, caller, financing_id, body, clock.now()), status_code=201)


@router.post("/v1/financings/{financing_id}/collections", status_code=201, response_model=FinancingOut,
             responses=_MOVES)
@runs_sql
def collect(financing_id: FinancingId, body: MoneyReceivedIn, request: Request, session: SessionDep,
            idem: IdempotencyDep, caller: Payments) -> Response:
    """Book money the debtor paid on a paid-out financing today: principal, then fee, then the rest to the supplier."""
    return idem.respond(service.receive(session, caller, financing_id, body, kind="collection",
                                        policy=policy_of(request), now=clock.now()), status_code=201)


@router.post("/v1/financings/{financing_id}/recoveries", status_code=201, response_model=FinancingOut,
             responses=_MOVES)
@runs_sql
def recover(financing_id: FinancingId, body: MoneyReceivedIn, request: Request, session: SessionDep,
            idem: IdempotencyDep, caller: Payments) -> Response:
    """Book money the supplier paid back on a paid-out financing today (recourse, clawback)."""
    return idem.respond(service.receive(session, caller, financing_id, body, kind="recovery",
                                        policy=policy_of(request), now=clock.now()), status_code=201)


@router.post("/v1/financings/{financing_id}/cancellations", response_model=FinancingOut, responses=_MOVES)
@runs_sql
def cancel(financing_id: FinancingId, session: SessionDep, idem: IdempotencyDep, caller: Finance) -> Response:
    """Cancel an approved financing that was never paid out: it stops counting as exposure."""
    return idem.respond(service.cancel(session, caller, financing_id, clock.now()))


@router.get("/v1/financings", response_model=FinancingPageOut, responses=_READS)
@runs_sql
def list_financings(
    session: SessionDep, _caller: Reader, kind: KindFilter = None, status: StatusFilter = None,
    supplier_id: SupplierFilter = None, buyer_id: BuyerFilter = None,
    cursor: Annotated[str | None, Query(min_length=1, max_length=60,
                                        description="`next_cursor` of the previous page, as given.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Most financings on the page.")] = 50,
) -> FinancingPageOut:
    """The financing book in id order, one page at a time, with what each owes and puts at risk now."""
    checked = service.filters(kinds=kind, statuses=status, supplier_id=supplier_id, buyer_id=buyer_id)
    return service.page(session, checked, cursor, limit)


@router.get(
    "/v1/financings.csv", response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                     "description": "One line per financing after a header row; amounts as exact decimals in major "
                                    "units, times ISO 8601 UTC. Sent as an attachment."},
               **responses(401, 403, 422)},
)
@runs_sql
def export_financings(session: SessionDep, _caller: Exporter, kind: KindFilter = None, status: StatusFilter = None,
                      supplier_id: SupplierFilter = None, buyer_id: BuyerFilter = None) -> Response:
    """Every financing the filters select, as CSV for the finance team (the list's filters, no pages)."""
    checked = service.filters(kinds=kind, statuses=status, supplier_id=supplier_id, buyer_id=buyer_id)
    filename = f"financings-{clock.today().isoformat()}.csv"
    return Response(service.export(session, checked), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/v1/financings/{financing_id}", response_model=FinancingOut, responses=_READS)
@runs_sql
def get_financing(financing_id: FinancingId, session: SessionDep, _caller: Reader) -> FinancingOut:
    """One financing: its terms, status, dates, what it owes, its reserve and dilution, and its journal."""
    return service.financing(session, financing_id)


@router.get("/v1/firms/{firm_id}/financing-statement", response_model=FinancingStatementOut, responses=_READS,
            tags=["financing", "firms"])
@runs_sql
def financing_statement(
    firm_id: FirmId, session: SessionDep, _caller: Reader,
    period_from: Annotated[Day, Query(alias="from", description="First business day of the period (YYYY-MM-DD).")],
    period_to: Annotated[Day, Query(alias="to", description="Last business day of the period (YYYY-MM-DD); "
                                                             "not before `from`.")],
) -> FinancingStatementOut:
    """A supplier's financing statement: opening, paid out, collected, recovered, fees, releases, closing."""
    return service.statement(session, firm_id, period_from, period_to, clock.today())
