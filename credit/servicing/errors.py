"""Typed refusals of servicing, each with a machine code; ledger errors, so the API answers them alike."""

from __future__ import annotations

from credit.ledger.errors import LedgerError


class TermsNotAllowed(LedgerError):
    """The payment terms asked for are not offered to the buyer's grade."""

    code = "terms_not_allowed"


class RefundExceedsReceivables(LedgerError):
    """A refund larger than the order's receivables not charged off still carry."""

    code = "refund_exceeds_receivables"


class RepaymentNotFound(LedgerError):
    code = "repayment_not_found"


class RepaymentReturned(LedgerError):
    """The repayment was already returned."""

    code = "repayment_returned"


class RepaymentRefunded(LedgerError):
    """Part of the repayment's money was refunded to the buyer: the bank cannot return it whole."""

    code = "repayment_refunded"


class ReceivableNotOnLine(LedgerError):
    code = "receivable_not_on_line"


class ExceedsCreditBalance(LedgerError):
    code = "exceeds_credit_balance"


class ReceivableNotFound(LedgerError):
    code = "receivable_not_found"


class InstallmentsNotAllowed(LedgerError):
    """The policy does not offer this plan: count above the grade's maximum, or amount below the minimum."""

    code = "installments_not_allowed"


class ReceivableNotReschedulable(LedgerError):
    """The receivable cannot be split now: not a live terms receivable before its due time, or it owes fees."""

    code = "receivable_not_reschedulable"


class InstallmentPlanExists(LedgerError):
    """The receivable was already split into installments (its ids are in the details)."""

    code = "installment_plan_exists"


class NoInstallmentPlan(LedgerError):
    """The receivable was never split into installments: there is no plan to settle."""

    code = "no_installment_plan"


class PlanNotSettleable(LedgerError):
    """The plan owes nothing, or is in collections (an installment defaulted or charged off)."""

    code = "plan_not_settleable"


class SettlementShort(LedgerError):
    """The money offered is less than what settles the plan."""

    code = "settlement_amount_short"
