"""The event reference (``docs/events.md``), rendered from the catalogue; a test keeps the file current.

Run ``python -m credit.events.reference > docs/events.md`` (``make events-doc``) after changing
:mod:`credit.events.catalogue`. The example payloads below have the fields the catalogue lists
(a test holds them equal, and holds each real event's data to the same fields).
"""

from __future__ import annotations

import json
from typing import Any

from credit.events.catalogue import EVENT_TYPES

_LINE = {"line_id": 31, "status": "frozen", "frozen_by": "finance", "currency": "EUR", "limit": "15000.00",
         "per_order_cap": "5000.00", "posted": "4200.00", "pending": "800.00", "available": "10000.00"}
_HOLD = {"hold_id": 905, "line_id": 31, "order_reference": "PO-2027-0042", "status": "pending", "currency": "EUR",
         "amount": "1200.00", "captured": "0.00", "released": "0.00", "refunded": "0.00", "remaining": "1200.00",
         "expires_at": "2027-04-30T09:15:00Z"}
_APPLICATION = {"decision_id": "0b6f7c1e-6a41-4c39-9d1c-5d2f0f7b9a10", "buyer_id": 17, "status": "approved",
                "outcome": "approve", "grade": "C", "pd": "0.021300", "currency": "EUR", "limit": "15000.00",
                "per_order_cap": "5000.00", "proposed_limit": None, "requested_limit": None,
                "reason_codes": ["limit_by_capacity"], "next_actions": [], "line_id": 31, "review": None}
_RECEIVABLE = {"receivable_id": 412, "line_id": 31, "hold_id": 905, "status": "open",
               "due_at": "2027-05-31T09:15:00Z", "days_past_due": -3, "currency": "EUR",
               "owed": {"principal": "1200.00", "fee": "0.00", "late_fee": "0.00", "total": "1200.00"}}
_FINANCING = {"financing_id": 58, "kind": "order", "status": "paid_out", "previous_status": "approved",
              "decision_id": "5d0c2b8e-2f7e-4d3a-8b6e-1f9a7c3e4d21", "supplier_id": 22, "buyer_id": 17,
              "order_id": 7710, "invoice_id": None, "offer_id": None, "recourse": True, "due_on": "2027-06-29",
              "value_date": "2027-04-01", "payout_reference": "PAY-88120", "currency": "EUR", "advance": "8000.00",
              "paid_out": "8000.00", "outstanding": "8000.00", "fee_owed": "0.00", "written_off": "0.00"}
_WARNING = {"run_id": 9, "as_of": "2027-04-01", "reasons": ["arrears_approaching", "utilisation_high"],
            "acknowledged_at": "2027-04-02T08:30:00Z", "acknowledged_by": "key:7", "assignee": None, "notes": 0,
            "actor": "key:7"}

EXAMPLES: dict[str, tuple[int | str, int | None, dict[str, Any]]] = {
    # type: (object id, firm id, data)
    "application.decided": (_APPLICATION["decision_id"], 17, _APPLICATION),
    "application.reviewed": ("9e2d4f6a-1b3c-4d5e-8f70-a1b2c3d4e5f6", 18, {
        **_APPLICATION, "decision_id": "9e2d4f6a-1b3c-4d5e-8f70-a1b2c3d4e5f6", "buyer_id": 18, "status": "reviewed",
        "outcome": "refer", "grade": "E", "pd": "0.071000", "limit": "6000.00", "per_order_cap": "2000.00",
        "proposed_limit": "8000.00", "reason_codes": ["refer_grey_zone", "limit_by_grade_cap"], "next_actions": [],
        "line_id": 32,
        "review": {"decision_id": "c4a1e9d2-7b6f-4e3a-9d8c-0f1e2d3c4b5a", "outcome": "approve", "limit": "6000.00",
                   "per_order_cap": "2000.00", "reason_codes": ["finance_changed_limit"]}}),
    "credit_line.opened": (31, 17, {**_LINE, "status": "active", "frozen_by": None, "posted": "0.00",
                                    "pending": "0.00", "available": "15000.00"}),
    "credit_line.changed": (31, 17, {**_LINE, "status": "active", "frozen_by": None, "limit": "20000.00",
                                     "available": "15000.00"}),
    "credit_line.frozen": (31, 17, _LINE),
    "credit_line.unfrozen": (31, 17, {**_LINE, "status": "active", "frozen_by": None}),
    "credit_line.closed": (31, 17, {**_LINE, "status": "closed", "frozen_by": "servicing", "posted": "0.00",
                                    "pending": "0.00", "available": "15000.00"}),
    "authorization.approved": (905, 17, {**_HOLD, "terms_days": 30}),
    "authorization.declined": ("7f3e2d1c-0b9a-4876-a5b4-c3d2e1f0a9b8", 17, {
        "decision_id": "7f3e2d1c-0b9a-4876-a5b4-c3d2e1f0a9b8", "buyer_id": 17, "line_id": 31,
        "order_reference": "PO-2027-0043", "status": "declined", "currency": "EUR", "amount": "12000.00",
        "decline_code": "per_order_cap_exceeded", "next_actions": ["split_order", "reduce_order_amount"]}),
    "authorization.captured": (905, 17, {**_HOLD, "captured": "700.00", "remaining": "500.00",
                                         "capture": {"amount": "700.00", "reference": "SHIP-1"}}),
    "authorization.voided": (905, 17, {**_HOLD, "status": "closed", "captured": "700.00", "released": "500.00",
                                       "remaining": "0.00", "void": {"reference": None}}),
    "authorization.expired": (905, 17, {**_HOLD, "status": "expired", "released": "1200.00", "remaining": "0.00"}),
    "authorization.refunded": (905, 17, {**_HOLD, "status": "closed", "captured": "1200.00", "refunded": "200.00",
                                         "remaining": "0.00", "refund": {"amount": "200.00", "reference": "CN-7"}}),
    "receivable.due_soon": (412, 17, _RECEIVABLE),
    "receivable.overdue": (412, 17, {**_RECEIVABLE, "status": "overdue", "days_past_due": 1}),
    "receivable.paid": (412, 17, {**_RECEIVABLE, "status": "paid", "days_past_due": -10,
                                  "owed": {"principal": "0.00", "fee": "0.00", "late_fee": "0.00", "total": "0.00"}}),
    "dunning.step_taken": (1033, 17, {
        "action_id": 1033, "subject": "receivable:412", "line_id": 31, "receivable_id": 412, "step": "late_fee",
        "step_key": "late_fee:7", "reason_code": "late_fee_charged", "days_past_due": 7, "currency": "EUR",
        "amount": "37.00", "decision_id": "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d", "as_of": "2027-06-07"}),
    "financing.changed": (58, 22, _FINANCING),
    "loan_offer.made": (64, 22, {
        "offer_id": 64, "status": "open", "decision_id": "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f", "as_of": "2027-04-01",
        "expires_on": "2027-05-01", "currency": "EUR", "amount": "100000.00", "fee": "6000.00",
        "withholding_rate": "0.12", "minimum": "17666.67", "period_days": 60, "replaces_offer_id": None}),
    "early_warning.raised": (17, 17, {
        "run_id": 9, "as_of": "2027-04-01", "reasons": ["utilisation_high"],
        "details": {"utilisation_high": {"limit_minor": 1500000, "posted_minor": 1380000, "pending_minor": 0,
                                         "utilisation": 0.92}},
        "currency": "EUR", "exposure": {"as_debtor": "15000.00", "as_supplier": "0.00"}}),
    "early_warning.acknowledged": ("9:17", 17, _WARNING),
    "early_warning.assigned": ("9:17", 17, {**_WARNING, "assignee": "anna.berg", "previous_assignee": None}),
    "early_warning.noted": ("9:17", 17, {**_WARNING, "assignee": "anna.berg", "notes": 1, "actor": "key:12",
                                         "note_id": 88}),
    "webhook_endpoint.disabled": (3, None, {
        "url": "https://marketplace.example/hooks/credit", "description": "Order service",
        "event_types": ["authorization.expired", "credit_line.frozen"], "status": "disabled",
        "disabled_reason": "failing since 2027-03-31T09:15:00Z: HTTP 503", "disabled_at": "2027-04-01T09:15:00Z",
        "created_at": "2027-01-05T10:00:00Z", "updated_at": "2027-04-01T09:15:00Z"}),
}
"""An example event of each type the catalogue lists the data of: (object id, firm id, data)."""


def example_payload(type_: str) -> dict[str, Any]:
    """The example as delivered: the envelope :func:`credit.events.outbox.payload` builds."""
    object_id, firm_id, data = EXAMPLES[type_]
    return {"id": "evt_" + "0" * 31 + "1", "type": type_, "timestamp": "2027-04-01T09:15:00Z",
            "data": {**data, "object": EVENT_TYPES[type_].object_type, "id": str(object_id), "firm_id": firm_id}}


def render_events_reference() -> str:
    """Markdown reference of every event type: when it is written, its data's fields and an example."""
    lines = [
        "# Event reference",
        "",
        "Generated from `credit/events/catalogue.py` (`make events-doc`); a test fails when this file and",
        "the code disagree. Every event is written in the database transaction of the change it reports",
        "(a transactional outbox): a committed change always has its event, a rolled-back one never does.",
        "Clients read them in commit order at `GET /v1/events` (cursor paging) or receive them as",
        "signed webhooks; both carry the same body, the Standard Webhooks envelope:",
        "",
        "- `id`: the event id (`evt_` + 32 hex digits), stable across redeliveries (the `webhook-id`);",
        "- `type`: one of the types below; `timestamp`: when the change was made (UTC);",
        "- `data`: the object after the change (the fields listed for its type), then `object` (the object",
        "  type), `id` (its id, as text) and `firm_id` (the firm it belongs to, or null).",
        "",
        "Amounts are decimal strings in `currency` (e.g. `\"1500.00\"` EUR), never floats or minor units",
        "(the early-warning `details` excepted, as the monitoring API shows them); instants are UTC with",
        "`Z`; dates are ISO dates. Each state change is announced once: a daily job run again for the",
        "same day writes no event twice, and a call that changes nothing (freezing a frozen line) writes none.",
        "",
        "| type | object | when |",
        "|---|---|---|",
    ]
    lines += [f"| [`{name}`](#{name.replace('.', '')}) | `{kind.object_type}` | {kind.when} |"
              for name, kind in EVENT_TYPES.items()]
    for name, kind in EVENT_TYPES.items():
        lines += ["", f"## `{name}`", "", f"{kind.when} Object: `{kind.object_type}`.", ""]
        fields = kind.data_fields()
        lines += ["| field | meaning |", "|---|---|"]
        lines += [f"| `{field}` | {meaning} |" for field, meaning in fields.items()]
        if name in EXAMPLES:
            lines += ["", "```json", json.dumps(example_payload(name), indent=2, ensure_ascii=False), "```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_events_reference(), end="")
