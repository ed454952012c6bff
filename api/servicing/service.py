"""The book's receivables for the API: the library's rows as response schemas, the query's checks, the export.

Every reader (the finance team, analysts, admins, the payment system) sees every receivable: the
marketplace is one tenant and the book is the credit provider's. What a client can get wrong in
the query (a cursor it did not receive, dates the wrong way round) is a 422 ``validation_failed``
whose ``details`` name the parameter, like any other invalid query parameter.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from api.kit.errors import NotFound, ServiceError
from api.servicing.schemas import AgeingBucketOut, OwedOut, ReceivableOut, ReceivablePageOut, StatementOut
from credit.servicing import statement as book
from credit.servicing.statement import InvalidCursor, InvalidPeriod, ReceivableRow

LAST_DAY = date(2999, 12, 31)
"""Latest date a query may name: a day whose end is still a time the store can hold."""


def invalid_parameter(name: str, message: str) -> ServiceError:
    """422 ``validation_failed`` naming the query parameter ``name``, in the kit's validation shape."""
    return ServiceError(f"query.{name}: {message}", code="validation_failed", status_code=422,
                        details=[{"loc": ["query", name], "msg": message, "type": "value_error"}])


def _day(value: date | None, name: str) -> date | None:
    if value is not None and not date(1900, 1, 1) <= value <= LAST_DAY:
        raise invalid_parameter(name, f"must be a date from 1900-01-01 to {LAST_DAY}; got {value}.")
    return value


def after_id(cursor: str | None) -> int | None:
    """The receivable id a page's cursor carries; 422 naming ``cursor`` when it is not one of ours."""
    if cursor is None:
        return None
    try:
        return book.decode_cursor(cursor)
    except InvalidCursor as exc:
        raise invalid_parameter("cursor", str(exc)) from None


def filters(*, firm_id: int | None, line_id: int | None, statuses: list[str] | None, due_from: date | None,
            due_to: date | None) -> dict[str, Any]:
    """The list's filters for :func:`credit.servicing.statement.list_receivables`, checked."""
    due_from, due_to = _day(due_from, "due_from"), _day(due_to, "due_to")
    if due_from is not None and due_to is not None and due_to < due_from:
        raise invalid_parameter("due_to", f"must not be before `due_from` ({due_from}); got {due_to}.")
    return {"firm_id": firm_id, "line_id": line_id, "statuses": sorted(set(statuses)) if statuses else None,
            "due_from": due_from, "due_to": due_to}


def receivable_out(row: ReceivableRow) -> ReceivableOut:
    owed = row.owed
    return ReceivableOut(
        receivable_id=row.receivable_id, firm_id=row.firm_id, line_id=row.line_id, hold_id=row.hold_id,
        parent_id=row.parent_id, kind=row.kind, installment_number=row.installment_number,
        installment_count=row.installment_count, order_reference=row.order_reference,
        shipment_reference=row.shipment_reference, terms_days=row.terms_days, issued_at=row.issued_at,
        due_at=row.due_at, status=row.status, currency=row.currency, principal=row.principal_minor,
        refunded=row.refunded_minor, rescheduled=row.rescheduled_minor, fee=row.fee_minor,
        merchant_fee=row.merchant_fee_minor, late_fee=row.late_fee_minor, paid_principal=row.paid_principal_minor,
        paid_fee=row.paid_fee_minor, paid_late_fee=row.paid_late_fee_minor, charged_off=row.charged_off_minor,
        recovered=row.recovered_minor,
        owed=OwedOut(principal=owed.principal, fee=owed.fee, late_fee=owed.late_fee, total=owed.total))


def page(session: Session, checked_filters: dict[str, Any], cursor: str | None, limit: int) -> ReceivablePageOut:
    """The page of receivables after ``cursor`` (the first without one)."""
    rows = book.list_receivables(session, **checked_filters, after_id=after_id(cursor), limit=limit)
    return ReceivablePageOut(items=[receivable_out(row) for row in rows.rows], next_cursor=rows.next_cursor)


def receivable(session: Session, receivable_id: int) -> ReceivableOut:
    """One receivable, or 404 ``receivable_not_found``."""
    row = book.get_receivable(session, receivable_id)
    if row is None:
        raise NotFound(f"Receivable {receivable_id} does not exist.", code="receivable_not_found")
    return receivable_out(row)


def export(session: Session, checked_filters: dict[str, Any]) -> str:
    """Every receivable the filters select, as the library's CSV (header row first).

    Built whole before the response starts: the request's session ends when the route returns,
    and the book of one marketplace is thousands of rows, not millions.
    """
    return book.receivables_csv(book.all_receivables(session, **checked_filters))


def statement(session: Session, firm_id: int, period_from: date, period_to: date, now: datetime) -> StatementOut:
    """The buyer's statement for whole UTC days ``period_from`` to ``period_to``, closing no later than ``now``.

    Raises
    ------
    ServiceError
        422 naming ``from`` or ``to``: out of range, reversed, or a period starting after now.
    """
    _day(period_from, "from")
    _day(period_to, "to")
    if period_to < period_from:
        raise invalid_parameter("to", f"must not be before `from` ({period_from}); got {period_to}.")
    start, end = book.day_range(period_from, period_to, names=("from", "to"))
    end = min(end, now)
    if end <= start:
        raise invalid_parameter("from", f"must not be after today ({now.date()}); got {period_from}.")
    try:
        result = book.statement(session, firm_id, period_start=start, period_end=end)
    except InvalidPeriod as exc:  # checked above; kept so that a library change cannot become a 500
        raise invalid_parameter("to", str(exc)) from None
    return StatementOut(
        firm_id=result.firm_id, line_id=result.line_id, currency=result.currency, period_from=period_from,
        period_to=period_to, closing_at=end, opening_balance=result.opening_minor,
        new_receivables=result.new_receivables_minor, fees=result.fees_minor, payments=result.payments_minor,
        adjustments=result.adjustments_minor, closing_balance=result.closing_minor,
        credit_balance=result.credit_balance_minor,
        ageing=[AgeingBucketOut(bucket=bucket.bucket, receivables=bucket.receivables, owed=bucket.owed_minor)
                for bucket in result.ageing])
