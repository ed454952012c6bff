"""Checkout credit on a line: pre-check, authorize (hold), capture, void, refund, expire.

An authorization is TigerBeetle's pending transfer: its amount counts against the limit
from the moment it is reserved, so captures and voids can never break the limit. The
reservation is one guarded conditional UPDATE of the line,

    UPDATE credit_lines SET pending_minor = pending_minor + :a
    WHERE line_id = :id AND status = 'active'
      AND posted_minor + pending_minor + :a <= limit_minor AND (cap IS NULL OR :a <= cap)

followed by two INSERTs (the hold and its transfer). On PostgreSQL under READ COMMITTED a
concurrent UPDATE of the same row waits, then re-evaluates the WHERE clause on the row the
winner committed, so two authorizations can never both take the last headroom; on SQLite
writers are serialised by the database lock. The CHECK constraint
``posted_minor + pending_minor <= limit_minor`` backs both up.

Every write begins with its guarded UPDATE, so on SQLite the unit of work takes the write
lock at its first statement (waiting out the busy timeout) rather than failing when a read
snapshot turns stale. A unit of work that reads before it calls these (an idempotency
lookup, the buyer's line) must take the lock at BEGIN on SQLite: bind its session to
``engine.execution_options(sqlite_begin="IMMEDIATE")`` (see :func:`credit.store.engine.make_engine`),
or concurrent requests fail with "database is locked". Locks are always taken hold first,
then line, so two operations on PostgreSQL cannot deadlock each other.

Each approval, capture, void, refund and expiry writes its ``authorization.*`` event in the
same unit of work (data: :func:`authorization_event_data`), built from what the statements
return: the line's UPDATE returns its firm, so an event costs one INSERT and no read. A
decline writes nothing here; the service that decides it records it, with its event
(:func:`declined_event_data`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, DateTime, bindparam, case, insert, or_, select, update
from sqlalchemy.orm import Session

from credit import clock
from credit.decisions.checkout import line_decline
from credit.events import outbox
from credit.ledger.errors import (
    CaptureExceedsHold,
    Decline,
    ExceedsPosted,
    HoldExpired,
    HoldNotFound,
    HoldNotPending,
    LimitExceeded,
    LineClosed,
    LineFrozen,
    NoLine,
    PerOrderCapExceeded,
    RefundExceedsCaptured,
)
from credit.ledger.journal import HOLDS, LINES, TRANSFERS, Balances, book, require_non_negative, require_positive
from credit.money import MARKETPLACE_CURRENCY, from_minor, shown
from credit.store.prepared import PreparedStatement

DEFAULT_HOLD_PERIOD = timedelta(days=30)
"""How long an authorization stays capturable unless the caller says otherwise: order to shipment."""

_HOLD_COLUMNS = (
    HOLDS.c.hold_id, HOLDS.c.line_id, HOLDS.c.order_reference, HOLDS.c.amount_minor, HOLDS.c.captured_minor,
    HOLDS.c.released_minor, HOLDS.c.refunded_minor, HOLDS.c.status, HOLDS.c.expires_at,
)
_BALANCE_COLUMNS = (LINES.c.limit_minor, LINES.c.posted_minor, LINES.c.pending_minor)

# The authorization's statements, built once with bind parameters: building an UPDATE or
# INSERT with its values and computing its cache key cost more than SQLite running it.
_AMOUNT = bindparam("amount", type_=BigInteger)
_RESERVE = PreparedStatement(  # bind names differ from column names: an UPDATE reserves those for its SET clause
    update(LINES)
    .where(LINES.c.line_id == bindparam("line", type_=BigInteger), LINES.c.status == "active",
           LINES.c.posted_minor + LINES.c.pending_minor + _AMOUNT <= LINES.c.limit_minor,
           or_(LINES.c.per_order_cap_minor.is_(None), LINES.c.per_order_cap_minor >= _AMOUNT))
    .values(pending_minor=LINES.c.pending_minor + _AMOUNT, updated_at=bindparam("now", type_=DateTime))
    .returning(*_BALANCE_COLUMNS, LINES.c.firm_id)
)
_LINE_STATE = select(LINES.c.status, LINES.c.per_order_cap_minor, *_BALANCE_COLUMNS).where(
    LINES.c.line_id == bindparam("line_id", type_=BigInteger))
_INSERT_HOLD = PreparedStatement(insert(HOLDS).returning(HOLDS.c.hold_id), column_keys=[
    "line_id", "order_reference", "authorized_by", "terms_days", "amount_minor", "captured_minor", "released_minor",
    "refunded_minor", "status", "expires_at", "created_at", "updated_at"])


@dataclass(frozen=True)
class HoldState:
    """One order's authorization: what was held, captured, released and refunded."""

    hold_id: int
    line_id: int
    order_reference: str
    amount_minor: int
    captured_minor: int
    released_minor: int
    refunded_minor: int
    status: str
    expires_at: datetime

    @property
    def remaining_minor(self) -> int:
        """Still held: capturable until it expires, released by a void."""
        return self.amount_minor - self.captured_minor - self.released_minor


@dataclass(frozen=True)
class Authorization:
    """An approved authorization: the hold made and the line's balances right after."""

    hold_id: int
    line_id: int
    amount_minor: int
    expires_at: datetime
    balances: Balances


def authorization_event_data(hold: HoldState, **change: object) -> dict[str, object]:
    """An authorization (hold) as its events carry it, amounts as decimals; ``change`` adds what this event did."""
    return {"hold_id": hold.hold_id, "line_id": hold.line_id, "order_reference": hold.order_reference,
            "status": hold.status, "currency": MARKETPLACE_CURRENCY, "amount": from_minor(hold.amount_minor),
            "captured": from_minor(hold.captured_minor), "released": from_minor(hold.released_minor),
            "refunded": from_minor(hold.refunded_minor), "remaining": from_minor(hold.remaining_minor),
            "expires_at": hold.expires_at, **change}


def declined_event_data(*, decision_id: str, buyer_id: int, line_id: int | None, order_reference: str,
                        amount_minor: int, decline_code: str, next_actions: tuple[str, ...]) -> dict[str, object]:
    """A declined authorization as its event carries it; its id is the decline's audited decision (no hold exists)."""
    return {"decision_id": decision_id, "buyer_id": buyer_id, "line_id": line_id, "order_reference": order_reference,
            "status": "declined", "currency": MARKETPLACE_CURRENCY, "amount": from_minor(amount_minor),
            "decline_code": decline_code, "next_actions": list(next_actions)}


def _announce(session: Session, type: str, hold: HoldState, firm_id: int, now: datetime,  # noqa: A002
              **change: object) -> None:
    outbox.emit(session, type, object_id=hold.hold_id, firm_id=firm_id, data=authorization_event_data(hold, **change),
         occurred_at=now)


def authorize(session: Session, line_id: int, amount_minor: int, *, order_reference: str,
              authorized_by: str | None = None, terms_days: int | None = None, now: datetime | None = None,
              hold_for: timedelta = DEFAULT_HOLD_PERIOD) -> Authorization:
    """Hold ``amount_minor`` on the line for an order, or decline without holding anything.

    Parameters
    ----------
    session
        The caller's unit of work; it commits or rolls back.
    line_id
        The buyer's credit line.
    amount_minor
        Order amount to hold, integer minor units, > 0.
    order_reference
        The marketplace's order reference, kept on the hold and its transfer.
    authorized_by
        Who asks for the hold, kept on it (:func:`get_hold` can then show it to that party only).
    terms_days
        Payment terms of what is captured from it (days), chosen by the buyer; kept on the hold.
    now
        Booking time (UTC); defaults to the clock.
    hold_for
        How long the hold stays capturable.

    Returns
    -------
    Authorization
        The hold id and the balances after the hold.

    Raises
    ------
    InvalidAmount
        A non-positive or non-integer amount.
    Decline
        ``no_line``, ``line_closed``, ``line_frozen``, ``per_order_cap_exceeded`` or
        ``limit_exceeded``, in that order of precedence; nothing is written.
    """
    require_positive(amount_minor)
    now = now or clock.now()
    reserved = _reserve(session, line_id, amount_minor, now)
    if reserved is None:
        line = session.execute(_LINE_STATE, {"line_id": line_id}).first()
        decline = _decline(line_id, line, amount_minor)
        if decline is None:
            # PostgreSQL only: headroom freed between our UPDATE and this read. One more try.
            reserved = _reserve(session, line_id, amount_minor, now)
            if reserved is None:
                raise LimitExceeded(
                    f"Cannot hold {shown(amount_minor)} on line {line_id}: concurrent holds took the headroom.",
                    line_id=line_id, amount_minor=amount_minor)
        else:
            raise decline
    expires_at = now + hold_for
    hold_id = _INSERT_HOLD.first(session, {
        "line_id": line_id, "order_reference": order_reference, "authorized_by": authorized_by,
        "terms_days": terms_days, "amount_minor": amount_minor, "captured_minor": 0,
        "released_minor": 0, "refunded_minor": 0, "status": "pending", "expires_at": expires_at, "created_at": now,
        "updated_at": now,
    }).hold_id
    book(session, line_id=line_id, hold_id=hold_id, kind="hold", amount_minor=amount_minor,
         reference=order_reference, now=now)
    _announce(session, "authorization.approved",
              HoldState(hold_id, line_id, order_reference, amount_minor, 0, 0, 0, "pending", expires_at),
              reserved.firm_id, now, terms_days=terms_days)
    return Authorization(hold_id=hold_id, line_id=line_id, amount_minor=amount_minor, expires_at=expires_at,
                         balances=Balances(reserved.limit_minor, reserved.posted_minor, reserved.pending_minor))


def capture(session: Session, hold_id: int, amount_minor: int, *, reference: str | None = None,
            authorized_by: str | None = None, now: datetime | None = None) -> HoldState:
    """Move part or all of what a hold still reserves to posted exposure (goods shipped).

    Several captures may follow one authorization, up to its amount; the hold closes when
    fully captured. Allowed on a frozen line: the order was already approved.

    Raises
    ------
    InvalidAmount
        A non-positive or non-integer amount.
    HoldNotFound, HoldNotPending, HoldExpired
        No such hold (authorized by ``authorized_by``, when given: see :func:`get_hold`); it is
        closed (fully captured or voided); it is past ``expires_at``.
    CaptureExceedsHold
        More than the hold still reserves (``capture_exceeds_hold``).
    """
    require_positive(amount_minor)
    now = now or clock.now()
    # One guarded UPDATE of the hold: two concurrent captures cannot both take its rest.
    captured = session.execute(
        update(HOLDS)
        .where(*_the_hold(hold_id, authorized_by), HOLDS.c.status == "pending", HOLDS.c.expires_at > now,
               HOLDS.c.captured_minor + HOLDS.c.released_minor + amount_minor <= HOLDS.c.amount_minor)
        .values(
            captured_minor=HOLDS.c.captured_minor + amount_minor,
            status=case((HOLDS.c.captured_minor + amount_minor == HOLDS.c.amount_minor, "closed"), else_="pending"),
            updated_at=now,
        )
        .returning(*_HOLD_COLUMNS)
    ).first()
    if captured is None:
        raise _capture_refusal(get_hold(session, hold_id, authorized_by=authorized_by), amount_minor, now)
    firm_id = session.execute(
        update(LINES).where(LINES.c.line_id == captured.line_id)
        .values(pending_minor=LINES.c.pending_minor - amount_minor,
                posted_minor=LINES.c.posted_minor + amount_minor, updated_at=now)
        .returning(LINES.c.firm_id)
    ).scalar_one()
    book(session, line_id=captured.line_id, hold_id=hold_id, kind="post", amount_minor=amount_minor,
         reference=reference, now=now)
    hold = HoldState(*captured)
    _announce(session, "authorization.captured", hold, firm_id, now,
              capture={"amount": from_minor(amount_minor), "reference": reference})
    return hold


def void(session: Session, hold_id: int, *, reference: str | None = None, authorized_by: str | None = None,
         now: datetime | None = None) -> HoldState:
    """Release everything a hold still reserves (order cancelled, or shipped short) and close it.

    Raises
    ------
    HoldNotFound, HoldNotPending
        No such hold (authorized by ``authorized_by``, when given); it is already closed or
        expired (``hold_not_pending``).
    """
    now = now or clock.now()
    # A pending hold has released nothing yet (void and expiry close it), so the rest is
    # amount - captured, and it is > 0 because a fully captured hold is closed.
    voided = session.execute(
        update(HOLDS).where(*_the_hold(hold_id, authorized_by), HOLDS.c.status == "pending")
        .values(released_minor=HOLDS.c.amount_minor - HOLDS.c.captured_minor, status="closed", updated_at=now)
        .returning(*_HOLD_COLUMNS)
    ).first()
    if voided is None:
        hold = get_hold(session, hold_id, authorized_by=authorized_by)
        raise HoldNotPending(f"Hold {hold_id} is {hold.status}; there is nothing left to void.",
                             hold_id=hold_id, status=hold.status)
    firm_id = session.execute(
        update(LINES).where(LINES.c.line_id == voided.line_id)
        .values(pending_minor=LINES.c.pending_minor - voided.released_minor, updated_at=now)
        .returning(LINES.c.firm_id)
    ).scalar_one()
    book(session, line_id=voided.line_id, hold_id=hold_id, kind="void", amount_minor=voided.released_minor,
         reference=reference, now=now)
    hold = HoldState(*voided)
    _announce(session, "authorization.voided", hold, firm_id, now, void={"reference": reference})
    return hold


def refund(session: Session, hold_id: int, amount_minor: int, *, reference: str | None = None,
           authorized_by: str | None = None, reopened_minor: int = 0, now: datetime | None = None) -> HoldState:
    """Book the seller refunding part of a captured order: posted exposure goes down by it.

    Unlike a repayment (the buyer paying), a refund is tied to the order's hold and cannot
    exceed what was captured on it less earlier refunds. It also cannot exceed what is still
    posted on the line, unless part of it refunds goods the buyer has already paid for:
    servicing then gives that payment back to the buyer's credit balance and passes its amount
    as ``reopened_minor``, booked as a ``reopen`` transfer in the same UPDATE, so exposure
    falls by ``amount_minor - reopened_minor`` only.

    Raises
    ------
    InvalidAmount
        A non-positive or non-integer amount.
    HoldNotFound
        No such hold (authorized by ``authorized_by``, when given).
    RefundExceedsCaptured
        More than captured less refunded on this hold (``refund_exceeds_captured``).
    ExceedsPosted
        More than the line has posted (``exceeds_posted``).
    """
    require_positive(amount_minor)
    require_non_negative(reopened_minor, "reopened_minor")
    now = now or clock.now()
    refunded = session.execute(
        update(HOLDS)
        .where(*_the_hold(hold_id, authorized_by), HOLDS.c.refunded_minor + amount_minor <= HOLDS.c.captured_minor)
        .values(refunded_minor=HOLDS.c.refunded_minor + amount_minor, updated_at=now)
        .returning(*_HOLD_COLUMNS)
    ).first()
    if refunded is None:
        hold = get_hold(session, hold_id, authorized_by=authorized_by)
        refundable = hold.captured_minor - hold.refunded_minor
        raise RefundExceedsCaptured(
            f"Cannot refund {shown(amount_minor)} on hold {hold_id}: captured {shown(hold.captured_minor)}, already "
            f"refunded {shown(hold.refunded_minor)}, so at most {shown(refundable)} can be refunded.",
            hold_id=hold_id, amount_minor=amount_minor, captured_minor=hold.captured_minor,
            refunded_minor=hold.refunded_minor,
        )
    firm_id = session.execute(
        update(LINES).where(LINES.c.line_id == refunded.line_id,
                            LINES.c.posted_minor + reopened_minor >= amount_minor)
        .values(posted_minor=LINES.c.posted_minor + reopened_minor - amount_minor, updated_at=now)
        .returning(LINES.c.firm_id)
    ).scalar()
    if firm_id is None:
        # Undo our own hold update (we hold its row lock) so a caller that catches this and
        # commits anyway still leaves the hold and the journal in agreement.
        session.execute(update(HOLDS).where(HOLDS.c.hold_id == hold_id)
                        .values(refunded_minor=HOLDS.c.refunded_minor - amount_minor))
        posted = session.execute(select(LINES.c.posted_minor).where(LINES.c.line_id == refunded.line_id)).scalar_one()
        raise ExceedsPosted(
            f"Cannot refund {shown(amount_minor)} on line {refunded.line_id}: only {shown(posted)} is posted "
            f"(the buyer has repaid the rest).",
            hold_id=hold_id, line_id=refunded.line_id, amount_minor=amount_minor, posted_minor=posted,
        )
    if reopened_minor:
        book(session, line_id=refunded.line_id, hold_id=None, kind="reopen", amount_minor=reopened_minor,
             reference=reference, now=now)
    book(session, line_id=refunded.line_id, hold_id=hold_id, kind="refund", amount_minor=amount_minor,
         reference=reference, now=now)
    hold = HoldState(*refunded)
    _announce(session, "authorization.refunded", hold, firm_id, now,
              refund={"amount": from_minor(amount_minor), "reference": reference})
    return hold


def expire_holds(session: Session, now: datetime | None = None) -> list[int]:
    """Release every pending hold whose ``expires_at`` has passed; idempotent.

    Returns
    -------
    list of int
        The holds expired by this call (none when run again).
    """
    now = now or clock.now()
    expired = session.execute(
        update(HOLDS).where(HOLDS.c.status == "pending", HOLDS.c.expires_at <= now)
        .values(released_minor=HOLDS.c.amount_minor - HOLDS.c.captured_minor, status="expired", updated_at=now)
        .returning(*_HOLD_COLUMNS)
    ).all()
    if not expired:
        return []
    released: dict[int, int] = defaultdict(int)
    for row in expired:
        released[row.line_id] += row.released_minor
    firms: dict[int, int] = {}
    for line_id in sorted(released):  # a fixed lock order across concurrent sweeps
        firms[line_id] = session.execute(
            update(LINES).where(LINES.c.line_id == line_id)
            .values(pending_minor=LINES.c.pending_minor - released[line_id], updated_at=now)
            .returning(LINES.c.firm_id)).scalar_one()
    session.execute(insert(TRANSFERS), [
        {"line_id": row.line_id, "hold_id": row.hold_id, "kind": "expire", "amount_minor": row.released_minor,
         "reference": None, "created_at": now}
        for row in expired
    ])
    for row in sorted(expired, key=lambda row: row.hold_id):
        _announce(session, "authorization.expired", HoldState(*row), firms[row.line_id], now)
    return sorted(row.hold_id for row in expired)


def get_hold(session: Session, hold_id: int, *, authorized_by: str | None = None) -> HoldState:
    """The hold as stored.

    Parameters
    ----------
    authorized_by
        When given, only a hold authorized by this party is found: another's is refused
        exactly like one that does not exist, so its existence does not show.

    Raises
    ------
    HoldNotFound
        No such hold (authorized by ``authorized_by``, when given).
    """
    row = session.execute(select(*_HOLD_COLUMNS).where(*_the_hold(hold_id, authorized_by))).first()
    if row is None:
        raise HoldNotFound(f"Hold {hold_id} does not exist.", hold_id=hold_id)
    return HoldState(*row)


def holds_of_line(session: Session, line_id: int, *, statuses: Sequence[str] | None = None,
                  authorized_by: str | None = None, after_id: int | None = None,
                  limit: int) -> tuple[list[HoldState], bool]:
    """A line's holds in id order (the order they were authorized), one page at a time.

    Parameters
    ----------
    statuses
        Only holds in one of these statuses (None: any).
    authorized_by
        When given, only the holds this party authorized (see :func:`get_hold`).
    after_id
        Start after this hold id (the previous page's last).
    limit
        Most holds on the page, at least 1.

    Returns
    -------
    tuple[list[HoldState], bool]
        The page, and whether more holds follow it.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"`limit` must be a positive integer; got {limit!r}.")
    query = select(*_HOLD_COLUMNS).where(HOLDS.c.line_id == line_id)
    if statuses is not None:
        query = query.where(HOLDS.c.status.in_(list(statuses)))
    if authorized_by is not None:
        query = query.where(HOLDS.c.authorized_by == authorized_by)
    if after_id is not None:
        query = query.where(HOLDS.c.hold_id > after_id)
    rows = [HoldState(*row) for row in session.execute(query.order_by(HOLDS.c.hold_id).limit(limit + 1))]
    return rows[:limit], len(rows) > limit


def _the_hold(hold_id: int, authorized_by: str | None) -> list:
    # Another party's hold is matched by nothing, exactly like a hold that does not exist.
    where = [HOLDS.c.hold_id == hold_id]
    if authorized_by is not None:
        where.append(HOLDS.c.authorized_by == authorized_by)
    return where


def _reserve(session: Session, line_id: int, amount_minor: int, now: datetime):  # noqa: ANN202
    return _RESERVE.first(session, {"line": line_id, "amount": amount_minor, "now": now})


def _decline(line_id: int, line, amount_minor: int) -> Decline | None:  # noqa: ANN001
    if line is None:
        return NoLine(f"Credit line {line_id} does not exist.", line_id=line_id)
    available = line.limit_minor - line.posted_minor - line.pending_minor
    code = line_decline(line.status, amount_minor, line.per_order_cap_minor, available)
    if code == "line_closed":
        return LineClosed(f"Credit line {line_id} is closed.", line_id=line_id)
    if code == "line_frozen":
        return LineFrozen(f"Credit line {line_id} is frozen; no new authorizations.", line_id=line_id)
    if code == "per_order_cap_exceeded":
        return PerOrderCapExceeded(
            f"Order amount {shown(amount_minor)} exceeds the per-order cap {shown(line.per_order_cap_minor)} of line "
            f"{line_id}.",
            line_id=line_id, amount_minor=amount_minor, per_order_cap_minor=line.per_order_cap_minor,
        )
    if code == "limit_exceeded":
        return LimitExceeded(
            f"Order amount {shown(amount_minor)} exceeds available {shown(available)} on line {line_id} "
            f"(limit {shown(line.limit_minor)}, posted {shown(line.posted_minor)}, pending {shown(line.pending_minor)}).",
            line_id=line_id, amount_minor=amount_minor, available_minor=available, limit_minor=line.limit_minor,
            posted_minor=line.posted_minor, pending_minor=line.pending_minor,
        )
    return None


def _capture_refusal(hold: HoldState, amount_minor: int, now: datetime) -> Exception:
    if hold.status == "expired" or (hold.status == "pending" and hold.expires_at <= now):
        return HoldExpired(f"Hold {hold.hold_id} expired at {hold.expires_at:%Y-%m-%d %H:%M:%S} UTC; "
                           f"authorize the order again.", hold_id=hold.hold_id, expires_at=hold.expires_at.isoformat())
    if hold.status != "pending":
        return HoldNotPending(f"Hold {hold.hold_id} is {hold.status}; nothing is left to capture.",
                              hold_id=hold.hold_id, status=hold.status)
    return CaptureExceedsHold(
        f"Cannot capture {shown(amount_minor)} on hold {hold.hold_id}: {shown(hold.remaining_minor)} of "
        f"{shown(hold.amount_minor)} remains (captured {shown(hold.captured_minor)}).",
        hold_id=hold.hold_id, amount_minor=amount_minor, remaining_minor=hold.remaining_minor,
        captured_minor=hold.captured_minor,
    )
