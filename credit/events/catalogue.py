"""Every event type: the object it is about, when it happens, and the fields its ``data`` carries.

An event's ``data`` is the object after the change, in the form the API returns it (amounts as
decimal strings with their currency, instants as UTC with ``Z``), plus the fields named here.
Adding a type here is what makes :func:`credit.events.outbox.emit` accept it; the OpenAPI
document lists these names as the enum of ``type``, and ``docs/events.md`` is rendered from
this module (:mod:`credit.events.reference`).

The data of every type is built by one function beside the code that owns its object
(:func:`credit.ledger.line_event_data`, :func:`credit.ledger.authorization_event_data`, ...):
:data:`OBJECT_FIELDS` says what each one gives, :attr:`EventType.extra` what one type adds.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EventType:
    """One type of event.

    Attributes
    ----------
    object_type : str
        The kind of object the event is about; ``object_id`` is its id.
    when : str
        When the event is written, for the docs.
    extra : dict of str to str
        Fields of ``data`` this type adds to its object's (:data:`OBJECT_FIELDS`), with their meaning.
    fields : dict of str to str, optional
        The fields of ``data`` when they are not its object's (a declined authorization has no hold).
    """

    object_type: str
    when: str
    extra: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] | None = None

    def data_fields(self) -> dict[str, str] | None:
        """Every field of this type's ``data`` with its meaning; None when the catalogue does not list them."""
        base = self.fields if self.fields is not None else OBJECT_FIELDS.get(self.object_type)
        return None if base is None else {**base, **self.extra}


_MONEY = "decimal string in `currency`"

OBJECT_FIELDS: dict[str, dict[str, str]] = {
    "application": {
        "decision_id": "The application's audited decision; also its id.",
        "buyer_id": "The applying buyer firm.",
        "status": "approved, referred, declined (at once), or reviewed (by the finance team).",
        "outcome": "The application's own decision: approve, refer or decline.",
        "grade": "The buyer's grade on the policy's master scale.",
        "pd": "The 12-month PD the decision used (decimal string of 6 places).",
        "currency": "ISO 4217 code of the amounts.",
        "limit": f"The limit now: granted (approved; reviewed: the review's, 0 if declined), proposed and waiting "
                 f"(referred) or 0 (declined); {_MONEY}.",
        "per_order_cap": f"Largest single authorization that goes with it; {_MONEY}.",
        "proposed_limit": f"A referred application's proposal to the finance team (kept after the review), else "
                          f"null; {_MONEY}.",
        "requested_limit": f"What the buyer asked for, or null; {_MONEY}.",
        "reason_codes": "Policy reasons in rule order, then the model's.",
        "next_actions": "Next-action codes for the buyer now (after a review, the review's).",
        "line_id": "The credit line opened (on approval, at once or by review); else null.",
        "review": "Null until reviewed; then the finance team's decision: `decision_id`, `outcome` (approve or "
                  "decline), `limit` and `per_order_cap` granted, `reason_codes`.",
    },
    "credit_line": {
        "line_id": "The line.",
        "status": "active, frozen (no new authorizations) or closed.",
        "frozen_by": "finance or servicing (dunning, a returned payment) when frozen; else null.",
        "currency": "ISO 4217 code of the amounts.",
        "limit": f"Credit limit; {_MONEY}.",
        "per_order_cap": f"Largest single authorization, or null for none; {_MONEY}.",
        "posted": f"Captured exposure not yet repaid; {_MONEY}.",
        "pending": f"Held by authorizations not yet captured; {_MONEY}.",
        "available": f"limit − posted − pending (negative only on a frozen line over its limit); {_MONEY}.",
    },
    "authorization": {
        "hold_id": "The authorization (hold); also its id.",
        "line_id": "The buyer's credit line.",
        "order_reference": "The marketplace's order reference.",
        "status": "pending (capturable), closed (fully captured or voided) or expired.",
        "currency": "ISO 4217 code of the amounts.",
        "amount": f"Authorized; {_MONEY}.",
        "captured": f"Captured so far; {_MONEY}.",
        "released": f"Released by a void or by expiry; {_MONEY}.",
        "refunded": f"Refunded by the seller out of what was captured; {_MONEY}.",
        "remaining": f"Still held: amount − captured − released; {_MONEY}.",
        "expires_at": "After this the rest can no longer be captured (UTC).",
    },
    "receivable": {
        "receivable_id": "The receivable; also its id.",
        "line_id": "The credit line whose exposure it is.",
        "hold_id": "The authorization it was captured from.",
        "status": "open, partially_paid, overdue, paid, recovered (paid after a charge-off), ...",
        "due_at": "When it must be paid (UTC).",
        "days_past_due": "Whole days past due when judged (negative: days before the due date).",
        "currency": "ISO 4217 code of the amounts.",
        "owed": f"What is still owed: `principal`, `fee`, `late_fee` and `total`; {_MONEY}.",
    },
    "dunning_step": {
        "action_id": "The step taken (a row of the servicing job's actions); also its id.",
        "subject": "`receivable:<id>` or `line:<id>`: what the step is about.",
        "line_id": "The line concerned.",
        "receivable_id": "The receivable concerned; null for a line's step.",
        "step": "reminder, late_fee, freeze, unfreeze, default or charge_off.",
        "step_key": "The step and its policy day, e.g. `reminder:-3`, `late_fee:7`.",
        "reason_code": "Why (a servicing reason code).",
        "days_past_due": "The subject's days past due when taken (negative: before the due date).",
        "currency": "ISO 4217 code of the amount.",
        "amount": f"What the step booked (late fee, default, charge-off), or null; {_MONEY}.",
        "decision_id": "The step's audited decision.",
        "as_of": "The servicing day it was taken for.",
    },
    "financing": {
        "financing_id": "The financing; also its id.",
        "kind": "order (purchase-order advance), receivable (factoring) or loan (transaction-flow loan).",
        "status": "approved, paid_out, invoiced, overdue, recourse, defaulted, settled, written_off or cancelled.",
        "previous_status": "The status before this change; null when it was just approved.",
        "decision_id": "The approved quote (or accepted loan offer) it books.",
        "supplier_id": "The firm advanced to: the supplier, or the loan's borrower (the event's `firm_id`).",
        "buyer_id": "The order's buyer or the invoice's debtor; null for a loan.",
        "order_id": "The purchase order financed (order financing); else null.",
        "invoice_id": "The invoice financed, or carrying an order's advance once invoiced; else null.",
        "offer_id": "The loan offer accepted (loans); else null.",
        "recourse": "Whether the supplier repays if the debtor does not.",
        "due_on": "When repayment is expected.",
        "value_date": "The payout's value date; null before the payout.",
        "payout_reference": "The payments team's payout reference; null before the payout.",
        "currency": "ISO 4217 code of the amounts.",
        "advance": f"Amount to advance; {_MONEY}.",
        "paid_out": f"Paid out so far; {_MONEY}.",
        "outstanding": f"Principal at risk: paid out − collected − recovered − written off; {_MONEY}.",
        "fee_owed": f"Fee charged and not yet paid or written off; {_MONEY}.",
        "written_off": f"Principal written off as a realised loss; {_MONEY}.",
    },
    "loan_offer": {
        "offer_id": "The offer; also its id.",
        "status": "open (it can be accepted until `expires_on`).",
        "decision_id": "The audited decision that made it.",
        "as_of": "The day it was computed for.",
        "expires_on": "Last day it can be accepted.",
        "currency": "ISO 4217 code of the amounts.",
        "amount": f"The most the firm may borrow; {_MONEY}.",
        "fee": f"The one flat fee on the full amount; {_MONEY}.",
        "withholding_rate": "Share of each later sale withheld to repay (decimal string).",
        "minimum": f"The least to repay in each period; {_MONEY}.",
        "period_days": "Days in a minimum-repayment period.",
        "replaces_offer_id": "The open offer this one replaces (its terms tightened); null for a first offer.",
    },
    "webhook_endpoint": {  # its own `id` is the envelope's `id` (as text)
        "url": "Where events are POSTed.",
        "description": "What the endpoint is for.",
        "event_types": "The event types it subscribes to.",
        "status": "disabled.",
        "disabled_reason": "Why it was disabled (its last failures).",
        "disabled_at": "When it was disabled (UTC).",
        "created_at": "When it was registered (UTC).",
        "updated_at": "Its last change (UTC).",
    },
    "firm": {  # the firm listed is the event's `id` and `firm_id`
        "run_id": "The monitoring run that listed it.",
        "as_of": "The month monitored.",
        "reasons": "Early-warning reason codes, in the catalogue's order.",
        "details": "Per reason code, the numbers behind it (money in integer minor units, as the monitoring API "
                   "shows them).",
        "currency": "ISO 4217 code of the exposure.",
        "exposure": f"The book's exposure on the firm: `as_debtor` and `as_supplier`; {_MONEY}.",
    },
    "early_warning": {  # `id` is `<run_id>:<firm_id>`: a firm on one monitoring run's list
        "run_id": "The monitoring run that listed the firm.",
        "as_of": "The month monitored.",
        "reasons": "Early-warning reason codes, in the catalogue's order.",
        "acknowledged_at": "When the finance team acknowledged it (UTC); null until then.",
        "acknowledged_by": "Who acknowledged it: `key:<id>` of the console user's API key; null until then.",
        "assignee": "The console user in charge (the API key's client), or null.",
        "notes": "How many notes the finance team added (their texts stay in the console: they are internal).",
        "actor": "Who made this change: `key:<id>` of the console user's API key.",
    },
}
"""The fields of ``data`` for each object type, with their meaning (types may add some: :attr:`EventType.extra`);
besides these, ``data`` ends with the envelope's ``object``, ``id`` and ``firm_id``
(:func:`credit.events.outbox.payload`)."""

_DECLINED_FIELDS = {
    "decision_id": "The decline's audited decision; also the event's id (a declined authorization holds nothing).",
    "buyer_id": "The buyer asking for credit.",
    "line_id": "The buyer's credit line; null when it has none.",
    "order_reference": "The marketplace's order reference.",
    "status": "declined.",
    "currency": "ISO 4217 code of the amount.",
    "amount": f"The order amount asked for; {_MONEY}.",
    "decline_code": "Why: a checkout decline code (no_line, line_frozen, limit_exceeded, ...).",
    "next_actions": "Next-action codes for the buyer.",
}

EVENT_TYPES: dict[str, EventType] = {
    # Origination: credit-line applications and the lines they open.
    "application.decided": EventType("application", "An application was decided at once: approved, referred to the "
                                                    "finance team or declined."),
    "application.reviewed": EventType("application", "The finance team approved or declined a referred application."),
    "credit_line.opened": EventType("credit_line", "A credit line was opened (an application approved, at once or by "
                                                   "review)."),
    "credit_line.changed": EventType("credit_line", "The finance team set a line's limit or per-order cap."),
    "credit_line.frozen": EventType("credit_line", "An active line was frozen (by the finance team, by dunning, or by "
                                                   "a returned payment that took it over its limit): no new "
                                                   "authorizations."),
    "credit_line.unfrozen": EventType("credit_line", "A frozen line was unfrozen (by the finance team, or by servicing "
                                                     "once cured)."),
    "credit_line.closed": EventType("credit_line", "A line was closed (a defaulted line after its charge-off)."),
    # Checkout: authorizations (holds) on a line.
    "authorization.approved": EventType("authorization", "Credit payment at checkout was approved (a hold placed).",
                                        extra={"terms_days": "Payment terms of what is captured from it (days)."}),
    "authorization.declined": EventType("authorization", "Credit payment at checkout was declined (nothing held).",
                                        fields=_DECLINED_FIELDS),
    "authorization.captured": EventType("authorization", "A hold was captured (all or part: goods shipped).", extra={
        "capture": f"This capture: `amount` ({_MONEY}) and `reference` (the shipment)."}),
    "authorization.voided": EventType("authorization", "A hold was voided: what it still held is released.", extra={
        "void": "This void: `reference` (why, when given; `servicing: line defaulted` when dunning voided it)."}),
    "authorization.expired": EventType("authorization", "A hold expired uncaptured: what it still held is released."),
    "authorization.refunded": EventType("authorization", "The seller refunded part of a captured order.", extra={
        "refund": f"This refund: `amount` ({_MONEY}) and `reference` (the credit note, or null)."}),
    # Servicing: what the buyers owe on their lines.
    "receivable.due_soon": EventType("receivable", "The daily servicing job sent a receivable's first reminder before "
                                                   "its due date (the first negative offset of the policy's "
                                                   "`servicing.dunning.reminder_days`: 3 days before, as shipped)."),
    "receivable.overdue": EventType("receivable", "A receivable turned overdue: unpaid a whole day past its due date."),
    "receivable.paid": EventType("receivable", "A receivable was paid in full (status paid, or recovered after a "
                                               "charge-off)."),
    "dunning.step_taken": EventType("dunning_step", "The daily servicing job took a dunning step (reminder, late fee, "
                                                    "freeze, unfreeze, default, charge-off)."),
    # Financing: order advances, financed invoices and transaction-flow loans.
    "financing.changed": EventType("financing", "A financing was approved or moved to another status (paid_out, "
                                                "invoiced, overdue, recourse, defaulted, settled, written_off, "
                                                "cancelled)."),
    "loan_offer.made": EventType("loan_offer", "The daily job made a pre-qualified loan offer (a first one, or one "
                                               "replacing an offer whose terms tightened)."),
    # Monitoring.
    "early_warning.raised": EventType("firm", "A firm the book has exposure on entered the early-warning list (listed "
                                              "by a monitoring run, not by the run before)."),
    # The finance team's work list of early warnings (the console).
    "early_warning.acknowledged": EventType("early_warning", "A person of the finance team acknowledged an early "
                                                             "warning on the console's work list."),
    "early_warning.assigned": EventType("early_warning", "An early warning was assigned to a person of the finance "
                                                         "team (a first assignment or a new one).",
                                        extra={"previous_assignee": "Who had it before, or null."}),
    "early_warning.noted": EventType("early_warning", "A note was added to an early warning.",
                                     extra={"note_id": "The note (a row of the work list's log; its text is internal)."}),
    # The webhooks themselves.
    "webhook_endpoint.disabled": EventType(
        "webhook_endpoint", "An endpoint was disabled: by an admin, or by the dispatcher after a delivery failed for a day."),
}
