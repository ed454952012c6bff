"""Each kind of audited decision: its input type and the pure function that decides it.

Recording and replay both go through this table, so a kind can only be recorded if it can
be replayed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import TypeAdapter

from credit.decisions import (
    CheckoutRequest,
    CreditLineApplication,
    CreditLineChange,
    CreditLineReview,
    OrderFinancingRequest,
    ReceivableRequest,
    change_credit_line,
    decide_checkout,
    decide_credit_line,
    quote_order_financing,
    quote_receivable,
    review_credit_line,
)
from credit.financing.factoring_steps import ReceivableStepCase, decide_receivable_step
from credit.financing.order_steps import OrderFinancingCase, decide_order_step
from credit.financing.loans import LoanStepCase, decide_loan_step
from credit.financing.offers import LoanOfferCase, decide_loan_offer
from credit.policy import Policy
from credit.servicing.dunning import DunningCase, decide_dunning


@dataclass(frozen=True)
class DecisionKind:
    """How one kind of decision is made, stored and summarised.

    Attributes
    ----------
    inputs_type : type
        The dataclass the decision function takes; stored as JSON, read back for replay.
    decide : callable
        ``decide(inputs, policy) -> decision``, pure.
    firm_of : callable
        The firm the decision is about, from the inputs (the applicant).
    headline_amount : callable
        The amount that sums the decision up: limit, advance or order amount.
    grade_of : callable
        The grade the decision turned on, or None.
    """

    inputs_type: type
    decide: Callable[[Any, Policy], Any]
    firm_of: Callable[[Any], int | None]
    headline_amount: Callable[[Any], int | None]
    grade_of: Callable[[Any], str | None]

    def inputs_json(self, inputs: Any) -> dict:
        return _adapter(self.inputs_type).dump_python(inputs, mode="json")

    def inputs_from_json(self, stored: dict) -> Any:
        return _adapter(self.inputs_type).validate_python(stored)


@cache
def _adapter(kind_type: type) -> TypeAdapter:
    # Building an adapter generates its pydantic core schema (~1 ms); the types are a fixed few.
    return TypeAdapter(kind_type)


def result_json(decision: Any) -> dict:
    """A decision (any kind) as JSON values: Decimals as text, tuples as lists."""
    return _adapter(type(decision)).dump_python(decision, mode="json")


KINDS: dict[str, DecisionKind] = {
    "credit_line_application": DecisionKind(
        CreditLineApplication, decide_credit_line, lambda i: i.firm_id, lambda d: d.limit_minor, lambda d: d.grade),
    "credit_line_review": DecisionKind(
        CreditLineReview, review_credit_line, lambda i: i.firm_id, lambda d: d.limit_minor, lambda d: d.grade),
    "line_change": DecisionKind(
        CreditLineChange, change_credit_line, lambda i: i.firm_id, lambda d: d.limit_minor, lambda d: d.grade),
    "checkout": DecisionKind(
        CheckoutRequest, decide_checkout, lambda i: i.firm_id, lambda d: d.amount_minor, lambda d: d.grade),
    "order_financing": DecisionKind(
        OrderFinancingRequest, quote_order_financing, lambda i: i.supplier_id, lambda d: d.advance_minor,
        lambda d: d.buyer_grade),
    "receivable_financing": DecisionKind(
        ReceivableRequest, quote_receivable, lambda i: i.creditor_id, lambda d: d.advance_minor,
        lambda d: d.debtor_grade),
    "dunning": DecisionKind(
        DunningCase, decide_dunning, lambda i: i.firm_id, lambda d: d.total_minor, lambda d: None),
    "receivable_financing_step": DecisionKind(
        ReceivableStepCase, decide_receivable_step, lambda i: i.supplier_id, lambda d: d.total_minor,
        lambda d: None),
    "order_financing_step": DecisionKind(
        OrderFinancingCase, decide_order_step, lambda i: i.supplier_id, lambda d: d.total_minor, lambda d: None),
    "loan_offer": DecisionKind(
        LoanOfferCase, decide_loan_offer, lambda i: i.firm_id, lambda d: d.amount_minor, lambda d: d.grade),
    "loan_step": DecisionKind(
        LoanStepCase, decide_loan_step, lambda i: i.firm_id, lambda d: d.total_write_off_minor, lambda d: None),
}
"""Decision kind (the ``decisions.kind`` column) -> how it is decided."""
