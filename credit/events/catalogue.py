"""Every event type: the object it is about and when it happens.

An event's ``data`` is the object after the change, in the form the API returns it (amounts as
decimal strings with their currency, instants as UTC with ``Z``), plus the fields named here.
Adding a type here is what makes :func:`credit.events.outbox.emit` accept it; the OpenAPI
document lists these names as the enum of ``type``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    """One type of event.

    Attributes
    ----------
    object_type : str
        The kind of object the event is about; ``object_id`` is its id.
    when : str
        When the event is written, for the docs.
    """

    object_type: str
    when: str


EVENT_TYPES: dict[str, EventType] = {
    # Origination: credit-line applications and the lines they open.
    "application.decided": EventType("application", "An application was decided: approved, referred or declined."),
    "application.reviewed": EventType("application", "The finance team approved or declined a referred application."),
    "credit_line.opened": EventType("credit_line", "A credit line was opened."),
    "credit_line.changed": EventType("credit_line", "A line's limit or per-order cap changed."),
    "credit_line.frozen": EventType("credit_line", "A line was frozen: no new authorizations."),
    "credit_line.unfrozen": EventType("credit_line", "A frozen line was unfrozen."),
    "credit_line.closed": EventType("credit_line", "A line was closed."),
    # Checkout: authorizations (holds) on a line.
    "authorization.approved": EventType("authorization", "Credit payment at checkout was approved (a hold placed)."),
    "authorization.declined": EventType("authorization", "Credit payment at checkout was declined."),
    "authorization.captured": EventType("authorization", "A hold was captured (all or part)."),
    "authorization.voided": EventType("authorization", "A hold was voided."),
    "authorization.expired": EventType("authorization", "A hold expired uncaptured."),
    "authorization.refunded": EventType("authorization", "A captured amount was refunded."),
    # Servicing: what the buyers owe on their lines.
    "receivable.due_soon": EventType("receivable", "A receivable falls due within the reminder window."),
    "receivable.overdue": EventType("receivable", "A receivable passed its due date unpaid."),
    "receivable.paid": EventType("receivable", "A receivable was paid in full."),
    "dunning.step_taken": EventType("receivable", "A dunning step (reminder, late fee, freeze, ...) was taken."),
    # Financing: order advances, financed invoices and transaction-flow loans.
    "financing.changed": EventType("financing", "A financing moved to another status (approved, paid out, ..., settled)."),
    "loan_offer.made": EventType("loan_offer", "A pre-qualified loan offer was made or renewed."),
    # Monitoring.
    "early_warning.raised": EventType("firm", "A firm with exposure entered the early-warning list."),
    # The webhooks themselves.
    "webhook_endpoint.disabled": EventType("webhook_endpoint", "An endpoint was disabled after failing for a day."),
}
