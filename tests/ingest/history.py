"""A small, valid marketplace history written by hand, and helpers to write it as files."""

from __future__ import annotations

import csv
from pathlib import Path

from credit.store.frames import HISTORY


def valid_history() -> dict[str, list[dict]]:
    """Four firms, two orders, an invoice paid in two parts, a return, a dispute, a default."""
    firm = {"roles": "both", "industry": "machinery", "region": "north", "size_band": "small",
            "registered_at": "2023-01-01", "verified": "true", "deposit_minor": "0"}
    return {
        "firms": [
            {**firm, "firm_id": "1", "name": "Acme Fasteners Ltd", "roles": "buyer"},
            {**firm, "firm_id": "2", "name": "Bolt & Nut GmbH", "roles": "supplier", "deposit_minor": "500000"},
            {**firm, "firm_id": "3", "name": "Crane Parts Sp. z o.o.", "verified": "false"},
            {**firm, "firm_id": "4", "name": "Early Bird Tools", "registered_at": "2022-01-01"},
        ],
        "orders": [
            {"order_id": "100", "buyer_id": "1", "supplier_id": "2", "created_at": "2023-02-01T09:30:00",
             "amount_minor": "100000", "category": "parts", "payment_terms": "net30",
             "confirmed_at": "2023-02-01T12:00:00", "shipped_at": "2023-02-03", "delivered_at": "2023-02-05",
             "cancelled_at": ""},
            {"order_id": "101", "buyer_id": "3", "supplier_id": "2", "created_at": "2023-02-10",
             "amount_minor": "50000", "category": "tools", "payment_terms": "net60",
             "confirmed_at": "2023-02-10", "shipped_at": "", "delivered_at": "", "cancelled_at": "2023-02-11"},
        ],
        "invoices": [
            {"invoice_id": "500", "order_id": "100", "supplier_id": "2", "buyer_id": "1",
             "issued_at": "2023-02-03", "due_at": "2023-03-05", "amount_minor": "100000"},
        ],
        "payments": [
            {"payment_id": "900", "invoice_id": "500", "paid_at": "2023-03-01", "amount_minor": "60000"},
            {"payment_id": "901", "invoice_id": "500", "paid_at": "2023-03-20", "amount_minor": "40000"},
        ],
        "returns": [
            {"return_id": "700", "order_id": "100", "invoice_id": "500", "returned_at": "2023-02-20",
             "amount_minor": "10000", "reason": "damaged"},
        ],
        "disputes": [
            {"dispute_id": "800", "order_id": "100", "invoice_id": "500", "opened_at": "2023-02-15",
             "amount_minor": "5000", "reason": "quality", "resolution": "settled", "resolved_at": "2023-03-01"},
        ],
        "credit_events": [
            {"event_id": "950", "firm_id": "3", "occurred_at": "2023-06-01", "kind": "default_90dpd"},
        ],
    }


def write_csv(folder: Path, tables: dict[str, list[dict]]) -> Path:
    """Write each table as ``<table>.csv`` with the schema's column order."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, rows in tables.items():
        with (folder / f"{table}.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=HISTORY[table].column_names)
            writer.writeheader()
            writer.writerows(rows)
    return folder
