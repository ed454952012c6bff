"""Monitoring over HTTP: the latest stored run (:func:`credit.monitoring.results.latest_run`), the
book's own figures (:func:`credit.monitoring.book.book_performance`) and the financing book
(:func:`credit.monitoring.financing_book.financing_book`), shaped for the API.

Every role that may call these routes sees the whole book (analysts and the finance team
watch the portfolio), so there is no per-caller filter. Before the first run every route of
the run answers 404 ``monitoring_run_not_found``; the book's figures are read live and are
empty, not missing, before the servicing job has run.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy.orm import Session

from api.kit.errors import NotFound, Unprocessable, invalid
from api.monitoring.schemas import (
    AllocatedOut,
    BookGradeOut,
    BookOut,
    CalibrationOut,
    CollectionsOut,
    EarlyWarningList,
    EarlyWarningOut,
    FinancingBookOut,
    FinancingProductOut,
    FinancingWarningOut,
    GradeCalibrationOut,
    MonitoringSummaryOut,
    PsiList,
    PsiOut,
    RollCellOut,
    RollMatrixOut,
    RollRowOut,
    RunOut,
    StatusCounts,
    VintageCalibrationOut,
    VintageOut,
    VintagePointOut,
    WarningReasonOut,
)
from credit.monitoring.book import book_performance
from credit.monitoring.financing_book import financing_book
from credit.monitoring.results import WARNING_REASONS, MonitoringRun, latest_run
from credit.paging import InvalidCursor, decode_cursor, encode_cursor
from credit.policy import Policy


def latest(session: Session) -> MonitoringRun:
    """The latest run, or 404 ``monitoring_run_not_found``."""
    run = latest_run(session)
    if run is None:
        raise NotFound("No monitoring run yet: run `credit monitor` (or `credit retrain`) first.",
                       code="monitoring_run_not_found")
    return run


def run_out(run: MonitoringRun) -> RunOut:
    return RunOut(run_id=run.run_id, created_at=run.created_at, as_of=run.as_of, model_name=run.model_name,
                  model_version=run.model_version, training_from=run.training_from, training_to=run.training_to,
                  firms=run.firms)


def _psi_out(row) -> PsiOut:  # noqa: ANN001
    return PsiOut(variable=row.variable, segment=row.segment, psi=row.psi, status=row.status,
                  expected_rows=row.expected_rows, actual_rows=row.actual_rows)


def summary(run: MonitoringRun) -> MonitoringSummaryOut:
    """The run in brief."""
    features = Counter(row.status for row in run.psi if row.variable != "score")
    grades = Counter(grade.status for grade in run.grades)
    reasons = Counter(code for warning in run.warnings for code in warning.reasons)
    return MonitoringSummaryOut(
        run=run_out(run), alarms=len(run.alarms), watches=len(run.watches),
        score_psi=[_psi_out(row) for row in run.psi if row.variable == "score"],
        feature_psi=StatusCounts(**features), grades=StatusCounts(**grades),
        calibration_vintage=run.calibration_vintage, early_warnings=len(run.warnings),
        early_warnings_by_reason={code: reasons.get(code, 0) for code in WARNING_REASONS},
        segments_not_assessed=list(run.settings.get("segments_not_assessed") or []))


def _run_page(run: MonitoringRun, name: str, rows: list, cursor: str | None, limit: int) -> tuple[list, str | None]:
    """The page of a run's list after ``cursor``: a run never changes, so a position in it is a stable cursor.

    Raises
    ------
    ServiceError
        422 naming ``cursor``: not a cursor of this list of this run (a newer run starts the list again).
    """
    prefix = f"{name}.{run.run_id}"
    try:
        start = 0 if cursor is None else decode_cursor(prefix, cursor)
    except InvalidCursor:
        raise invalid("query", "cursor", f"is not a cursor of this list of the latest run ({run.run_id}): take "
                                         "`next_cursor` as given, and start again from the first page after a "
                                         f"new monitoring run; got {cursor[:60]!r}.") from None
    end = start + limit
    return rows[start:end], encode_cursor(prefix, end) if end < len(rows) else None


def psi(run: MonitoringRun, variable: str | None, segment: str | None, status: str | None, cursor: str | None = None,
        limit: int = 500) -> PsiList:
    """PSI rows, filtered; the score first, then by segment and variable; one page after ``cursor``."""
    rows = [row for row in run.psi if (variable is None or row.variable == variable)
            and (segment is None or row.segment == segment) and (status is None or row.status == status)]
    rows.sort(key=lambda row: (row.variable != "score", row.segment, row.variable))
    page, next_cursor = _run_page(run, "psi", rows, cursor, limit)
    return PsiList(run=run_out(run), items=[_psi_out(row) for row in page], next_cursor=next_cursor)


def calibration(run: MonitoringRun) -> CalibrationOut:
    """Calibration by grade and by vintage."""
    return CalibrationOut(
        run=run_out(run), interval="Clopper-Pearson, 95%", calibration_vintage=run.calibration_vintage,
        grades=[GradeCalibrationOut(**vars(grade)) for grade in run.grades],
        vintages=[VintageCalibrationOut(**vars(vintage)) for vintage in run.vintages])


def early_warnings(run: MonitoringRun, reason: str | None, limit: int, cursor: str | None = None) -> EarlyWarningList:
    """Firms on the list (with ``reason`` among theirs, if given), most reasons first, ``limit`` after ``cursor``."""
    listed = [w for w in run.warnings if reason is None or reason in w.reasons]
    page, next_cursor = _run_page(run, "early-warning", listed, cursor, limit)
    return EarlyWarningList(run=run_out(run), total=len(listed), next_cursor=next_cursor, items=[
        EarlyWarningOut(firm_id=w.firm_id, details=w.details,
                        reasons=[WarningReasonOut(code=code, text=WARNING_REASONS[code]) for code in w.reasons])
        for w in page])


def period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The collections period asked for: ``end`` defaults to ``today``, ``start`` to the first day of ``end``'s month.

    Raises
    ------
    Unprocessable
        ``validation_failed`` when the start is after the end.
    """
    end = end or today
    start = start or end.replace(day=1)
    if start > end:
        message = f"must not be after `to` ({end}); got {start}"
        raise Unprocessable(f"query.from: {message}", code="validation_failed",
                            details=[{"loc": ["query", "from"], "msg": message, "type": "value_error"}])
    return start, end


def book(session: Session, policy: Policy, start: date, end: date) -> BookOut:
    """The book's figures (:func:`credit.monitoring.book.book_performance`) with the period's collections."""
    performance = book_performance(session, policy, start=start, end=end)
    figures = performance.collections
    return BookOut(
        month_ends=list(performance.month_ends),
        roll_rates=[RollMatrixOut(from_day=m.from_day, to_day=m.to_day, rows=[
            RollRowOut(bucket=row.bucket, lines=row.lines, open=row.open_minor, cells=[
                RollCellOut(to=cell.to, lines=cell.lines, line_share=cell.line_share, open=cell.open_minor,
                            amount_share=cell.amount_share) for cell in row.cells])
            for row in m.rows]) for m in performance.roll_rates],
        vintages=[VintageOut(vintage=v.vintage, captures=v.captures, principal=v.principal_minor, points=[
            VintagePointOut(months_on_book=p.months_on_book, as_of=p.as_of, charged_off=p.charged_off_minor,
                            charged_off_share=p.charged_off_share, past_due=p.past_due_minor,
                            past_due_share=p.past_due_share) for p in v.points]) for v in performance.vintages],
        interval=performance.interval,
        grades=[BookGradeOut(**vars(grade)) for grade in performance.grades],
        collections=CollectionsOut(
            start=figures.start, end=figures.end, received=figures.received_minor,
            received_count=figures.received_count, returned=figures.returned_minor,
            returned_count=figures.returned_count, allocated=AllocatedOut(**figures.allocated_minor),
            credit_balance=figures.credit_balance_minor, late_fees_assessed=figures.late_fees_assessed_minor,
            late_fees_paid=figures.late_fees_paid_minor, charged_off=figures.charged_off_minor,
            recovered=figures.recovered_minor, realised_loss=figures.realised_loss_minor))


def financing(session: Session, as_of: date) -> FinancingBookOut:
    """The financing book by product and its early warnings at the end of ``as_of``."""
    book = financing_book(session, as_of)
    return FinancingBookOut(
        as_of=book.as_of, statuses_read_at=book.statuses_read_at,
        products=[FinancingProductOut(
            kind=row.kind, outstanding_count=row.outstanding_count, outstanding=row.outstanding_minor,
            paid_out_count=row.paid_out_count, paid_out=row.paid_out_minor, collected=row.collected_minor,
            recovered=row.recovered_minor, written_off=row.written_off_minor, written_back=row.written_back_minor,
            realised_loss=row.realised_loss_minor, diluted=row.diluted_minor, financed_face=row.financed_face_minor,
            dilution_share=row.dilution_share, fees_earned=row.fees_earned_minor,
            fees_received=row.fees_received_minor, released=row.released_minor, overdue_count=row.overdue_count,
            overdue=row.overdue_minor, recourse_count=row.recourse_count, recourse=row.recourse_minor,
            defaulted_count=row.defaulted_count, defaulted=row.defaulted_minor) for row in book.products],
        warnings=[FinancingWarningOut(
            financing_id=w.financing_id, kind=w.kind, firm_id=w.firm_id, buyer_id=w.buyer_id,
            rule=WarningReasonOut(code=w.rule, text=w.text), at_risk=w.at_risk_minor, details=w.details)
            for w in book.warnings])
