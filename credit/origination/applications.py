"""Credit-line applications as their events carry them: ``application.decided`` and ``application.reviewed``.

The service that decides an application writes its row (:mod:`credit.origination.tables`) and
its audited decision; :func:`announce_decided` and :func:`announce_reviewed` write the event in
the same unit of work, its data from :func:`application_event_data`. Opening the line an
approval grants announces itself (``credit_line.opened``, :func:`credit.ledger.open_line`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from credit.audit.tables import DecisionRecord
from credit.decisions.codes import current_next_action
from credit.events import outbox
from credit.money import MARKETPLACE_CURRENCY, from_minor
from credit.origination.tables import CreditLineApplicationRecord
from credit.probability import pd_text


def application_event_data(application: CreditLineApplicationRecord, decision: DecisionRecord,
                           review: DecisionRecord | None = None) -> dict[str, Any]:
    """The application: its status and own decision, the limit and next actions now, the line it opened, the review.

    Parameters
    ----------
    application
        Its row, after the change.
    decision
        The application's audited decision.
    review
        The finance team's review decision, once reviewed.
    """
    result = decision.result
    requested = decision.inputs.get("requested_limit_minor")
    # Where the application stands now, as the API shows it: once reviewed, the review's limit and next actions.
    current = review if review is not None else decision
    data: dict[str, Any] = {
        "decision_id": decision.decision_id, "buyer_id": application.firm_id, "status": application.status,
        "outcome": decision.outcome, "grade": result["grade"], "pd": pd_text(result["pd"]),
        "currency": MARKETPLACE_CURRENCY,
        "limit": from_minor(current.result["limit_minor"]),
        "per_order_cap": from_minor(current.result["per_order_cap_minor"]),
        "proposed_limit": from_minor(result["limit_minor"]) if decision.outcome == "refer" else None,
        "requested_limit": None if requested is None else from_minor(requested),
        "reason_codes": list(decision.reason_codes),
        "next_actions": list(dict.fromkeys(current_next_action(code) for code in current.next_actions)),
        "line_id": application.line_id, "review": None,
    }
    if review is not None:
        data["review"] = {"decision_id": review.decision_id, "outcome": review.outcome,
                          "limit": from_minor(review.result["limit_minor"]),
                          "per_order_cap": from_minor(review.result["per_order_cap_minor"]),
                          "reason_codes": list(review.reason_codes)}
    return data


def announce_decided(session: Session, application: CreditLineApplicationRecord, decision: DecisionRecord,
                     now: datetime) -> str:
    """Write ``application.decided`` (approved, referred or declined at once); returns the event id."""
    return outbox.emit(session, "application.decided", object_id=decision.decision_id, firm_id=application.firm_id,
                data=application_event_data(application, decision), occurred_at=now)


def announce_reviewed(session: Session, application: CreditLineApplicationRecord, decision: DecisionRecord,
                      review: DecisionRecord, now: datetime) -> str:
    """Write ``application.reviewed`` (the finance team approved or declined a referral); returns the event id."""
    return outbox.emit(session, "application.reviewed", object_id=decision.decision_id, firm_id=application.firm_id,
                data=application_event_data(application, decision, review), occurred_at=now)
