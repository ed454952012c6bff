"""One audited decision, of any kind, with the texts of its codes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from api.console.queries.common import Reason, reasons_of, rule_text
from api.console.queries.scores import ScoreAt
from credit.audit import DecisionRecord
from credit.origination.tables import CreditLineApplicationRecord as Application
from credit.store.tables import Firm


@dataclass(frozen=True)
class DecisionView:
    """One audited decision, for its own page."""

    record: DecisionRecord
    reasons: tuple[Reason, ...]
    rules_fired: tuple[tuple[str, str, str], ...]
    application_id: str | None
    firm_name: str | None
    score_then: ScoreAt | None = None  # the grade and PD it used; the batch date when an application names it


def decision_view(session: Session, decision_id: str) -> DecisionView | None:
    """An audited decision with the texts of its codes.

    Returns
    -------
    DecisionView or None
        With the credit-line application the decision is or reviews, if any, and the grade
        and PD it used when it recorded both; None when there is no such decision.
    """
    record = session.get(DecisionRecord, decision_id)
    if record is None:
        return None
    application_id = None
    if record.kind == "credit_line_application":
        application_id = record.decision_id
    elif record.kind == "credit_line_review":
        application_id = record.parent_decision_id
    firm = session.get(Firm, record.firm_id) if record.firm_id is not None else None
    score_then = None
    pd_ = record.result.get("pd") if isinstance(record.result, dict) else None
    if record.grade is not None and pd_ is not None:
        applied = session.get(Application, application_id) if application_id else None
        score_then = ScoreAt(record.grade, Decimal(str(pd_)), applied.score_as_of if applied else None)
    return DecisionView(record, reasons_of(record.reason_codes),
                        tuple((rule["code"], rule_text(rule["code"]), rule["detail"]) for rule in record.rules_fired),
                        application_id, firm.name if firm else None, score_then)
