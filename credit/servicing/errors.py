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
