"""Routes of the book's receivables: the list, one receivable, a buyer's statement, the CSV export.

Roles: the finance team (``finance``), analysts (``analyst``), ``admin`` and the marketplace's
payment system (``payments``, which matches incoming money to receivables) read receivables
and statements; the CSV export, the finance team's, is for ``finance`` and ``admin``. The
checkout key gets 403: a storefront has no business reading the book.

Reads only. The routes are ``def`` marked ``runs_sql``: pooled on PostgreSQL, inline on SQLite
(see :mod:`api.kit.db`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from api.kit.auth import Caller, requires
from api.kit.contract import Day
from api.kit.db import SessionDep, runs_sql
from api.kit.errors import responses
from api.servicing import service
from api.servicing.schemas import ReceivableOut, ReceivablePageOut, ReceivableStatus, StatementOut
from credit import clock
from credit.servicing.statement import MAX_PAGE

router = APIRouter(tags=["receivables"])

Reader = Annotated[Caller, requires("finance", "analyst", "admin", "payments")]
Exporter = Annotated[Caller, requires("finance", "admin")]
_ID = {"ge": 1, "le": 2**63 - 1}
ReceivableId = Annotated[int, Path(**_ID, description="The receivable's id.")]
FirmId = Annotated[int, Path(**_ID, description="The buyer firm's id.")]
_READS = responses(401, 403, 404, 422)

FirmFilter = Annotated[int | None, Query(**_ID, description="Only the buyer's receivables.")]
LineFilter = Annotated[int | None, Query(**_ID, description="Only the credit line's receivables.")]
StatusFilter = Annotated[list[ReceivableStatus] | None, Query(
    max_length=9, description="Only receivables in these statuses (repeat the parameter for several).")]
DueFrom = Annotated[Day | None, Query(description="Only those due on this UTC day or later (YYYY-MM-DD).")]
DueTo = Annotated[Day | None, Query(description="Only those due on this UTC day or earlier (YYYY-MM-DD).")]


@router.get("/v1/receivables", response_model=ReceivablePageOut, responses=_READS)
@runs_sql
def list_receivables(
    session: SessionDep, _caller: Reader, firm_id: FirmFilter = None, line_id: LineFilter = None,
    status: StatusFilter = None, due_from: DueFrom = None, due_to: DueTo = None,
    cursor: Annotated[str | None, Query(min_length=1, max_length=60,
                                        description="`next_cursor` of the previous page, as given.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Most receivables on the page.")] = 50,
) -> ReceivablePageOut:
    """The book's receivables in id order, one page at a time, with what each owes now."""
    checked = service.filters(firm_id=firm_id, line_id=line_id, statuses=status, due_from=due_from, due_to=due_to)
    return service.page(session, checked, cursor, limit)


@router.get(
    "/v1/receivables.csv", response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                     "description": "One line per receivable after a header row; amounts as exact decimals in major "
                                    "units, times ISO 8601 UTC. Sent as an attachment."},
               **responses(401, 403, 422)},
)
@runs_sql
def export_receivables(
    session: SessionDep, _caller: Exporter, firm_id: FirmFilter = None, line_id: LineFilter = None,
    status: StatusFilter = None, due_from: DueFrom = None, due_to: DueTo = None,
) -> Response:
    """Every receivable the filters select, as CSV for the finance team (the list's filters, no pages)."""
    checked = service.filters(firm_id=firm_id, line_id=line_id, statuses=status, due_from=due_from, due_to=due_to)
    filename = f"receivables-{clock.today().isoformat()}.csv"
    return Response(service.export(session, checked), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/v1/receivables/{receivable_id}", response_model=ReceivableOut, responses=_READS)
@runs_sql
def get_receivable(receivable_id: ReceivableId, session: SessionDep, _caller: Reader) -> ReceivableOut:
    """One receivable: its terms, amounts, what was paid and what it owes now."""
    return service.receivable(session, receivable_id)


@router.get("/v1/firms/{firm_id}/statement", response_model=StatementOut, responses=_READS,
            tags=["receivables", "firms"])
@runs_sql
def firm_statement(
    firm_id: FirmId, session: SessionDep, _caller: Reader,
    period_from: Annotated[Day, Query(alias="from", description="First day of the period, UTC (YYYY-MM-DD).")],
    period_to: Annotated[Day, Query(alias="to", description="Last day of the period, UTC (YYYY-MM-DD); "
                                                             "not before `from`.")],
) -> StatementOut:
    """A buyer's statement: opening and closing balances, new receivables, fees, payments, refunds, ageing."""
    return service.statement(session, firm_id, period_from, period_to, clock.now())
