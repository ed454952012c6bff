"""Credit lines over HTTP: apply, review a referral, freeze / unfreeze / re-limit an open line.

Every function takes the request's session and flushes, never commits. Each unit of work
reads before it writes, so it begins with ``BEGIN IMMEDIATE`` on SQLite
(:func:`take_write_lock`); on PostgreSQL the application being reviewed is locked with
``SELECT ... FOR UPDATE`` so two reviewers cannot both decide it.

One exposure: a line counts at its limit in the firm's debtor exposure, so opening a line
(an application, a review's approval) and raising a limit read the firm's other debtor
exposure (the advances it owes on financed orders and invoices,
:func:`credit.financing.exposure.firm_exposure`) into the decision, after locking the firm
(:func:`credit.financing.exposure.lock_firms`) as a financing booking does: the two never both
fit under the debtor concentration cap. Freezing and unfreezing read nothing of it.

The same lock serializes the applications of one firm: a second application waits for the
first to commit, then finds its line (409 ``line_exists``) or its referral (409
``application_pending``), never a unique-constraint error, never a second referral
(tests/api/credit_lines/test_application_concurrency.py races 16 of them on both stores).

Where an application stands is the row of ``credit_line_applications`` (status approved,
referred, declined or reviewed), next to its decision in the audit trail; a review is a
second decision whose parent is the application's. Each decision and review writes its event
(:mod:`credit.origination.applications`); the line it opens writes ``credit_line.opened``.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from pydantic import TypeAdapter
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, aliased

from api.credit_lines.schemas import ApplicationIn, ApplicationList, ApplicationOut, CreditLineOut, LineOut, ReviewIn, ReviewOut
from api.decisions.schemas import next_actions_out, reasons_out
from api.firms import service as firms
from api.kit.auth import Caller
from api.kit.db import take_write_lock
from api.kit.errors import Conflict, NotFound, Unprocessable, invalid
from api.kit.money import MARKETPLACE_CURRENCY, from_minor
from credit import ledger
from credit.audit import DecisionRecord, get_decision, record_decision
from credit.decisions import (
    ConcentrationCapExceeded,
    CreditLineApplication,
    CreditLineChange,
    CreditLineDecision,
    CreditLineReview,
    change_credit_line,
    decide_credit_line,
    review_credit_line,
)
from credit.financing.exposure import firm_exposure, lock_firms
from credit.models.serving import ServingModel
from credit.origination import applications
from credit.origination.tables import CreditLineApplicationRecord as Application
from credit.paging import InvalidCursor, decode_key_cursor, encode_key_cursor
from credit.policy import Policy
from credit.standing import sql as standing

_STATUS_OF_OUTCOME = {"approve": "approved", "refer": "referred", "decline": "declined"}
_LINE_DECISION_KINDS = ("credit_line_application", "credit_line_review", "line_change")
_decision_adapter = TypeAdapter(CreditLineDecision)
_APPLICATIONS = "application"
_DECISION_ID = re.compile(r"[0-9a-f-]{36}")


def _other_debtor_exposure(session: Session, firm_id: int) -> int:
    """The firm's debtor exposure besides its line: what it owes on financed orders and invoices."""
    exposure = firm_exposure(session, firm_id)
    return exposure.as_debtor - exposure.line


def _above_concentration(exc: ConcentrationCapExceeded) -> Conflict:
    return Conflict(f"A limit of {from_minor(exc.limit_minor)} is above what the firm's debtor concentration cap "
                    f"({from_minor(exc.cap_minor)}) leaves after the {from_minor(exc.exposure_minor)} it owes on "
                    f"financed orders and invoices: at most {from_minor(exc.headroom_minor)}.",
                    code="concentration_cap_exceeded",
                    details={"limit": str(from_minor(exc.limit_minor)), "cap": str(from_minor(exc.cap_minor)),
                             "financings_owed": str(from_minor(exc.exposure_minor)),
                             "max_limit": str(from_minor(exc.headroom_minor))})



def apply(session: Session, caller: Caller, body: ApplicationIn, policy: Policy, model: ServingModel,
          now: datetime) -> ApplicationOut:
    """Score the buyer, decide its application, audit it, and open the line when approved.

    Raises
    ------
    NotFound
        ``unknown_firm``.
    Conflict
        ``line_exists`` (the buyer has a line: change its limit instead), ``application_pending``
        (a referred application waits for review), ``firm_not_scored`` / ``score_stale`` (run
        the batch scoring).
    """
    take_write_lock(session)
    firm = firms.require_firm(session, body.buyer_id)
    lock_firms(session, firm.firm_id)
    line = ledger.find_line_of_firm(session, firm.firm_id)
    if line is not None:
        raise Conflict(f"Firm {firm.firm_id} already has credit line {line.line_id}; ask the finance team to change "
                       "its limit instead.", code="line_exists", details={"line_id": line.line_id})
    waiting = session.execute(select(Application.decision_id).where(
        Application.firm_id == firm.firm_id, Application.status == "referred")).scalar()
    if waiting is not None:
        raise Conflict(f"Firm {firm.firm_id} has an application waiting for the finance team's review ({waiting}).",
                       code="application_pending", details={"decision_id": waiting})
    score = firms.required_score(session, model, firm.firm_id)
    application = CreditLineApplication(
        firm_id=firm.firm_id,
        features=firms.live_features(score, firm, now, standing.firm_days_past_due(session, firm.firm_id, now)),
        pd=firms.pd_decimal(score), model_reason_codes=tuple(score.reason_codes),
        defaulted_before=firms.defaulted_before(session, firm.firm_id, now),
        requested_limit_minor=body.requested_limit,
        other_debtor_exposure_minor=_other_debtor_exposure(session, firm.firm_id))
    decision = decide_credit_line(application, policy)
    record = record_decision(
        session, kind="credit_line_application", inputs=application, decision=decision, policy=policy,
        actor=caller.actor, firm_id=firm.firm_id, model_name=score.model_name, model_version=score.model_version,
        request={"buyer_id": body.buyer_id, "requested_limit": None if body.requested_limit is None
                 else str(from_minor(body.requested_limit))}, now=now)
    line_id = None
    if decision.outcome == "approve":
        line_id = ledger.open_line(session, firm_id=firm.firm_id, limit_minor=decision.limit_minor,
                                   currency=MARKETPLACE_CURRENCY, per_order_cap_minor=decision.per_order_cap_minor,
                                   now=now)
    row = Application(decision_id=record.decision_id, firm_id=firm.firm_id,
                      status=_STATUS_OF_OUTCOME[decision.outcome], line_id=line_id, score_as_of=score.as_of,
                      actor=caller.actor, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    applications.announce_decided(session, row, record, now)
    return application_out(row, record, None)


def visible_application(session: Session, caller: Caller, decision_id: str) -> ApplicationOut:
    """The application (every finance, admin key sees every one); 404 ``application_not_found`` otherwise."""
    row = session.get(Application, decision_id)
    if row is None:
        raise NotFound(f"No credit-line application {decision_id}.", code="application_not_found")
    review = get_decision(session, row.review_decision_id) if row.review_decision_id else None
    return application_out(row, get_decision(session, decision_id), review)


def list_applications(session: Session, caller: Caller, status: str | None, cursor: str | None,
                      limit: int) -> ApplicationList:
    """Applications, oldest first (the review queue's order), optionally of one status, one page after ``cursor``.

    The order is (``created_at``, ``decision_id``), which never change: a page goes on after its
    cursor's application even if that one was reviewed meanwhile.

    Raises
    ------
    ServiceError
        422 naming ``cursor``: not a cursor of this list.
    """
    review = aliased(DecisionRecord)
    query = (select(Application, DecisionRecord, review)
             .join(DecisionRecord, DecisionRecord.decision_id == Application.decision_id)
             .outerjoin(review, review.decision_id == Application.review_decision_id)
             .order_by(Application.created_at, Application.decision_id).limit(limit + 1))
    if status is not None:
        query = query.where(Application.status == status)
    if cursor is not None:
        after = None
        try:
            after = session.get(Application, decode_key_cursor(_APPLICATIONS, cursor, _DECISION_ID))
        except InvalidCursor:
            pass
        if after is None:
            raise invalid("query", "cursor", "is not a cursor this service gave (take `next_cursor` from the previous "
                                             f"page as it is); got {cursor[:100]!r}.")
        query = query.where(or_(Application.created_at > after.created_at,
                                and_(Application.created_at == after.created_at,
                                     Application.decision_id > after.decision_id)))
    rows = session.execute(query).all()
    items = [application_out(row, record, reviewed) for row, record, reviewed in rows[:limit]]
    return ApplicationList(items=items, next_cursor=encode_key_cursor(_APPLICATIONS, items[-1].decision_id)
                           if len(rows) > limit else None)


def review(session: Session, caller: Caller, decision_id: str, body: ReviewIn, policy: Policy,
           now: datetime) -> ApplicationOut:
    """The finance team approves, re-limits or declines a referred application, once; approval opens the line.

    Raises
    ------
    NotFound
        ``application_not_found``.
    Conflict
        ``application_not_referred``: decided at once, or already reviewed;
        ``concentration_cap_exceeded``: the limit is above what the debtor concentration cap
        leaves after the firm's financings (change the limit to at most ``max_limit``).
    Unprocessable
        ``limit_out_of_policy``: a changed limit outside the policy's smallest and largest line.
    """
    take_write_lock(session)
    row = session.execute(select(Application).where(Application.decision_id == decision_id)
                          .with_for_update()).scalar_one_or_none()
    if row is None:
        raise NotFound(f"No credit-line application {decision_id}.", code="application_not_found")
    if row.status != "referred":
        raise Conflict(f"Application {decision_id} is {row.status}: only a referred application is reviewed, "
                       "and only once.", code="application_not_referred", details={"status": row.status})
    application = get_decision(session, decision_id)
    referred = _decision_adapter.validate_python(application.result)
    opens = body.action != "decline"
    if opens:
        lock_firms(session, row.firm_id)
    try:
        inputs = CreditLineReview(firm_id=row.firm_id, action=body.action, referred=referred, reason=body.reason,
                                  limit_minor=body.limit,
                                  other_debtor_exposure_minor=_other_debtor_exposure(session, row.firm_id) if opens
                                  else None)
        decision = review_credit_line(inputs, policy)
    except ConcentrationCapExceeded as exc:
        raise _above_concentration(exc) from exc
    except ValueError as exc:
        raise Unprocessable(str(exc), code="limit_out_of_policy") from exc
    record = record_decision(
        session, kind="credit_line_review", inputs=inputs, decision=decision, policy=policy, actor=caller.actor,
        firm_id=row.firm_id, model_name=application.model_name, model_version=application.model_version,
        parent_decision_id=decision_id, request=body.model_dump(mode="json"), now=now)
    line_id = None
    if decision.outcome == "approve":
        line_id = ledger.open_line(session, firm_id=row.firm_id, limit_minor=decision.limit_minor,
                                   currency=MARKETPLACE_CURRENCY, per_order_cap_minor=decision.per_order_cap_minor,
                                   now=now)
    claimed = session.execute(
        update(Application).where(Application.decision_id == decision_id, Application.status == "referred")
        .values(status="reviewed", review_decision_id=record.decision_id, line_id=line_id, updated_at=now)
    ).rowcount
    if claimed != 1:  # another reviewer got there first (cannot happen under the lock above; kept as a guard)
        raise Conflict(f"Application {decision_id} was reviewed meanwhile.", code="application_not_referred")
    session.refresh(row)
    applications.announce_reviewed(session, row, application, record, now)
    return application_out(row, application, record)


def change_line(session: Session, caller: Caller, line_id: int, action: str, reason: str,
                new_limit_minor: int | None, policy: Policy, model: ServingModel | None, now: datetime) -> LineOut:
    """Freeze, unfreeze or re-limit an open line, with an audited ``line_change`` decision.

    The change is decided on the line's current grade and PD: those of the last credit-line
    decision that approved it, or (for a line opened otherwise) the firm's current score.

    Raises
    ------
    credit.ledger.NoLine, credit.ledger.LineClosed, credit.ledger.LimitBelowExposure
        No such line (404 ``line_not_found``); it is closed, or the new limit is below what is
        posted plus held (409 ``line_closed``, ``limit_below_exposure``): mapped by the kit.
    Conflict
        ``firm_not_scored``; ``concentration_cap_exceeded``: a raised limit above what the debtor
        concentration cap of the line's grade leaves after the firm's financings.
    Unprocessable
        ``limit_out_of_policy``.
    """
    take_write_lock(session)
    line = ledger.get_line(session, line_id)
    other = None
    if action == "change_limit":
        lock_firms(session, line.firm_id)
        line = ledger.get_line(session, line_id)  # as of the lock
        other = _other_debtor_exposure(session, line.firm_id)
    grade, pd_, parent = _line_grade(session, line.firm_id, policy, model)
    try:
        inputs = CreditLineChange(firm_id=line.firm_id, action=action, limit_minor=line.balances.limit_minor,
                                  grade=grade, pd=pd_, reason=reason, new_limit_minor=new_limit_minor,
                                  other_debtor_exposure_minor=other)
        decision = change_credit_line(inputs, policy)
    except ConcentrationCapExceeded as exc:
        raise _above_concentration(exc) from exc
    except ValueError as exc:
        raise Unprocessable(str(exc), code="limit_out_of_policy") from exc
    if action == "freeze":
        ledger.freeze(session, line_id, now=now)
    elif action == "unfreeze":
        ledger.unfreeze(session, line_id, now=now)
    else:
        ledger.change_limit(session, line_id, decision.limit_minor, per_order_cap_minor=decision.per_order_cap_minor,
                            now=now)
    record = record_decision(
        session, kind="line_change", inputs=inputs, decision=decision, policy=policy, actor=caller.actor,
        firm_id=line.firm_id, parent_decision_id=parent,
        request={"line_id": line_id, "action": action, "reason": reason,
                 "limit": None if new_limit_minor is None else str(from_minor(new_limit_minor))}, now=now)
    after = ledger.get_line(session, line_id)
    return LineOut(line_id=line_id, firm_id=after.firm_id, status=after.status, limit=after.balances.limit_minor,
                   posted=after.balances.posted_minor, pending=after.balances.pending_minor,
                   available=after.balances.available_minor, per_order_cap=after.per_order_cap_minor,
                   decision_id=record.decision_id, reason_codes=reasons_out(decision.reason_codes))


def line(session: Session, line_id: int) -> CreditLineOut:
    """The line now; :class:`~credit.ledger.NoLine` (404 ``line_not_found``) if there is none."""
    state = ledger.get_line(session, line_id)
    balances = state.balances
    return CreditLineOut(line_id=state.line_id, firm_id=state.firm_id, currency=state.currency, status=state.status,
                         frozen_by=state.frozen_by, limit=balances.limit_minor, posted=balances.posted_minor,
                         pending=balances.pending_minor, available=max(balances.available_minor, 0),
                         per_order_cap=state.per_order_cap_minor)


def _line_grade(session: Session, firm_id: int, policy: Policy,
                model: ServingModel | None) -> tuple[str, Decimal, str | None]:
    last = session.execute(
        select(DecisionRecord.decision_id, DecisionRecord.result)
        .where(DecisionRecord.firm_id == firm_id, DecisionRecord.kind.in_(_LINE_DECISION_KINDS),
               DecisionRecord.outcome == "approve")
        .order_by(DecisionRecord.created_at.desc(), DecisionRecord.decision_id.desc()).limit(1)
    ).first()
    if last is not None:
        return last.result["grade"], Decimal(last.result["pd"]), last.decision_id
    score = firms.current_score(session, model, firm_id)
    if score is None:
        raise Conflict(f"Firm {firm_id}'s line has no credit-line decision and the firm no score: run "
                       "`credit score --as-of <date>` first.", code="firm_not_scored")
    pd_ = firms.pd_decimal(score)
    return policy.grade_of(pd_), pd_, None


def application_out(row: Application, record: DecisionRecord, review: DecisionRecord | None) -> ApplicationOut:
    result = record.result
    requested = record.inputs.get("requested_limit_minor")
    review_out = None
    if review is not None:
        review_out = ReviewOut(decision_id=review.decision_id, outcome=review.outcome,
                               limit=review.result["limit_minor"], per_order_cap=review.result["per_order_cap_minor"],
                               reason_codes=reasons_out(review.reason_codes), actor=review.actor,
                               created_at=review.created_at)
    # Where the application stands now: once reviewed, the review's limit and next actions, not the proposal's.
    current = review if review is not None else record
    return ApplicationOut(
        decision_id=record.decision_id, buyer_id=row.firm_id, status=row.status, outcome=record.outcome,
        grade=result["grade"], pd=Decimal(result["pd"]), limit=current.result["limit_minor"],
        per_order_cap=current.result["per_order_cap_minor"],
        proposed_limit=result["limit_minor"] if record.outcome == "refer" else None, requested_limit=requested,
        reason_codes=reasons_out(record.reason_codes), next_actions=next_actions_out(current.next_actions),
        model_name=record.model_name, model_version=record.model_version, score_as_of=row.score_as_of,
        policy_version=record.policy_version, line_id=row.line_id, review=review_out, created_at=record.created_at)
