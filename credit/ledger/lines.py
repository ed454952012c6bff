"""Credit lines: open, change the limit or per-order cap, freeze, close, read balances, repay, reopen, charge off.

Every function takes the caller's :class:`~sqlalchemy.orm.Session` and never commits: the
caller's unit of work does. Writes start with their guarded UPDATE, so on SQLite the unit of
work takes the write lock at its first statement and waits its turn instead of failing.

Each change of a line's status or terms writes its event in the same unit of work
(``credit_line.opened``, ``.changed``, ``.frozen``, ``.unfrozen``, ``.closed``; data:
:func:`line_event_data`), here rather than in the callers, so the API, the console and the
servicing job all announce what they change. A call that changes nothing (freezing a frozen
line) announces nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, insert, or_, select, update
from sqlalchemy.orm import Session

from credit import clock
from credit.events import outbox
from credit.ledger.errors import (
    ExceedsPosted,
    FirmNotFound,
    LimitBelowExposure,
    LineClosed,
    LineExists,
    LineNotEmpty,
    NoLine,
)
from credit.ledger.journal import LINES, Balances, book, require_non_negative, require_positive
from credit.ledger.tables import FROZEN_BY
from credit.money import from_minor, shown
from credit.store.tables import Firm

_BALANCE_COLUMNS = (LINES.c.limit_minor, LINES.c.posted_minor, LINES.c.pending_minor)
_LINE_COLUMNS = tuple(LINES.c)


@dataclass(frozen=True)
class LineState:
    """A credit line as stored: identity, terms, status and cached balances."""

    line_id: int
    firm_id: int
    currency: str
    status: str
    per_order_cap_minor: int | None
    balances: Balances
    frozen_by: str | None = None


def line_event_data(line: LineState) -> dict[str, object]:
    """A line as its events carry it: status, who froze it, and its terms and balances as decimal amounts."""
    balances = line.balances

    def money(minor: int) -> object:
        return from_minor(minor, line.currency)

    return {"line_id": line.line_id, "status": line.status, "frozen_by": line.frozen_by, "currency": line.currency,
            "limit": money(balances.limit_minor),
            "per_order_cap": None if line.per_order_cap_minor is None else money(line.per_order_cap_minor),
            "posted": money(balances.posted_minor), "pending": money(balances.pending_minor),
            "available": money(balances.available_minor)}


def _announce(session: Session, type: str, row, now: datetime) -> LineState:  # noqa: A002, ANN001 - a LINES row
    line = _line_state(row)
    outbox.emit(session, type, object_id=line.line_id, firm_id=line.firm_id, data=line_event_data(line), occurred_at=now)
    return line


def open_line(session: Session, *, firm_id: int, limit_minor: int, currency: str,
              per_order_cap_minor: int | None = None, now: datetime | None = None) -> int:
    """Open an active checkout credit line for a buyer firm, with nothing held or posted.

    Parameters
    ----------
    session
        The caller's unit of work.
    firm_id
        Buyer firm; it must exist and have no line yet.
    limit_minor
        Credit limit, integer minor units, >= 0.
    currency
        ISO 4217 code of every amount on the line.
    per_order_cap_minor
        Largest single authorization, or None for no cap below the limit.
    now
        Booking time (UTC); defaults to the clock.

    Returns
    -------
    int
        The new line's id.

    Raises
    ------
    InvalidAmount
        A negative limit or a non-positive cap.
    LineExists
        The firm already has a line (``line_exists``).
    FirmNotFound
        The firm does not exist (``no_firm``).
    """
    require_non_negative(limit_minor, "limit_minor")
    if per_order_cap_minor is not None:
        require_positive(per_order_cap_minor, "per_order_cap_minor")
    if session.execute(select(Firm.firm_id).where(Firm.firm_id == firm_id)).first() is None:
        raise FirmNotFound(f"Firm {firm_id} does not exist; a credit line needs a registered firm.", firm_id=firm_id)
    existing = session.execute(select(LINES.c.line_id).where(LINES.c.firm_id == firm_id)).scalar()
    if existing is not None:
        raise LineExists(f"Firm {firm_id} already has credit line {existing}; change its limit instead.",
                         firm_id=firm_id, line_id=existing)
    now = now or clock.now()
    opened = session.execute(insert(LINES).values(
        firm_id=firm_id, currency=currency, limit_minor=limit_minor, per_order_cap_minor=per_order_cap_minor,
        status="active", posted_minor=0, pending_minor=0, created_at=now, updated_at=now,
    ).returning(*_LINE_COLUMNS)).one()
    return _announce(session, "credit_line.opened", opened, now).line_id


def get_line(session: Session, line_id: int) -> LineState:
    """The line as stored. Raises :class:`NoLine` if there is none."""
    row = session.execute(select(LINES).where(LINES.c.line_id == line_id)).first()
    if row is None:
        raise NoLine(f"Credit line {line_id} does not exist.", line_id=line_id)
    return _line_state(row)


def _line_state(row) -> LineState:  # noqa: ANN001 - a row of LINES
    return LineState(
        line_id=row.line_id, firm_id=row.firm_id, currency=row.currency, status=row.status,
        per_order_cap_minor=row.per_order_cap_minor,
        balances=Balances(row.limit_minor, row.posted_minor, row.pending_minor), frozen_by=row.frozen_by,
    )


def line_of_firm(session: Session, firm_id: int) -> LineState:
    """The firm's line. Raises :class:`NoLine` if the firm has none."""
    line = find_line_of_firm(session, firm_id)
    if line is None:
        raise NoLine(f"Firm {firm_id} has no credit line.", firm_id=firm_id)
    return line


def find_line_of_firm(session: Session, firm_id: int) -> LineState | None:
    """The firm's line, or None if it has none (one read)."""
    row = session.execute(select(LINES).where(LINES.c.firm_id == firm_id)).first()
    return None if row is None else _line_state(row)


def balances(session: Session, line_id: int) -> Balances:
    """Limit, posted, pending and available of a line (cached values, one read).

    Raises
    ------
    NoLine
        There is no such line.
    """
    row = session.execute(select(*_BALANCE_COLUMNS).where(LINES.c.line_id == line_id)).first()
    if row is None:
        raise NoLine(f"Credit line {line_id} does not exist.", line_id=line_id)
    return Balances(*row)


_UNCHANGED = object()


def change_limit(session: Session, line_id: int, limit_minor: int, *, per_order_cap_minor: object = _UNCHANGED,
                 now: datetime | None = None) -> Balances:
    """Set a new limit (and, when given, a new per-order cap: one change, one event); never below what is already
    posted plus held.

    Lowering the limit below exposure would make available negative; the finance team must
    wait for captures to be repaid or holds to lapse, or freeze the line meanwhile.

    Returns
    -------
    Balances
        The line's balances under the new limit.

    Raises
    ------
    InvalidAmount
        A negative limit.
    LimitBelowExposure
        ``limit_minor`` < posted + pending (``limit_below_exposure``).
    LineClosed, NoLine
        The line is closed or does not exist.
    """
    require_non_negative(limit_minor, "limit_minor")
    values: dict[str, object] = {"limit_minor": limit_minor}
    if per_order_cap_minor is not _UNCHANGED:
        if per_order_cap_minor is not None:
            require_positive(per_order_cap_minor, "per_order_cap_minor")
        values["per_order_cap_minor"] = per_order_cap_minor
    now = now or clock.now()
    changed = session.execute(
        update(LINES)
        .where(LINES.c.line_id == line_id, LINES.c.status != "closed",
               LINES.c.posted_minor + LINES.c.pending_minor <= limit_minor)
        .values(updated_at=now, **values)
        .returning(*_LINE_COLUMNS)
    ).first()
    if changed is not None:
        return _announce(session, "credit_line.changed", changed, now).balances
    line = get_line(session, line_id)
    if line.status == "closed":
        raise LineClosed(f"Credit line {line_id} is closed; its limit cannot change.", line_id=line_id)
    exposure = line.balances.posted_minor + line.balances.pending_minor
    raise LimitBelowExposure(
        f"Cannot set the limit of line {line_id} to {shown(limit_minor)}: posted {shown(line.balances.posted_minor)} "
        f"+ pending {shown(line.balances.pending_minor)} = {shown(exposure)} is already used.",
        line_id=line_id, limit_minor=limit_minor, posted_minor=line.balances.posted_minor,
        pending_minor=line.balances.pending_minor,
    )


def change_per_order_cap(session: Session, line_id: int, per_order_cap_minor: int | None, *,
                         now: datetime | None = None) -> None:
    """Set (or with None remove) the largest single authorization on a line; holds already made stand."""
    if per_order_cap_minor is not None:
        require_positive(per_order_cap_minor, "per_order_cap_minor")
    now = now or clock.now()
    changed = _set(session, line_id, ("active", "frozen"), per_order_cap_minor=per_order_cap_minor, updated_at=now)
    _announce(session, "credit_line.changed", changed, now)


def freeze(session: Session, line_id: int, *, by: str = "finance", now: datetime | None = None) -> None:
    """Stop new authorizations; captures, voids, refunds and repayments of existing holds go on.

    Idempotent. A freeze by the finance team overrides one by servicing (only finance lifts
    it); a freeze by servicing leaves a finance freeze as it is.

    Parameters
    ----------
    by
        ``finance`` (a person decided) or ``servicing`` (dunning: days past due, or a returned
        payment took the line over its limit).

    Raises
    ------
    LineClosed, NoLine
    """
    now = now or clock.now()
    by = _frozen_by(by)
    frozen = session.execute(
        update(LINES).where(LINES.c.line_id == line_id, LINES.c.status == "active")
        .values(status="frozen", frozen_by=by, updated_at=now).returning(*_LINE_COLUMNS)).first()
    if frozen is not None:
        _announce(session, "credit_line.frozen", frozen, now)
        return
    if by == "servicing":
        if get_line(session, line_id).status == "frozen":
            return
        raise LineClosed(f"Credit line {line_id} is closed.", line_id=line_id)
    _set(session, line_id, ("frozen",), frozen_by=by, updated_at=now)  # finance takes over a servicing freeze


def unfreeze(session: Session, line_id: int, *, by: str = "finance", now: datetime | None = None) -> bool:
    """Accept authorizations again, if the line is within its limit. Idempotent.

    Parameters
    ----------
    by
        ``finance`` lifts any freeze; ``servicing`` lifts only its own.

    Returns
    -------
    bool
        Whether the line is active afterwards (False: frozen by finance and ``by`` is servicing).

    Raises
    ------
    LimitBelowExposure
        Posted plus pending exceed the limit (a returned payment): repay or raise the limit first.
    LineClosed, NoLine
    """
    allowed = (None, "finance", "servicing") if _frozen_by(by) == "finance" else (None, "servicing")
    now = now or clock.now()
    lifted = session.execute(
        update(LINES).where(LINES.c.line_id == line_id, LINES.c.status == "frozen",
                            or_(LINES.c.frozen_by.is_(None), LINES.c.frozen_by.in_([a for a in allowed if a])),
                            LINES.c.posted_minor + LINES.c.pending_minor <= LINES.c.limit_minor)
        .values(status="active", frozen_by=None, updated_at=now).returning(*_LINE_COLUMNS)).first()
    if lifted is not None:
        _announce(session, "credit_line.unfrozen", lifted, now)
        return True
    line = get_line(session, line_id)
    if line.status == "closed":
        raise LineClosed(f"Credit line {line_id} is closed.", line_id=line_id)
    if line.status == "active":
        return True  # not frozen: nothing to lift
    if line.balances.available_minor < 0:
        raise LimitBelowExposure(
            f"Credit line {line_id} is over its limit: {line.balances.describe()}; it stays frozen until repaid "
            f"or its limit is raised.", line_id=line_id, limit_minor=line.balances.limit_minor,
            posted_minor=line.balances.posted_minor, pending_minor=line.balances.pending_minor)
    return False


def _frozen_by(by: str) -> str:
    if by not in FROZEN_BY:
        raise ValueError(f"`by` must be one of {', '.join(FROZEN_BY)}; got {by!r}.")
    return by


def close_line(session: Session, line_id: int, *, now: datetime | None = None) -> None:
    """Close a line for good; only once nothing is posted or held.

    Raises
    ------
    LineNotEmpty
        Exposure remains (``line_not_empty``).
    NoLine
        There is no such line.
    """
    now = now or clock.now()
    closed = session.execute(
        update(LINES)
        .where(LINES.c.line_id == line_id, LINES.c.status != "closed", LINES.c.posted_minor == 0,
               LINES.c.pending_minor == 0)
        .values(status="closed", updated_at=now).returning(*_LINE_COLUMNS)
    ).first()
    if closed is not None:
        _announce(session, "credit_line.closed", closed, now)
        return
    line = get_line(session, line_id)
    if line.status == "closed" and not line.balances.posted_minor and not line.balances.pending_minor:
        return  # closed already
    raise LineNotEmpty(
        f"Credit line {line_id} still has posted {shown(line.balances.posted_minor)} and pending "
        f"{shown(line.balances.pending_minor)}; it can close only when both are 0.",
        line_id=line_id, posted_minor=line.balances.posted_minor, pending_minor=line.balances.pending_minor,
    )


def repay(session: Session, line_id: int, amount_minor: int, *, reference: str | None = None,
          now: datetime | None = None) -> Balances:
    """Book the buyer paying back posted exposure; restores headroom by the amount.

    Allowed on a frozen line too: a buyer in trouble should still be able to pay.

    Returns
    -------
    Balances
        The line after the repayment.

    Raises
    ------
    InvalidAmount
        A non-positive or non-integer amount.
    ExceedsPosted
        More than is posted (``exceeds_posted``); held amounts cannot be repaid.
    NoLine
        There is no such line.
    """
    require_positive(amount_minor)
    now = now or clock.now()
    repaid = session.execute(
        update(LINES)
        .where(LINES.c.line_id == line_id, LINES.c.posted_minor >= amount_minor)
        .values(posted_minor=LINES.c.posted_minor - amount_minor, updated_at=now)
        .returning(*_BALANCE_COLUMNS)
    ).first()
    if repaid is None:
        posted = balances(session, line_id).posted_minor
        raise ExceedsPosted(
            f"Cannot repay {shown(amount_minor)} on line {line_id}: only {shown(posted)} is posted.",
            line_id=line_id, amount_minor=amount_minor, posted_minor=posted,
        )
    book(session, line_id=line_id, hold_id=None, kind="repay", amount_minor=amount_minor, reference=reference, now=now)
    return Balances(*repaid)


def reopen(session: Session, line_id: int, amount_minor: int, *, reference: str | None = None,
           now: datetime | None = None) -> Balances:
    """Put repaid principal back on posted exposure: the repayment that paid it was returned.

    The bank's return is a fact, so it is never refused for lack of headroom: a line it takes
    over its limit is frozen by servicing in the same UPDATE (the database's rule is that an
    *active* line is within its limit) until repayments bring it back under.

    Returns
    -------
    Balances
        The line afterwards; ``available_minor`` is negative when it went over its limit.
    """
    require_positive(amount_minor)
    now = now or clock.now()
    # The status before (and the row lock): a freeze this return causes is announced, one it finds is not.
    before = session.execute(select(LINES.c.status).where(LINES.c.line_id == line_id).with_for_update()).scalar()
    over = LINES.c.posted_minor + amount_minor + LINES.c.pending_minor > LINES.c.limit_minor
    freezes = and_(LINES.c.status == "active", over)
    reopened = session.execute(
        update(LINES).where(LINES.c.line_id == line_id)
        .values(posted_minor=LINES.c.posted_minor + amount_minor,
                status=case((freezes, "frozen"), else_=LINES.c.status),
                frozen_by=case((freezes, "servicing"), else_=LINES.c.frozen_by), updated_at=now)
        .returning(*_LINE_COLUMNS)
    ).first()
    if reopened is None:
        raise NoLine(f"Credit line {line_id} does not exist.", line_id=line_id)
    book(session, line_id=line_id, hold_id=None, kind="reopen", amount_minor=amount_minor, reference=reference, now=now)
    if before == "active" and reopened.status == "frozen":
        _announce(session, "credit_line.frozen", reopened, now)
    return _line_state(reopened).balances


def charge_off(session: Session, line_id: int, amount_minor: int, *, reference: str | None = None,
               now: datetime | None = None) -> Balances:
    """Move posted exposure to realised loss (a defaulted buyer's receivables written off).

    Raises
    ------
    ExceedsPosted
        More than is posted (``exceeds_posted``).
    """
    require_positive(amount_minor)
    now = now or clock.now()
    written = session.execute(
        update(LINES).where(LINES.c.line_id == line_id, LINES.c.posted_minor >= amount_minor)
        .values(posted_minor=LINES.c.posted_minor - amount_minor, updated_at=now)
        .returning(*_BALANCE_COLUMNS)
    ).first()
    if written is None:
        posted = balances(session, line_id).posted_minor
        raise ExceedsPosted(f"Cannot charge off {shown(amount_minor)} on line {line_id}: only {shown(posted)} is posted.",
                            line_id=line_id, amount_minor=amount_minor, posted_minor=posted)
    book(session, line_id=line_id, hold_id=None, kind="charge_off", amount_minor=amount_minor, reference=reference,
         now=now)
    return Balances(*written)


def _set(session: Session, line_id: int, from_statuses: tuple[str, ...], **values: object):  # noqa: ANN202
    changed = session.execute(
        update(LINES).where(LINES.c.line_id == line_id, LINES.c.status.in_(from_statuses)).values(**values)
        .returning(*_LINE_COLUMNS)
    ).first()
    if changed is not None:
        return changed
    get_line(session, line_id)  # raises NoLine
    raise LineClosed(f"Credit line {line_id} is closed.", line_id=line_id)
