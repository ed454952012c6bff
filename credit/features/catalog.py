"""The marketplace feature set: declarative definitions (SPEC 3.2), listed by `credit features list`.

Names say the firm's role first (``buyer_``, ``supplier_``, ``debtor_``, ``creditor_``) and
end with the window. Domain features that do not fit this form are in
:mod:`credit.features.domain`.
"""

from __future__ import annotations

from credit.features.definitions import ALL_HISTORY, Aggregate, Feature, Ratio

COUNT = Aggregate("count")
ACTIVITY = (30, 90, 180, 365)


def _trade(role: str, partner: str, noun: str) -> list[Feature]:
    """Activity of a firm in one role of the order book (buying or selling)."""
    return [
        Feature(f"{role}_{noun}_count", f"Orders as {role}.", "orders", role, COUNT, (*ACTIVITY, ALL_HISTORY)),
        Feature(f"{role}_gmv", f"Order value as {role}, minor units.", "orders", role,
                Aggregate("sum", "amount_minor"), ACTIVITY),
        Feature(f"{role}_{noun}_mean", f"Mean order value as {role}, minor units.", "orders", role,
                Aggregate("mean", "amount_minor"), (90, 365)),
        Feature(f"{role}_{noun}_max", f"Largest order as {role}, minor units.", "orders", role,
                Aggregate("max", "amount_minor"), (365,)),
        Feature(f"{role}_{noun}_std", f"Spread of order values as {role}, minor units.", "orders", role,
                Aggregate("std", "amount_minor"), (365,)),
        Feature(f"{role}_{partner}s", f"Distinct {partner}s traded with as {role}.", "orders", role,
                Aggregate("distinct_count", f"{partner}_id"), (90, 365)),
        Feature(f"{role}_categories", f"Distinct goods categories as {role}.", "orders", role,
                Aggregate("distinct_count", "category"), (365,)),
        Feature(f"{role}_days_since_{noun}", f"Days since the last order as {role}.", "orders", role,
                Aggregate("days_since")),
        Feature(f"{role}_credit_terms_share", f"Share of orders as {role} on credit or net terms.", "orders", role,
                Ratio(Aggregate("count", filter="payment_terms <> 'prepaid'"), COUNT), (90, 365, ALL_HISTORY)),
        Feature(f"{role}_cancelled_count", f"Orders cancelled, as {role}, by time of cancellation.",
                "order_cancellations", role, COUNT, (90, 365)),
        Feature(f"{role}_cancelled_value", f"Value of orders cancelled as {role}, minor units.",
                "order_cancellations", role, Aggregate("sum", "amount_minor"), (365,)),
        Feature(f"{role}_returns_count", f"Credit notes (returns) on orders as {role}.", "returns", role,
                COUNT, (365,)),
        Feature(f"{role}_returns_value", f"Credit-note value on orders as {role}, minor units.", "returns", role,
                Aggregate("sum", "amount_minor"), (90, 365)),
        Feature(f"{role}_disputes_count", f"Disputes opened on orders as {role}.", "disputes", role,
                COUNT, (90, 365)),
        Feature(f"{role}_disputed_value", f"Value in dispute on orders as {role}, minor units.", "disputes", role,
                Aggregate("sum", "amount_minor"), (365,)),
    ]


def _payables(role: str, whose: str, recent: tuple[int, ...] = ()) -> list[Feature]:
    """How invoices where the firm is ``role`` get paid (its own payments as debtor, its buyers' as creditor).

    ``recent`` adds shorter windows to the payment-behaviour rates and means.
    """
    return [
        Feature(f"{role}_invoiced_value", f"Invoiced value {whose}, minor units.", "invoices", role,
                Aggregate("sum", "amount_minor"), (90, 365)),
        Feature(f"{role}_terms_days_mean", f"Mean payment terms of invoices {whose}, days.", "invoices", role,
                Aggregate("mean", "terms_days"), (365,)),
        Feature(f"{role}_invoices_due", f"Invoices {whose} that fell due.", "invoices_due", role,
                COUNT, (90, 365)),
        Feature(f"{role}_on_time_rate", f"Share of invoices {whose} paid in full by the due date.", "invoices_due",
                role, Ratio(Aggregate("count", filter="paid_on_time"), COUNT), (*recent, 90, 365, ALL_HISTORY)),
        Feature(f"{role}_unpaid_at_due_value", f"Amount {whose} still unpaid at due dates, minor units.",
                "invoices_due", role, Aggregate("sum", "unpaid_at_due_minor"), (90, 365)),
        Feature(f"{role}_days_late_mean", f"Mean days after the due date of payments {whose}.", "payments", role,
                Aggregate("mean", "days_after_due"), (*recent, 90, 365)),
        Feature(f"{role}_late_payment_rate", f"Share of payments {whose} made after the due date.", "payments", role,
                Ratio(Aggregate("count", filter="days_after_due > 0"), COUNT), (*recent, 90, 365, ALL_HISTORY)),
        Feature(f"{role}_days_late_max", f"Most days after the due date of a payment {whose}.", "payments", role,
                Aggregate("max", "days_after_due"), (90, 365)),
        Feature(f"{role}_days_late_last", f"Days after the due date of the latest payment {whose}.", "payments",
                role, Aggregate("last", "days_after_due")),
        Feature(f"{role}_days_since_payment", f"Days since the latest payment {whose}.", "payments", role,
                Aggregate("days_since")),
        Feature(f"{role}_partial_payment_rate", f"Share of payments {whose} that left a balance.", "payments", role,
                Ratio(Aggregate("count", filter="partial"), COUNT), (365,)),
        Feature(f"{role}_days_beyond_terms_mean", f"Mean days beyond terms of invoices {whose} paid in full.",
                "invoice_settlements", role, Aggregate("mean", "days_beyond_terms"), (90, 180, 365)),
        Feature(f"{role}_days_beyond_terms_max", f"Most days beyond terms of an invoice {whose} paid in full.",
                "invoice_settlements", role, Aggregate("max", "days_beyond_terms"), (365,)),
    ]


MARKETPLACE_FEATURES: list[Feature] = [
    *_trade("buyer", "supplier", "order"),
    *_trade("supplier", "buyer", "sale"),
    Feature("supplier_lead_time_mean", "Mean days from order to delivery, as supplier.", "order_deliveries",
            "supplier", Aggregate("mean", "lead_time_days"), (90, 365)),
    Feature("supplier_lead_time_max", "Longest days from order to delivery, as supplier.", "order_deliveries",
            "supplier", Aggregate("max", "lead_time_days"), (365,)),
    Feature("buyer_disputes_buyer_favour", "Disputes as buyer resolved in the buyer's favour.",
            "dispute_resolutions", "buyer", Aggregate("count", filter="resolution = 'buyer_favour'"), (365,)),
    Feature("supplier_disputes_lost", "Disputes as supplier resolved in the buyer's favour.",
            "dispute_resolutions", "supplier", Aggregate("count", filter="resolution = 'buyer_favour'"), (365,)),
    Feature("supplier_hours_to_ship_mean", "Mean hours from confirming an order to shipping it, as supplier.",
            "order_shipments", "supplier", Aggregate("mean", "hours_to_ship"), (30, 90, 365, ALL_HISTORY)),
    *_payables("debtor", "it owes", recent=(30,)),
    *_payables("creditor", "owed to it"),
]
