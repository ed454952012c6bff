"""Credit decisions as pure functions: inputs and a policy in, a decision with its reasons out.

No database, clock or model is touched here; the service gathers the inputs, calls these and
records the result with :func:`credit.audit.record_decision`, which is what makes every
decision replayable.
"""

from credit.decisions.checkout import CheckoutDecision, CheckoutRequest, decide_checkout
from credit.decisions.codes import (
    CHECKOUT_DECLINE_NEXT_ACTIONS,
    CHECKOUT_DECLINES,
    CODES_CATALOGUE_VERSION,
    NEXT_ACTIONS,
    POLICY_REASONS,
    describe,
)
from credit.decisions.credit_line import (
    CREDIT_LINE_FEATURES,
    ConcentrationCapExceeded,
    CreditLineApplication,
    CreditLineChange,
    CreditLineDecision,
    CreditLineReview,
    change_credit_line,
    decide_credit_line,
    per_order_cap_minor,
    review_credit_line,
)
from credit.decisions.financing import (
    SUPPLIER_RECORD_FEATURES,
    OrderFinancingQuote,
    OrderFinancingRequest,
    ReceivableQuote,
    ReceivableRequest,
    quote_order_financing,
    quote_receivable,
)
from credit.decisions.outcome import RuleFired

__all__ = [
    "CHECKOUT_DECLINES", "CHECKOUT_DECLINE_NEXT_ACTIONS", "CODES_CATALOGUE_VERSION", "CREDIT_LINE_FEATURES",
    "NEXT_ACTIONS", "POLICY_REASONS", "SUPPLIER_RECORD_FEATURES", "CheckoutDecision", "CheckoutRequest",
    "ConcentrationCapExceeded", "CreditLineApplication", "CreditLineChange",
    "CreditLineDecision", "CreditLineReview", "OrderFinancingQuote", "OrderFinancingRequest", "ReceivableQuote",
    "ReceivableRequest", "RuleFired", "change_credit_line", "decide_checkout", "decide_credit_line", "describe",
    "per_order_cap_minor", "quote_order_financing", "quote_receivable", "review_credit_line",
]
