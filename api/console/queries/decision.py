"""One audited decision, of any kind, with the texts of its codes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.console.queries.common import Reason, reasons_of, rule_text
from credit.audit import DecisionRecord
from credit.store.tables import Firm


@dataclass(frozen=True)
class DecisionView:
    """One audited decision, for its own page."""

    record: DecisionRecord
    reasons: tuple[Reason, ...]
    rules_fired: tuple[tuple[str, str, str], ...]
    application_id: str | None
    firm_name: str | None


def decision_view(session: Session, decision_id: str) -> DecisionView | None:
    """An audited decision with the texts of its codes.

    Returns
    -------
    DecisionView or None
        With the credit-line application the decision is or reviews, if any; None when
        there is no such decision.
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
    return DecisionView(record, reasons_of(record.reason_codes),
                        tuple((rule["code"], rule_text(rule["code"]), rule["detail"]) for rule in record.rules_fired),
                        application_id, firm.name if firm else None)
