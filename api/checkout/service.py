"""Checkout credit over HTTP: the buyer's state in one read, the policy's decision, the ledger's hold, the audit.

Every function takes the request's session and flushes, never commits (the kit's unit of
work does, together with the stored idempotent response). Units of work that read before
they write call :func:`take_write_lock` first: on SQLite a deferred transaction whose read
snapshot went stale cannot wait for the write lock and fails with "database is locked".

Who sees what (:func:`_holds_of`): a ``checkout`` key sees the holds
it authorized, found by its holder's name as the audit trail names it, so a key issued again
under the same name takes over the holds of the one it replaces; the finance team, analysts
and admins see every hold. Another's hold is the same 404 ``hold_not_found`` as a missing
one.

A capture books the buyer's receivable and a refund reduces it (:mod:`credit.servicing.receivables`)
in the same unit of work as the ledger's movement.

A business reference books once per caller (:mod:`credit.ledger.references`): each booking
claims its order, shipment or refund reference before it books and binds what it booked
after, so a retry under a new Idempotency-Key gets 409 ``duplicate_reference`` naming the
hold, never a second booking. A declined authorization gives its order reference back.

A decline writes its audited decision and its ``authorization.declined`` event (the decision is
the declined authorization's id); approvals, captures, voids and refunds write theirs in the
ledger (:mod:`credit.ledger.checkout`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, bindparam, select
from sqlalchemy.orm import Session

from api.checkout.schemas import (
    AuthorizationApproved,
    AuthorizationDeclined,
    AuthorizationIn,
    BalancesOut,
    HoldOut,
    HoldPageOut,
    NextAction,
    PrecheckIn,
    PrecheckOut,
)
from api.firms import service as firms
from api.kit.auth import Caller
from api.kit.db import take_write_lock
from api.kit.errors import Conflict, invalid
from api.kit.money import from_minor
from credit import ledger
from credit.audit import record_decision
from credit.decisions import CheckoutDecision, CheckoutRequest, decide_checkout
from credit.decisions.codes import CHECKOUT_DECLINES, NEXT_ACTIONS
from credit.events import outbox
from credit.ledger import references
from credit.ledger.journal import LINES, Balances
from credit.paging import InvalidCursor, decode_cursor, encode_cursor
from credit.policy import Policy
from credit.scoring.tables import ScoreSnapshot
from credit.servicing import receivables
from credit.standing import overdue_cutoff
from credit.standing import sql as standing
from credit.store.prepared import PreparedStatement
from credit.store.tables import Firm

_AUTHORIZE_ATTEMPTS = 3
_SEES_EVERY_HOLD = frozenset({"finance", "analyst", "admin"})
_HOLDS_CURSOR = "hold"



@dataclass(frozen=True)
class BuyerState:
    """What the checkout decision needs to know about a buyer now."""

    firm_id: int
    line_id: int | None
    line_status: str  # "none", "active", "frozen" or "closed"
    per_order_cap_minor: int | None
    balances: Balances | None
    days_past_due: int
    pd: float | None
    model_name: str | None
    model_version: str | None

    def checkout_request(self, amount_minor: int) -> CheckoutRequest:
        return CheckoutRequest(
            firm_id=self.firm_id, amount_minor=amount_minor, line_status=self.line_status,
            available_minor=self.balances.available_minor if self.balances else 0,
            per_order_cap_minor=self.per_order_cap_minor, days_past_due=self.days_past_due, pd=self.pd,
        )


def _buyer_query() -> Any:
    # The buyer's line, the due time of its oldest overdue invoice (credit.standing) and its
    # latest score (credit.scoring.latest_score's row: newest as-of, then newest run, on
    # ix_firm_scores_latest), in one statement: one round trip, and not the stored features.
    # On the tables, not the ORM classes: a Core statement skips the ORM's result machinery.
    firms = Firm.__table__.c
    scores = ScoreSnapshot.__table__.c
    buyer = bindparam("buyer_id", type_=BigInteger)
    overdue_since = standing.overdue_since(buyer, bindparam("now", type_=DateTime),
                                           bindparam("overdue_cutoff", type_=DateTime))
    latest = (select(scores.score_id).where(scores.firm_id == buyer)
              .order_by(scores.as_of.desc(), scores.scored_at.desc(), scores.score_id.desc()).limit(1)
              .scalar_subquery())
    return (select(LINES.c.line_id, LINES.c.status, LINES.c.per_order_cap_minor, LINES.c.limit_minor,
                   LINES.c.posted_minor, LINES.c.pending_minor, overdue_since.label("overdue_since"),
                   scores.pd, scores.model_name, scores.model_version)
            .select_from(Firm.__table__).outerjoin(LINES, LINES.c.firm_id == firms.firm_id)
            .outerjoin(ScoreSnapshot.__table__, scores.score_id == latest)
            .where(firms.firm_id == buyer))


_BUYER = PreparedStatement(_buyer_query())  # built once: constructing it costs more than running it


def buyer_state(session: Session, buyer_id: int, now: datetime) -> BuyerState:
    """The buyer's line, arrears (``ix_invoices_buyer_due`` / ``ix_payments_invoice``) and latest score, in one query.

    Raises
    ------
    NotFound
        ``unknown_firm``: no firm has this id. The query reads the firm and outer-joins its
        line, so this costs nothing more: no row is no firm, a row without a line is ``no_line``.
    """
    row = _BUYER.first(session, {"buyer_id": buyer_id, "now": now, "overdue_cutoff": overdue_cutoff(now)})
    if row is None:
        raise firms.unknown_firm(buyer_id)
    days_past_due = standing.days_past_due_since(row.overdue_since, now)
    has_line = row.line_id is not None
    return BuyerState(
        firm_id=buyer_id, line_id=row.line_id, line_status=row.status if has_line else "none",
        per_order_cap_minor=row.per_order_cap_minor,
        balances=Balances(row.limit_minor, row.posted_minor, row.pending_minor) if has_line else None,
        days_past_due=days_past_due, pd=row.pd, model_name=row.model_name, model_version=row.model_version,
    )


def balances_out(balances: Balances) -> BalancesOut:
    return BalancesOut(limit=balances.limit_minor, posted=balances.posted_minor, pending=balances.pending_minor,
                       available=balances.available_minor)


def _next_actions(codes: tuple[str, ...]) -> list[NextAction]:
    return [NextAction(code=code, message=NEXT_ACTIONS[code]) for code in codes]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def precheck(session: Session, caller: Caller, body: PrecheckIn, policy: Policy, now: datetime) -> PrecheckOut:
    """What :func:`authorize` would answer now, without holding, recording or writing anything."""
    state = buyer_state(session, body.buyer_id, now)
    decision = decide_checkout(state.checkout_request(body.amount), policy)
    return PrecheckOut(
        approved=decision.outcome == "approve", decline_code=decision.decline_code,
        message=CHECKOUT_DECLINES[decision.decline_code] if decision.decline_code else None,
        next_actions=_next_actions(decision.next_actions),
        balances=balances_out(state.balances) if state.balances else None,
    )


def authorize(session: Session, caller: Caller, body: AuthorizationIn, policy: Policy,
              now: datetime) -> AuthorizationApproved | AuthorizationDeclined:
    """Decide an order paid on credit, hold it when approved, and audit the decision; one unit of work.

    The policy decides on the state just read; the ledger's guarded UPDATE then reserves. If
    the ledger declines (on PostgreSQL the line may change between the two), the state is
    read again and decided again, so the audited inputs always produce the audited outcome.

    The order reference is claimed first (a duplicate waits for the first to commit, then
    conflicts) and given back when the answer is a decline, so the order can come again.

    Raises
    ------
    NotFound
        ``unknown_firm``: no firm has the buyer's id (nothing is recorded).
    Conflict
        ``checkout_contended``: the line kept changing under three attempts; retry.
    DuplicateReference
        ``duplicate_reference``: the caller's order reference holds already (409, with its ``hold_id``).
    """
    take_write_lock(session)
    order = {"client": caller.client, "kind": "order", "reference": body.order_reference}
    references.claim(session, **order, now=now)
    hold_for = timedelta(days=policy.checkout.hold_expiry_days)
    for _ in range(_AUTHORIZE_ATTEMPTS):
        state = buyer_state(session, body.buyer_id, now)
        request = state.checkout_request(body.amount)
        decision = decide_checkout(request, policy)
        if decision.outcome == "decline":
            references.release(session, **order)
            record = _record(session, caller, body, state, request, decision, policy, now)
            outbox.emit(session, "authorization.declined", object_id=record.decision_id, firm_id=body.buyer_id,
                 occurred_at=now, data=ledger.declined_event_data(
                     decision_id=record.decision_id, buyer_id=body.buyer_id, line_id=state.line_id,
                     order_reference=body.order_reference, amount_minor=body.amount,
                     decline_code=decision.decline_code, next_actions=decision.next_actions))
            return AuthorizationDeclined(
                buyer_id=body.buyer_id, order_reference=body.order_reference, amount=body.amount,
                decline_code=decision.decline_code, message=CHECKOUT_DECLINES[decision.decline_code],
                next_actions=_next_actions(decision.next_actions),
                balances=balances_out(state.balances) if state.balances else None, decision_id=record.decision_id,
            )
        grade = None if state.pd is None else policy.grade_of(Decimal(str(state.pd)))
        terms_days = receivables.choose_terms(policy, grade, body.terms_days)
        try:
            hold = ledger.authorize(session, state.line_id, body.amount, order_reference=body.order_reference,
                                    authorized_by=caller.client, terms_days=terms_days, now=now, hold_for=hold_for)
        except ledger.Decline:
            continue  # the line changed since we read it: decide again on what it is now
        references.bind(session, **order, object_id=hold.hold_id)
        record = _record(session, caller, body, state, request, decision, policy, now)
        return AuthorizationApproved(
            hold_id=hold.hold_id, line_id=hold.line_id, buyer_id=body.buyer_id, order_reference=body.order_reference,
            amount=hold.amount_minor, terms_days=terms_days, expires_at=_utc(hold.expires_at),
            balances=balances_out(hold.balances), decision_id=record.decision_id,
        )
    raise Conflict("The buyer's credit line kept changing during this authorization; retry with the same "
                   "Idempotency-Key.", code="checkout_contended")


def _record(session: Session, caller: Caller, body: AuthorizationIn, state: BuyerState, request: CheckoutRequest,
            decision: CheckoutDecision, policy: Policy, now: datetime) -> Any:
    return record_decision(
        session, kind="checkout", inputs=request, decision=decision, policy=policy, actor=caller.actor,
        request={"buyer_id": body.buyer_id, "order_reference": body.order_reference,
                 "amount": str(from_minor(body.amount))},
        firm_id=body.buyer_id, model_name=state.model_name, model_version=state.model_version, now=now,
    )


def visible_hold(session: Session, caller: Caller, hold_id: int) -> ledger.HoldState:
    """The hold if the caller may see it; :class:`~credit.ledger.HoldNotFound` (404) otherwise, also for another's."""
    return ledger.get_hold(session, hold_id, authorized_by=_holds_of(caller))


def _holds_of(caller: Caller) -> str | None:
    """Whose holds the caller may see and settle: its client's (any of the client's keys), or everyone's (None)."""
    return None if caller.role in _SEES_EVERY_HOLD else caller.client


def hold_out(session: Session, hold: ledger.HoldState) -> HoldOut:
    return _hold_out(hold, balances_out(ledger.balances(session, hold.line_id)))


def _hold_out(hold: ledger.HoldState, balances: BalancesOut) -> HoldOut:
    return HoldOut(
        hold_id=hold.hold_id, line_id=hold.line_id, order_reference=hold.order_reference, status=hold.status,
        amount=hold.amount_minor, captured=hold.captured_minor, released=hold.released_minor,
        refunded=hold.refunded_minor, remaining=hold.remaining_minor, expires_at=_utc(hold.expires_at),
        balances=balances,
    )


def holds_of_buyer(session: Session, caller: Caller, buyer_id: int, statuses: list[str] | None, cursor: str | None,
                   limit: int) -> HoldPageOut:
    """The buyer's holds the caller may see (a checkout key: its own), in id order, one page after ``cursor``.

    Raises
    ------
    NotFound
        ``unknown_firm``.
    ServiceError
        422 naming ``cursor``: not a cursor of this list.
    """
    try:
        after_id = None if cursor is None else decode_cursor(_HOLDS_CURSOR, cursor)
    except InvalidCursor as exc:
        raise invalid("query", "cursor", str(exc)) from None
    firms.require_firm(session, buyer_id)
    line = ledger.find_line_of_firm(session, buyer_id)
    if line is None:
        return HoldPageOut(items=[], next_cursor=None)
    holds, more = ledger.holds_of_line(session, line.line_id, statuses=statuses, authorized_by=_holds_of(caller),
                                       after_id=after_id, limit=limit)
    balances = balances_out(line.balances)
    return HoldPageOut(items=[_hold_out(hold, balances) for hold in holds],
                       next_cursor=encode_cursor(_HOLDS_CURSOR, holds[-1].hold_id) if more else None)


def capture(session: Session, caller: Caller, hold_id: int, amount_minor: int, shipment_reference: str,
            policy: Policy, now: datetime) -> HoldOut:
    """Capture part of a hold (goods shipped), once per shipment reference, and book the buyer's receivable."""
    shipment = {"client": caller.client, "kind": "shipment", "reference": shipment_reference}
    references.claim(session, **shipment, now=now)
    hold, receivable_id = receivables.book_capture(
        session, hold_id=hold_id, amount_minor=amount_minor, shipment_reference=shipment_reference,
        authorized_by=_holds_of(caller), policy=policy, now=now)
    references.bind(session, **shipment, object_id=hold.hold_id)
    return hold_out(session, hold).model_copy(update={"receivable_id": receivable_id})


def void(session: Session, caller: Caller, hold_id: int, now: datetime) -> HoldOut:
    """Release what the hold still reserves and close it."""
    hold = ledger.void(session, hold_id, authorized_by=_holds_of(caller), now=now)
    return hold_out(session, hold)


def refund(session: Session, caller: Caller, hold_id: int, amount_minor: int, reference: str | None,
           now: datetime) -> HoldOut:
    """Book a seller's refund of captured goods: the order's receivables and exposure go down; a reference books once."""
    take_write_lock(session)  # the refund reads the order's receivables before it writes
    credit_note = {"client": caller.client, "kind": "refund", "reference": reference}
    if reference is not None:
        references.claim(session, **credit_note, now=now)
    hold = receivables.book_refund(session, hold_id=hold_id, amount_minor=amount_minor, reference=reference,
                                   authorized_by=_holds_of(caller), now=now)
    if reference is not None:
        references.bind(session, **credit_note, object_id=hold.hold_id)
    return hold_out(session, hold)
