"""Reading the audit trail over HTTP: who may see which decision."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from api.decisions.schemas import DecisionOut, RuleFiredOut, next_actions_out, reasons_out
from api.kit.auth import Caller, client_actors
from api.kit.errors import NotFound
from api.kit.money import from_minor
from credit.audit import DecisionRecord, get_decision

_SEES_EVERY_DECISION = frozenset({"finance", "analyst", "admin"})


def visible_decision(session: Session, caller: Caller, decision_id: str) -> DecisionRecord:
    """The decision if the caller may see it: finance, analyst and admin see all; a checkout key
    only the decisions made on its client's requests (the actor is one of the client's keys). Else 404."""
    record = get_decision(session, decision_id)
    if record is None or (caller.role not in _SEES_EVERY_DECISION
                          and record.actor not in client_actors(session, caller)):
        raise NotFound(f"No decision {decision_id}.", code="decision_not_found")
    return record


def decision_out(record: DecisionRecord) -> DecisionOut:
    pd_ = record.result.get("pd", record.result.get("buyer_pd"))
    return DecisionOut(
        decision_id=record.decision_id, kind=record.kind, firm_id=record.firm_id, outcome=record.outcome,
        grade=record.grade,
        amounts={name.removesuffix("_minor"): str(from_minor(value)) for name, value in record.amounts.items()},
        rules_fired=[RuleFiredOut(**rule) for rule in record.rules_fired],
        reason_codes=reasons_out(record.reason_codes), next_actions=next_actions_out(record.next_actions),
        model_name=record.model_name, model_version=record.model_version, policy_version=record.policy_version,
        parent_decision_id=record.parent_decision_id, actor=record.actor, request=record.request,
        inputs=record.inputs, pd=Decimal(pd_) if isinstance(pd_, str) else None, created_at=record.created_at)
