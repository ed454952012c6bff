"""Factories for tiny feature-test histories: one row of each table, defaults for the rest.

Invoices point at an order id of the same number; no invoice or payment feature reads
orders, so a test adds the order only when it cares about trade.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from credit.features.history import History
from credit.store.frames import HISTORY




def firm(firm_id: int, registered: str = "2023-01-01") -> dict:
    return {"firm_id": firm_id, "name": f"Firm {firm_id}", "roles": "both", "industry": "machinery",
            "region": "north", "size_band": "small", "registered_at": registered, "verified": True,
            "deposit_minor": 0}


def order(order_id: int, buyer: int, supplier: int, created: str, amount: int, cancelled: str | None = None) -> dict:
    return {"order_id": order_id, "buyer_id": buyer, "supplier_id": supplier, "created_at": created,
            "amount_minor": amount, "category": "parts", "payment_terms": "net30", "confirmed_at": None,
            "shipped_at": None, "delivered_at": None, "cancelled_at": cancelled}


def invoice(invoice_id: int, buyer: int, supplier: int, issued: str, due: str, amount: int) -> dict:
    return {"invoice_id": invoice_id, "order_id": invoice_id, "supplier_id": supplier, "buyer_id": buyer,
            "issued_at": issued, "due_at": due, "amount_minor": amount}


def payment(payment_id: int, invoice_id: int, paid: str, amount: int) -> dict:
    return {"payment_id": payment_id, "invoice_id": invoice_id, "paid_at": paid, "amount_minor": amount}


def returned(return_id: int, order_id: int, at: str, amount: int) -> dict:
    return {"return_id": return_id, "order_id": order_id, "invoice_id": None, "returned_at": at,
            "amount_minor": amount, "reason": "damaged"}


def dispute(dispute_id: int, order_id: int, opened: str, amount: int) -> dict:
    return {"dispute_id": dispute_id, "order_id": order_id, "invoice_id": None, "opened_at": opened,
            "amount_minor": amount, "reason": "quality", "resolution": None, "resolved_at": None}


def credit_event(event_id: int, firm_id: int, occurred: str, kind: str = "default_90dpd") -> dict:
    return {"event_id": event_id, "firm_id": firm_id, "occurred_at": occurred, "kind": kind}


def table_frame(table: str, rows: Iterable[dict]) -> pd.DataFrame:
    """A DataFrame with every column of ``table`` in the data model, typed as the model says."""
    spec = HISTORY[table]
    frame = pd.DataFrame(list(rows), columns=spec.column_names)
    for column in spec.columns:
        if column.kind == "timestamp":
            frame[column.name] = pd.to_datetime(frame[column.name], format="ISO8601").astype("datetime64[us]")
        else:
            frame[column.name] = frame[column.name].astype(column.pandas_dtype)
    return frame


def history(firms: Iterable[dict], orders: Iterable[dict] = (), invoices: Iterable[dict] = (),
            payments: Iterable[dict] = (), returns: Iterable[dict] = (), disputes: Iterable[dict] = (),
            credit_events: Iterable[dict] = ()) -> History:
    tables = {"firms": firms, "orders": orders, "invoices": invoices, "payments": payments,
              "returns": returns, "disputes": disputes, "credit_events": credit_events}
    return History.from_tables({name: table_frame(name, rows) for name, rows in tables.items()}, origin="test")
