"""The book's daily ageing snapshot: each line's days past due, bucket and amounts (``book_ageing``).

Roll rates (current -> 1-30 -> 31-60 -> 61-90 -> default) and vintage curves read one row per
line and servicing day. A line's row at the end of day ``as_of`` (the moment ``judged_at``):

* ``days_past_due``: of its oldest overdue receivable (something owed, a whole day or more
  past due: :mod:`credit.standing`); 0 when none is. The rule of
  :func:`credit.servicing.status.line_days_past_due`, for every line in one query (a test
  holds the two equal);
* ``bucket``: ``current`` (0), ``1-30``, ``31-60``, ``61-90``, ``90+`` (91 and more); a line
  with a written-off receivable (charged off, or recovered since) counts ``90+``: default
  is where roll rates end;
* ``open_minor``: everything still owed on its receivables (principal, fees, late fees),
  written-off ones included, since collections go on; ``overdue_minor``: of which overdue;
* ``charged_off_minor``: realised loss, charged off less recovered.

Only receivables issued before ``judged_at`` count. Rewriting a day writes only what changed.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.orm import Session

from credit.servicing.amounts import OWED, RECEIVABLES
from credit.servicing.tables import WRITTEN_OFF, BookAgeing
from credit.standing import days_past_due, overdue_cutoff

AGEING = BookAgeing.__table__
_r = RECEIVABLES.c
_BUCKETS = ((0, "current"), (30, "1-30"), (60, "31-60"), (90, "61-90"))


def ageing_bucket(days_past_due: int, *, written_off: bool = False) -> str:
    """The ageing bucket of a line ``days_past_due`` days past due (``90+`` once written off)."""
    if not written_off:
        for upper, bucket in _BUCKETS:
            if days_past_due <= upper:
                return bucket
    return "90+"


def line_ageing(session: Session, judged_at: datetime) -> list[dict]:
    """Each line's ageing row at ``judged_at`` (without ``as_of``), for every line with receivables, by line id."""
    cutoff = overdue_cutoff(judged_at)
    overdue = (OWED > 0) & (_r.due_at <= cutoff)
    rows = session.execute(
        select(_r.line_id, func.min(_r.firm_id).label("firm_id"),
               func.min(case((overdue, _r.due_at))).label("oldest_overdue"),
               func.sum(OWED).label("open_minor"),
               func.sum(case((overdue, OWED), else_=0)).label("overdue_minor"),
               func.sum(_r.charged_off_minor - _r.recovered_minor).label("charged_off_minor"),
               func.max(case((_r.status.in_(WRITTEN_OFF), 1), else_=0)).label("written_off"))
        .where(_r.issued_at < judged_at).group_by(_r.line_id).order_by(_r.line_id)).all()
    ageing = []
    for row in rows:
        dpd = 0 if row.oldest_overdue is None else days_past_due(row.oldest_overdue, judged_at)
        ageing.append({
            "line_id": row.line_id, "firm_id": row.firm_id, "days_past_due": dpd,
            "bucket": ageing_bucket(dpd, written_off=bool(row.written_off)),
            "open_minor": int(row.open_minor), "overdue_minor": int(row.overdue_minor),
            "charged_off_minor": int(row.charged_off_minor)})
    return ageing


def write_ageing(session: Session, as_of: date, judged_at: datetime) -> tuple[int, int]:
    """Store :func:`line_ageing` as the ``book_ageing`` rows of ``as_of``.

    A row already there for the line and day is updated only where it differs, so a second
    run for the same day over an unchanged book writes nothing.

    Returns
    -------
    tuple of int
        Lines in the snapshot, and rows inserted or changed.
    """
    stored = {row.line_id: row._asdict() for row in session.execute(
        select(AGEING).where(AGEING.c.as_of == as_of)).all()}
    written = 0
    ageing = line_ageing(session, judged_at)
    for row in ageing:
        row = {"as_of": as_of, **row}
        before = stored.get(row["line_id"])
        if before is None:
            session.execute(insert(AGEING).values(**row))
        elif before != row:
            session.execute(update(AGEING).where(AGEING.c.as_of == as_of, AGEING.c.line_id == row["line_id"])
                            .values(**row))
        else:
            continue
        written += 1
    return len(ageing), written
