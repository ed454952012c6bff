"""Fixed catalogues of the codes decisions return: policy reasons, checkout declines, next actions.

A decision's ``reason_codes`` are codes of :data:`POLICY_REASONS` (why the policy decided as
it did: knock-outs, caps, referrals, eligibility, servicing steps) followed by the model's codes of
:data:`credit.models.reasons.REASON_CATALOGUE` (why the firm scored as risky). Checkout
declines with one code of :data:`CHECKOUT_DECLINES`; every decision may suggest codes of
:data:`NEXT_ACTIONS`. A code's meaning never changes within one
:data:`CODES_CATALOGUE_VERSION`, which every audited decision stores.
"""

from __future__ import annotations

from credit.models.reasons import REASON_CATALOGUE

CODES_CATALOGUE_VERSION = 2
"""Bump when a code is removed or its meaning or text changes; decisions store it."""

POLICY_REASONS: dict[str, str] = {
    # credit line: knock-outs
    "too_new": "Trading on the platform for less than the minimum time",
    "overdue_now": "Invoices past due now",
    "past_default": "Defaulted, went insolvent or was written off before",
    "unverified": "Firm not verified",
    "grade_too_risky": "Risk grade worse than the policy lends to",
    # credit line: the limit
    "limit_by_capacity": "Limit set by purchasing volume on the platform",
    "limit_by_grade_cap": "Limit capped for the risk grade",
    "limit_by_expected_loss": "Limit capped by the expected-loss budget",
    "limit_by_maximum": "Limit capped at the largest line offered",
    "limit_as_requested": "Limit set to the amount requested",
    "limit_below_requested": "Limit lower than the amount requested",
    "limit_below_minimum": "Limit would be below the smallest line offered",
    "limit_by_concentration": "Limit capped by what the firm's debtor concentration cap leaves after its financings",
    # credit line: referral and review
    "refer_above_amount": "Limit above the amount the finance team reviews",
    "refer_grey_zone": "Risk grade in the band the finance team reviews",
    "finance_approved": "Approved by the finance team",
    "finance_changed_limit": "Limit changed by the finance team",
    "finance_declined": "Declined by the finance team",
    # credit line: changes to an open line
    "frozen_by_finance": "Line frozen by the finance team",
    "unfrozen_by_finance": "Line unfrozen by the finance team",
    "limit_changed_by_finance": "Line limit changed by the finance team",
    # order financing
    "po_not_confirmed": "Purchase order not confirmed by the supplier",
    "tenor_too_long": "Financing period longer than the policy allows",
    "grade_pair_not_financed": "Buyer and supplier grades not financed together",
    "supplier_track_record_short": "Supplier has too few sales on the platform",
    "supplier_record_adjustment": "Advance rate lowered for the supplier's cancellations, returns or disputes",
    "advance_rate_below_minimum": "Advance rate below the lowest the policy finances",
    "buyer_exposure_cap": "Advance reduced to the buyer's remaining exposure cap",
    "supplier_exposure_cap": "Advance reduced to the supplier's remaining exposure cap",
    "advance_below_minimum": "Advance would be below the smallest amount financed",
    "fee_at_floor": "Fee at the policy's minimum rate",
    # receivables financing
    "invoice_overdue": "Invoice already past its due date",
    "invoice_disputed": "Invoice in dispute",
    "invoice_too_old": "Invoice older than the policy finances",
    "debtor_grade_too_low": "Debtor's risk grade below the policy's minimum",
    "invoice_already_financed": "Invoice already financed",
    "invoice_not_outstanding": "Nothing left to pay on the invoice",
    "dilution_reserve": "Advance rate lowered by a reserve for the debtor's returns and credit notes",
    "risk_haircut": "Advance rate lowered for the debtor's risk grade",
    "debtor_concentration_cap": "Advance reduced to the debtor's remaining concentration cap",
    "supplier_concentration_cap": "Advance reduced to the supplier's remaining concentration cap (every product)",
    # servicing: dunning steps of the daily job, by days past due
    "reminder_before_due": "Reminder sent: payment falls due in a few days",
    "reminder_on_due_date": "Reminder sent: payment falls due today",
    "reminder_past_due": "Reminder sent: payment past due",
    "late_fee_charged": "Late fee charged: payment past due for the policy's days",
    "frozen_past_due": "Line frozen: payment past due for the policy's days",
    "unfrozen_cured": "Line unfrozen: no longer past due for the policy's days, and within its limit",
    "defaulted_past_due": "Line in default: payment past due for the policy's default days",
    "charged_off_after_default": "Open principal charged off as a loss after default; the line closes",
    # receivables financing after payout: steps of the daily job (credit.financing.factoring_steps)
    "receivable_clawback": "Dilution after financing beyond the reserve: the shortfall is clawed back from the "
                           "supplier",
    "receivable_clawback_repaid": "The supplier repaid the clawback: the debtor's payment is awaited again",
    "receivable_default_recourse": "Debtor unpaid for the policy's default days; with recourse, the supplier repays",
    "receivable_default_non_recourse": "Debtor unpaid for the policy's default days; without recourse, the provider "
                                       "books the loss",
    "receivable_recourse_written_off": "Recourse unpaid for the policy's days: what is owed is written off as a loss",
    "receivable_loss_final": "Defaulted without recourse for the policy's days: the loss is final",
    # order financing after booking: steps of the daily job
    "order_cancelled_before_payout": "Order cancelled before the advance was paid out; the financing is cancelled",
    "order_invoice_financed_elsewhere": "The order's invoice is already financed; the advance waits for recourse",
    "recourse_order_cancelled": "Order cancelled before shipment: the supplier repays the advance and its fee",
    "recourse_past_due": "Advance unpaid past its due date for the policy's days: the supplier repays it and its fee",
    "written_off_after_recourse": "Unpaid under recourse for the policy's days: the rest is written off as a loss",
    # transaction-flow loans: the daily offer
    "loan_no_platform_sales": "No platform sales settled to the firm in the trailing window",
    "loan_not_scored": "The firm has no risk score yet",
    "loan_grade_not_offered": "Risk grade not offered transaction-flow loans",
    "loan_sales_below_minimum": "Platform sales over the trailing window below the policy's minimum",
    "loan_too_few_active_months": "Too few of the last 12 calendar months with platform sales",
    "loan_sales_too_volatile": "Monthly platform sales vary more than the policy allows",
    "loan_amount_by_maximum": "Offer capped at the largest loan offered",
    "loan_concentration_cap": "Offer reduced to the firm's remaining supplier concentration cap",
    "loan_amount_below_minimum": "Offer would be below the smallest loan offered",
    "loan_already_open": "The firm already has a loan open",
    "loan_offer_not_computed": "No loan offer computed for the firm yet",
    "loan_offer_lapsed": "The firm's last loan offer expired or was taken up",
    # transaction-flow loans: the daily repayment check
    "loan_minimum_missed": "Loan repaid less than the minimum due by the end of a period",
    "loan_minimum_caught_up": "Loan repayments caught up with the minimum due",
    "loan_written_off": "Loan behind its minimum for longer than the policy's default days; the rest written off",
}
"""Policy reason code -> text shown to the finance team and in decision records."""

CHECKOUT_DECLINES: dict[str, str] = {
    "no_line": "The buyer has no credit line",
    "line_closed": "The buyer's credit line is closed",
    "line_frozen": "The buyer's credit line is frozen",
    "in_arrears": "The buyer has invoices past due",
    "too_high_risk": "The buyer's current risk grade is too high for credit",
    "per_order_cap_exceeded": "The order is larger than the line's per-order cap",
    "limit_exceeded": "The order is larger than the available limit",
}
"""Checkout decline code -> text; a checkout decline carries exactly one of these."""

NEXT_ACTIONS: dict[str, str] = {
    "apply_for_credit_line": "Apply for a credit line",
    "await_finance_review": "Wait for the finance team's review",
    "pay_overdue_invoices": "Pay the invoices past due",
    "reduce_order_amount": "Reduce the order amount",
    "split_order": "Split the order into smaller orders",
    "pay_upfront": "Pay by another method (prepaid)",
    "verify_firm": "Complete the firm's verification",
    "build_trading_history": "Trade longer on the platform, then apply again",
    "contact_finance": "Contact the finance team",
    "resolve_dispute": "Resolve the dispute on the invoice",
    "finance_another_invoice": "Offer another invoice for financing",
    "pay_by_due_date": "Pay by the due date",
    "repay_financing": "Repay the financed invoice's advance and fee to the provider",
    "repay_advance": "Repay the advance and its fee",
    "repay_loan_minimum": "Repay at least the loan's minimum for the period",
}
"""Next-action code -> text shown to the buyer or supplier."""

RETIRED_NEXT_ACTIONS: dict[str, str] = {
    # Named no operation: nobody can "apply for a review" of a limit; the finance team changes it.
    "apply_for_review": "contact_finance",
}
"""Next actions no decision gives any more -> the one that replaced them; stored decisions still carry them."""


def current_next_action(code: str) -> str:
    """The next action to show for ``code``: its successor if it was retired, else itself."""
    return RETIRED_NEXT_ACTIONS.get(code, code)

CHECKOUT_DECLINE_NEXT_ACTIONS: dict[str, tuple[str, ...]] = {
    "no_line": ("apply_for_credit_line", "pay_upfront"),
    "line_closed": ("apply_for_credit_line", "pay_upfront"),
    "line_frozen": ("contact_finance", "pay_upfront"),
    "in_arrears": ("pay_overdue_invoices", "pay_upfront"),
    "too_high_risk": ("pay_upfront",),
    "per_order_cap_exceeded": ("split_order", "reduce_order_amount", "contact_finance"),
    "limit_exceeded": ("reduce_order_amount", "contact_finance", "pay_upfront"),
}
"""The next actions a checkout decline suggests, most useful first."""


def describe(code: str) -> str:
    """Human-readable text of any code a decision can carry (policy, checkout, next action, model).

    Raises
    ------
    KeyError
        For a code in no catalogue.
    """
    for catalogue in (POLICY_REASONS, CHECKOUT_DECLINES, NEXT_ACTIONS, REASON_CATALOGUE):
        if code in catalogue:
            return catalogue[code]
    raise KeyError(f"unknown code {code!r}: not in any catalogue of credit.decisions.codes or "
                   "credit.models.reasons")
