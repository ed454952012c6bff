"""Point-in-time correctness, as properties over random histories (Hypothesis).

1. Deleting every event dated at or after the as-of date, or appending new ones there
   (new orders, invoices and payments, and later cancellations, deliveries, payments,
   returns, disputes, resolutions and credit events on existing rows), never changes any
   feature at that date.
2. Features computed for one as-of date alone equal the same rows computed in a batch of
   several dates.

Every feature of the panel is compared, for every firm (panel membership and the label look
forward by design, so they are not features).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credit.features.domain import partner_flags
from credit.features.engine import register_grid
from credit.features.history import History
from credit.features.panel import all_firms, firm_stage, grid_for, network_stage
from credit.store.frames import HISTORY
from tests.features.histories import table_frame

START = datetime(2023, 1, 1)
DAYS = 540
TERMS = {"prepaid": 0, "net30": 30, "net60": 60}
FIRMS = 5


def features_at(history: History, as_of: list[date]) -> pd.DataFrame:
    """Every feature of every firm at ``as_of``: the panel's stages without its membership and labels."""
    grid = grid_for(as_of)
    firms = all_firms(history)
    register_grid(history, grid, firms)
    block = firm_stage(history, grid, firms)
    block.update(network_stage(history, grid, firms, partner_flags(history, grid, block)))
    return block.frame()


def _at(rng: np.random.Generator, low_days: float, high_days: float) -> datetime:
    """A time between the given day offsets from START, to the second."""
    return START + timedelta(seconds=int(rng.integers(int(low_days * 86400), int(high_days * 86400) + 1)))


def random_history(seed: int, orders: int) -> dict[str, list[dict]]:
    """A consistent little marketplace: every later time is drawn after the time it follows."""
    rng = np.random.default_rng(seed)
    tables: dict[str, list[dict]] = {name: [] for name in HISTORY}
    for firm_id in range(1, FIRMS + 1):
        tables["firms"].append({
            "firm_id": firm_id, "name": f"Firm {firm_id}", "roles": "both", "industry": "machinery",
            "region": "north", "size_band": "small", "registered_at": _at(rng, -200, 120), "verified": True,
            "deposit_minor": 0})
    registered = {f["firm_id"]: f["registered_at"] for f in tables["firms"]}
    for order_id in range(1, orders + 1):
        buyer, supplier = (int(x) for x in rng.choice(np.arange(1, FIRMS + 1), size=2, replace=False))
        created = max(_at(rng, 0, DAYS - 60), registered[buyer], registered[supplier])
        terms = str(rng.choice(list(TERMS)))
        amount = int(rng.integers(1, 1_000_000))
        cancelled = created + timedelta(hours=int(rng.integers(1, 2000))) if rng.random() < 0.15 else None
        confirmed = None if cancelled else created + timedelta(hours=int(rng.integers(0, 48)))
        shipped = None if cancelled else confirmed + timedelta(hours=int(rng.integers(1, 300)))
        delivered = None if cancelled else shipped + timedelta(hours=int(rng.integers(24, 300)))
        tables["orders"].append(_order(order_id, buyer, supplier, created, amount, terms, cancelled, delivered,
                                       confirmed, shipped))
        if cancelled is None:
            _settle(rng, tables, order_id, buyer, supplier, created, amount, terms)
    for event_id, firm_id in enumerate(rng.choice(np.arange(1, FIRMS + 1), size=2, replace=False), start=1):
        tables["credit_events"].append({"event_id": event_id, "firm_id": int(firm_id),
                                        "occurred_at": _at(rng, 60, DAYS), "kind": "default_90dpd"})
    return tables


def _order(order_id, buyer, supplier, created, amount, terms, cancelled, delivered, confirmed=None,  # noqa: ANN001
           shipped=None) -> dict:  # noqa: ANN001
    return {"order_id": order_id, "buyer_id": buyer, "supplier_id": supplier, "created_at": created,
            "amount_minor": amount, "category": "parts", "payment_terms": terms, "confirmed_at": confirmed,
            "shipped_at": shipped, "delivered_at": delivered, "cancelled_at": cancelled}


def _settle(rng, tables, order_id, buyer, supplier, created, amount, terms) -> None:  # noqa: ANN001
    issued = created + timedelta(hours=int(rng.integers(0, 200)))
    due = issued + timedelta(days=TERMS[terms])
    invoice_id = len(tables["invoices"]) + 1
    tables["invoices"].append({"invoice_id": invoice_id, "order_id": order_id, "supplier_id": supplier,
                               "buyer_id": buyer, "issued_at": issued, "due_at": due, "amount_minor": amount})
    paid_at = due + timedelta(hours=int(rng.integers(-300, 2000)))
    first = amount if rng.random() < 0.7 else int(rng.integers(1, amount + 1))
    for part, at in ((first, max(paid_at, issued)), (amount - first, paid_at + timedelta(days=int(rng.integers(1, 90))))):
        if part > 0 and rng.random() < 0.9:
            tables["payments"].append({"payment_id": len(tables["payments"]) + 1, "invoice_id": invoice_id,
                                       "paid_at": at, "amount_minor": part})
    if rng.random() < 0.15:
        tables["returns"].append({"return_id": len(tables["returns"]) + 1, "order_id": order_id, "invoice_id": None,
                                  "returned_at": created + timedelta(days=int(rng.integers(1, 60))),
                                  "amount_minor": int(rng.integers(1, amount + 1)), "reason": "damaged"})
    if rng.random() < 0.15:
        opened = created + timedelta(days=int(rng.integers(1, 60)))
        resolved = opened + timedelta(days=int(rng.integers(1, 60))) if rng.random() < 0.7 else None
        tables["disputes"].append({"dispute_id": len(tables["disputes"]) + 1, "order_id": order_id,
                                   "invoice_id": None, "opened_at": opened, "amount_minor": int(rng.integers(0, amount)),
                                   "reason": "quality", "resolution": "settled" if resolved else None,
                                   "resolved_at": resolved})


STATE_CHANGES = {"orders": ["cancelled_at", "delivered_at", "confirmed_at", "shipped_at"],
                 "disputes": ["resolved_at"]}


def before(tables: dict[str, list[dict]], cutoff: datetime) -> dict[str, list[dict]]:
    """The history as it stood at ``cutoff``: later events deleted, later state changes undone."""
    kept: dict[str, list[dict]] = {}
    for name, rows in tables.items():
        event_time = HISTORY[name].event_time
        kept[name] = []
        for row in rows:
            if name == "firms" or row[event_time] < cutoff:
                row = dict(row)
                for column in STATE_CHANGES.get(name, []):
                    if row[column] is not None and row[column] >= cutoff:
                        row[column] = None
                if name == "disputes" and row["resolved_at"] is None:
                    row["resolution"] = None
                kept[name].append(row)
    return kept


def with_future(tables: dict[str, list[dict]], cutoff: datetime, seed: int) -> dict[str, list[dict]]:
    """The history plus events at or after ``cutoff``: new trade, and later changes to rows before it."""
    rng = np.random.default_rng(seed + 1)
    grown = {name: [dict(row) for row in rows] for name, rows in tables.items()}
    late = cutoff + timedelta(seconds=int(rng.integers(0, 3)))  # at the cutoff itself, or just after
    for row in grown["orders"]:
        if row["created_at"] < cutoff and row["cancelled_at"] is None and row["delivered_at"] is None:
            row["cancelled_at"] = late
            break
    for row in grown["orders"]:
        if row["created_at"] < cutoff and row["delivered_at"] is None and row["cancelled_at"] is None:
            row["delivered_at"] = late
    for invoice in grown["invoices"]:
        if invoice["issued_at"] < cutoff:
            grown["payments"].append({"payment_id": len(grown["payments"]) + 1, "invoice_id": invoice["invoice_id"],
                                      "paid_at": max(late, invoice["issued_at"]), "amount_minor": 1})
    for row in grown["disputes"]:
        if row["resolved_at"] is None:
            row["resolved_at"], row["resolution"] = max(late, row["opened_at"]), "withdrawn"
    first_order = next(iter(grown["orders"]), None)
    if first_order is not None:
        grown["returns"].append({"return_id": len(grown["returns"]) + 1, "order_id": first_order["order_id"],
                                 "invoice_id": None, "returned_at": max(late, first_order["created_at"]),
                                 "amount_minor": 1, "reason": "surplus"})
        grown["disputes"].append({"dispute_id": len(grown["disputes"]) + 1, "order_id": first_order["order_id"],
                                  "invoice_id": None, "opened_at": max(late, first_order["created_at"]),
                                  "amount_minor": 1, "reason": "pricing", "resolution": None, "resolved_at": None})
    next_order = len(grown["orders"]) + 1
    for offset in range(3):
        created = late + timedelta(days=offset * 7)
        grown["orders"].append(_order(next_order + offset, 1, 2, created, 5_000, "net30", None, None))
        _settle(rng, grown, next_order + offset, 1, 2, created, 5_000, "net30")
    grown["credit_events"].append({"event_id": 99, "firm_id": 3, "occurred_at": late, "kind": "insolvency"})
    return grown


def load(tables: dict[str, list[dict]]) -> History:
    return History.from_tables({name: table_frame(name, rows) for name, rows in tables.items()}, origin="property")


def assert_same_features(left: pd.DataFrame, right: pd.DataFrame) -> None:
    # counts, sums, extremes and latest values are exact; spreads and shares are floating
    # point from the same exact integers, so a last-bit difference is the most allowed
    pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True),
                                  check_exact=False, rtol=1e-9, atol=0)


SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), orders=st.integers(0, 40), as_of_day=st.integers(30, DAYS - 30))
def test_events_at_or_after_the_as_of_date_never_change_features_there(seed: int, orders: int, as_of_day: int) -> None:
    tables = random_history(seed, orders)
    as_of = (START + timedelta(days=as_of_day)).date()
    cutoff = datetime(as_of.year, as_of.month, as_of.day)
    seen = features_at(load(tables), [as_of])
    assert_same_features(features_at(load(before(tables, cutoff)), [as_of]), seen)
    assert_same_features(features_at(load(with_future(tables, cutoff, seed)), [as_of]), seen)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), orders=st.integers(0, 40),
       days=st.lists(st.integers(30, DAYS), min_size=2, max_size=5, unique=True))
def test_one_as_of_date_alone_equals_its_rows_in_a_batch(seed: int, orders: int, days: list[int]) -> None:
    history = load(random_history(seed, orders))
    dates = [(START + timedelta(days=d)).date() for d in days]
    batch = features_at(history, dates)
    for as_of in dates:
        alone = features_at(load(random_history(seed, orders)), [as_of])
        assert_same_features(alone, batch[batch["as_of"] == pd.Timestamp(as_of)])


def test_the_property_history_exercises_every_stream() -> None:
    """Guard against a generator that silently stops producing some kind of event."""
    tables = random_history(seed=5, orders=40)
    cutoff = START + timedelta(days=200)
    for name in ("orders", "invoices", "payments", "returns", "disputes", "credit_events"):
        assert tables[name], f"no {name} generated"
    assert any(o["cancelled_at"] for o in tables["orders"])
    assert any(o["shipped_at"] and o["shipped_at"] > cutoff > o["created_at"] for o in tables["orders"])
    assert any(p["amount_minor"] < i["amount_minor"] for p in tables["payments"] for i in tables["invoices"]
               if i["invoice_id"] == p["invoice_id"])
    grown = with_future(tables, cutoff, seed=5)
    assert len(grown["orders"]) == len(tables["orders"]) + 3
    assert len(before(tables, cutoff)["orders"]) < len(tables["orders"])
    block = features_at(load(tables), [cutoff.date()])
    assert isinstance(block, pd.DataFrame) and len(block) == FIRMS
    assert block["buyer_order_count_all"].sum() > 0 and block["debtor_invoices_due_365d"].sum() > 0

