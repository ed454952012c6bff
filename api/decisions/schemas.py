"""Response schemas of audited decisions, and the coded reasons every product's answer carries."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.kit.contract import Probability, UtcDateTime
from credit.audit.tables import DECISION_KINDS, OUTCOMES
from credit.decisions.codes import CHECKOUT_DECLINES, NEXT_ACTIONS, POLICY_REASONS, current_next_action, describe
from credit.models.reasons import REASON_CATALOGUE

ReasonCode = Literal[tuple(dict.fromkeys([*POLICY_REASONS, *CHECKOUT_DECLINES, *REASON_CATALOGUE, *NEXT_ACTIONS]))]  # type: ignore[valid-type]
"""Every code a reason may carry: the catalogues of credit.decisions.codes and credit.models.reasons."""

NextActionCode = Literal[tuple(NEXT_ACTIONS)]  # type: ignore[valid-type]
"""The next-action catalogue (credit.decisions.codes.NEXT_ACTIONS)."""

DeclineCode = Literal[tuple(CHECKOUT_DECLINES)]  # type: ignore[valid-type]
"""The checkout decline codes (credit.decisions.codes.CHECKOUT_DECLINES)."""


class Reason(BaseModel):
    """A coded reason: a policy rule or a model reason code, with its text."""

    code: ReasonCode = Field(description="Stable code (credit.decisions.codes / credit.models.reasons).",
                      examples=["refer_grey_zone"])
    text: str


class NextActionOut(BaseModel):
    code: NextActionCode = Field(description="Stable code from the next-action catalogue.",
                                 examples=["pay_overdue_invoices"])
    message: str


def reasons_out(codes: list[str] | tuple[str, ...]) -> list[Reason]:
    return [Reason(code=code, text=describe(code)) for code in codes]


def next_actions_out(codes: list[str] | tuple[str, ...]) -> list[NextActionOut]:
    """The next actions as shown now: a retired code (an older decision's) as its successor, once."""
    shown = dict.fromkeys(current_next_action(code) for code in codes)
    return [NextActionOut(code=code, message=NEXT_ACTIONS[code]) for code in shown]


class RuleFiredOut(BaseModel):
    code: str
    detail: str = Field(description="The numbers behind the rule, in words.")


class DecisionOut(BaseModel):
    """One audited decision: what was asked, what was used, what was decided and why."""

    decision_id: str
    kind: Literal[DECISION_KINDS] = Field(examples=["credit_line_application"])  # type: ignore[valid-type]
    firm_id: int | None
    outcome: Literal[OUTCOMES] = Field(description="approve, refer or decline.")  # type: ignore[valid-type]
    grade: str | None
    amounts: dict[str, str] = Field(description="Every amount of the decision as a decimal string, by name "
                                                "(e.g. `limit`, `per_order_cap`, `advance`, `fee`).")
    rules_fired: list[RuleFiredOut]
    reason_codes: list[Reason]
    next_actions: list[NextActionOut]
    model_name: str | None
    model_version: str | None
    policy_version: str
    parent_decision_id: str | None
    actor: str
    request: dict[str, Any] = Field(description="The request as the caller sent it.")
    inputs: dict[str, Any] = Field(description="Everything the decision function read; replay re-runs it on this.")
    pd: Probability | None = Field(default=None, description="The PD the decision turned on, if any.")
    created_at: UtcDateTime
