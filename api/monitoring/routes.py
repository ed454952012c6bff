"""Routes of monitoring: the latest run's summary, PSI, calibration and early-warning list; the book's figures.

Roles: ``analyst``, ``finance`` and ``admin``; the checkout's key gets 403. Runs are written
by ``credit monitor`` and ``credit retrain``, never over HTTP. Before the first run every
route of the run answers 404 ``monitoring_run_not_found``. ``/v1/monitoring/book`` reads the
servicing tables as they stand (``credit monitor book`` prints the same);
``/v1/monitoring/financing`` the financing book by product and its early warnings at the end of
a business day (``credit monitor financing`` prints the same).
"""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from api.kit.auth import Caller, requires
from api.kit.contract import day
from api.kit.db import SessionDep
from api.kit.errors import responses
from api.kit.state import policy_of
from api.monitoring import service
from api.monitoring.schemas import (
    BookOut,
    CalibrationOut,
    EarlyWarningList,
    FinancingBookOut,
    MonitoringSummaryOut,
    PsiList,
)
from credit import clock
from credit.monitoring.results import WARNING_REASONS

router = APIRouter(tags=["monitoring"])

Watcher = Annotated[Caller, requires("analyst", "finance", "admin")]
WarningReason = Enum("WarningReason", {code: code for code in WARNING_REASONS}, type=str)
_READS = responses(401, 403, 404, 422)
Cursor = Annotated[str | None, Query(min_length=1, max_length=60, description="`next_cursor` of the previous page, "
                                                                              "as given (the same run's).")]
# Dates the period may take: far enough either way for any book, and the end of the last day stays a datetime.
_EARLIEST, _LATEST = date(1970, 1, 1), date(2999, 12, 31)
PeriodDay = day(_EARLIEST, _LATEST)


@router.get("/v1/monitoring/latest", response_model=MonitoringSummaryOut, responses=_READS)
def latest(session: SessionDep, _caller: Watcher) -> MonitoringSummaryOut:
    """The latest monitoring run in brief: alarms, the score's PSI, calibration and early-warning counts."""
    return service.summary(service.latest(session))


@router.get("/v1/monitoring/psi", response_model=PsiList, responses=_READS)
def psi(
    session: SessionDep, _caller: Watcher,
    variable: Annotated[str | None, Query(min_length=1, max_length=200,
                                          description="Only this variable: `score` or a feature.")] = None,
    segment: Annotated[str | None, Query(min_length=1, max_length=200,
                                         description="Only this segment: `all` or `industry=<name>`.")] = None,
    status: Annotated[Literal["ok", "watch", "alarm"] | None, Query(description="Only rows in this status.")] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Most rows on the page.")] = 500,
) -> PsiList:
    """PSI of the score and of every model feature, training window against the month monitored, by segment."""
    return service.psi(service.latest(session), variable, segment, status, cursor, limit)


@router.get("/v1/monitoring/calibration", response_model=CalibrationOut, responses=_READS)
def calibration(session: SessionDep, _caller: Watcher) -> CalibrationOut:
    """Realised against predicted 12-month default rates by grade and by vintage, with 95% intervals."""
    return service.calibration(service.latest(session))


@router.get("/v1/monitoring/early-warnings", response_model=EarlyWarningList, responses=_READS)
def early_warnings(
    session: SessionDep, _caller: Watcher,
    reason: Annotated[WarningReason | None, Query(description="Only firms with this reason code.")] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Most firms on the page, most reasons first.")] = 100,
) -> EarlyWarningList:
    """The early-warning list: firms with reason codes from a fixed catalogue and the numbers behind them."""
    return service.early_warnings(service.latest(session), reason.value if reason else None, limit, cursor)


@router.get("/v1/monitoring/book", response_model=BookOut, responses=responses(401, 403, 422))
def book(
    request: Request, session: SessionDep, _caller: Watcher,
    start: Annotated[PeriodDay | None, Query(
        alias="from",
        description="First day of the collections period (1970-01-01 to 2999-12-31). "
                    "Default: the first day of the month of `to`.")] = None,
    end: Annotated[PeriodDay | None, Query(
        alias="to",
        description="Last day of the collections period, included (1970-01-01 to 2999-12-31). "
                    "Default: today (UTC).")] = None,
) -> BookOut:
    """The book's own figures: roll rates, vintage curves, realised against predicted default by grade, collections."""
    first, last = service.period(start, end, clock.today())
    return service.book(session, policy_of(request), first, last)


@router.get("/v1/monitoring/financing", response_model=FinancingBookOut, responses=responses(401, 403, 422))
def financing(
    session: SessionDep, _caller: Watcher,
    as_of: Annotated[PeriodDay | None, Query(
        description="The business day (1970-01-01 to 2999-12-31): journal rows booked on or before it, the "
                    "marketplace's history before its end. Default: today (UTC).")] = None,
) -> FinancingBookOut:
    """The financing book by product (outstanding, paid out, collected, recovered, realised loss, dilution, fees,
    overdue, recourse, defaulted) and the early warnings on single financings, at the end of a business day."""
    return service.financing(session, as_of or clock.today())
