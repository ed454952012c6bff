"""Every simulated file keeps the data model's schema, keys and rules."""

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from credit.simulate import TRUTH_SCHEMAS
from credit.store.frames import HISTORY
from credit.store.tables import TERMS_DAYS

TIMESTAMP_COLUMNS = {
    name: [c.name for c in spec.columns if c.kind == "timestamp"] for name, spec in HISTORY.items()
}


@pytest.fixture(scope="module")
def run(shocked_run):
    return shocked_run


@pytest.fixture(scope="module")
def tables(run):
    return {name: run.table(name) for name in HISTORY}


@pytest.mark.parametrize("name", list(HISTORY))
def test_file_schema_is_exactly_the_data_model_schema(run, name):
    schema = pq.read_schema(run.out_dir / f"{name}.parquet")
    assert schema.equals(HISTORY[name].arrow_schema, check_metadata=False)


@pytest.mark.parametrize("name", list(TRUTH_SCHEMAS))
def test_truth_file_schema_is_the_documented_one(run, name):
    schema = pq.read_schema(run.out_dir / "truth" / f"{name}.parquet")
    assert schema.equals(TRUTH_SCHEMAS[name], check_metadata=False)


@pytest.mark.parametrize("name", list(HISTORY))
def test_ids_are_sequential_from_one_in_time_order(tables, name):
    spec = HISTORY[name]
    frame = tables[name]
    assert len(frame) > 0
    assert (frame[spec.key].to_numpy() == np.arange(1, len(frame) + 1)).all()
    assert frame[spec.event_time].is_monotonic_increasing


@pytest.mark.parametrize("name", list(HISTORY))
def test_choice_columns_hold_only_allowed_values(tables, name):
    for column in HISTORY[name].columns:
        if column.allowed:
            values = tables[name][column.name].dropna()
            assert set(values) <= set(column.allowed), column.name


@pytest.mark.parametrize("name", list(HISTORY))
def test_no_event_is_at_or_after_the_end(run, tables, name):
    # A due date is contract terms known at issue, not an event: it may lie after the end.
    for column in set(TIMESTAMP_COLUMNS[name]) - {"due_at"}:
        assert (tables[name][column].dropna() < run.end).all(), column


def test_only_due_dates_of_recent_invoices_lie_after_the_end(run, tables):
    invoices = tables["invoices"]
    after = invoices[invoices.due_at >= run.end]
    assert (after.issued_at < run.end).all()
    assert (after.due_at < run.end + pd.Timedelta(days=max(TERMS_DAYS.values()))).all()


def test_money_is_positive_and_disputes_non_negative(tables):
    for name in ("orders", "invoices", "payments", "returns"):
        assert (tables[name].amount_minor > 0).all(), name
    assert (tables["disputes"].amount_minor >= 0).all()
    assert (tables["firms"].deposit_minor >= 0).all()
    buyers_only = tables["firms"].roles == "buyer"
    assert (tables["firms"].deposit_minor[buyers_only] == 0).all()


def test_orders_follow_the_status_rules(tables):
    orders = tables["orders"]
    assert (orders.buyer_id != orders.supplier_id).all()
    confirmed, shipped, delivered, cancelled = (orders[c] for c in
                                                ("confirmed_at", "shipped_at", "delivered_at", "cancelled_at"))
    assert not (confirmed < orders.created_at).any()
    assert (shipped.isna() | (confirmed.notna() & (shipped >= confirmed))).all()
    assert (delivered.isna() | (shipped.notna() & (delivered >= shipped))).all()
    assert (cancelled.isna() | ((cancelled >= orders.created_at) & delivered.isna())).all()
    assert 0.01 < cancelled.notna().mean() < 0.08


def test_orders_are_placed_between_registered_firms(tables):
    registered = tables["firms"].set_index("firm_id").registered_at
    orders = tables["orders"]
    assert orders.buyer_id.isin(registered.index).all() and orders.supplier_id.isin(registered.index).all()
    assert (orders.created_at >= registered.reindex(orders.buyer_id).to_numpy()).all()
    assert (orders.created_at >= registered.reindex(orders.supplier_id).to_numpy()).all()


def test_invoices_belong_to_their_order_and_fall_due_by_the_terms(tables):
    orders = tables["orders"].set_index("order_id")
    invoices = tables["invoices"]
    assert invoices.order_id.is_unique and invoices.order_id.isin(orders.index).all()
    order = orders.reindex(invoices.order_id)
    assert (invoices.buyer_id.to_numpy() == order.buyer_id.to_numpy()).all()
    assert (invoices.supplier_id.to_numpy() == order.supplier_id.to_numpy()).all()
    assert (invoices.amount_minor.to_numpy() <= order.amount_minor.to_numpy()).all()
    assert (invoices.issued_at.to_numpy() >= order.created_at.to_numpy()).all()
    assert (invoices.due_at >= invoices.issued_at).all()
    term_days = order.payment_terms.map(TERMS_DAYS).to_numpy()
    assert ((invoices.due_at - invoices.issued_at).dt.days.to_numpy() == term_days).all()


def test_payments_follow_their_invoice_and_never_exceed_it(tables):
    invoices = tables["invoices"].set_index("invoice_id")
    payments = tables["payments"]
    assert payments.invoice_id.isin(invoices.index).all()
    assert (payments.paid_at.to_numpy() >= invoices.issued_at.reindex(payments.invoice_id).to_numpy()).all()
    paid = payments.groupby("invoice_id").amount_minor.sum()
    assert (paid <= invoices.amount_minor.reindex(paid.index)).all()
    assert (payments.groupby("invoice_id").size() > 1).any(), "some invoices are paid in parts"


@pytest.mark.parametrize(("name", "time_column"), [("returns", "returned_at"), ("disputes", "opened_at")])
def test_returns_and_disputes_refer_to_their_order_and_invoice(tables, name, time_column):
    orders = tables["orders"].set_index("order_id")
    invoices = tables["invoices"].set_index("invoice_id")
    frame = tables[name]
    assert frame.order_id.isin(orders.index).all()
    linked = frame.dropna(subset=["invoice_id"])
    assert (invoices.order_id.reindex(linked.invoice_id).to_numpy() == linked.order_id.to_numpy()).all()
    assert (frame[time_column].to_numpy() >= orders.created_at.reindex(frame.order_id).to_numpy()).all()
    assert (frame.amount_minor.to_numpy() <= orders.amount_minor.reindex(frame.order_id).to_numpy()).all()


def test_dispute_resolution_and_its_time_are_set_together(tables):
    disputes = tables["disputes"]
    assert (disputes.resolution.isna() == disputes.resolved_at.isna()).all()
    resolved = disputes.dropna(subset=["resolved_at"])
    assert (resolved.resolved_at >= resolved.opened_at).all()
    assert disputes.resolution.isna().any() and disputes.resolution.notna().any()


def test_credit_events_follow_the_definitions(run, tables):
    events = tables["credit_events"]
    assert events.firm_id.isin(tables["firms"].firm_id).all()
    first = events[events.kind != "write_off"]
    assert first.firm_id.is_unique, "a firm defaults once"
    write_offs = events[events.kind == "write_off"]
    assert write_offs.firm_id.is_unique
    first_at = first.set_index("firm_id").occurred_at
    assert (write_offs.occurred_at.to_numpy() > first_at.reindex(write_offs.firm_id).to_numpy()).all()

    # default_90dpd: an invoice of the firm is unpaid 90 days after its due date at that moment.
    invoices = tables["invoices"]
    paid = tables["payments"].groupby("invoice_id").agg(paid=("amount_minor", "sum"), last=("paid_at", "max"))
    invoices = invoices.join(paid, on="invoice_id")
    settled_at = invoices["last"].where(invoices.paid == invoices.amount_minor)
    for firm_id, at in first[first.kind == "default_90dpd"].set_index("firm_id").occurred_at.items():
        own = invoices[invoices.buyer_id == firm_id]
        overdue = (own.due_at + pd.Timedelta(days=90) <= at) & ~(settled_at[own.index] <= at)
        assert overdue.any(), f"firm {firm_id} has no 90-days-past-due invoice at its default"


def test_every_invoice_unpaid_90_days_past_due_has_a_default_by_then(run, tables):
    invoices = tables["invoices"]
    paid = tables["payments"].groupby("invoice_id").agg(paid=("amount_minor", "sum"), last=("paid_at", "max"))
    invoices = invoices.join(paid, on="invoice_id")
    limit = invoices.due_at + pd.Timedelta(days=90)
    settled_in_time = (invoices.paid == invoices.amount_minor) & (invoices["last"] < limit)
    breached = invoices[~settled_in_time & (limit < run.end)]
    first_at = run.first_events()
    assert len(breached) > 0
    assert (first_at.reindex(breached.buyer_id).to_numpy() <= limit[breached.index].to_numpy()).all()


def test_firms_place_and_fulfil_no_new_orders_after_their_credit_event(run, tables):
    first_at = run.first_events()
    orders = tables["orders"]
    assert (orders.created_at.to_numpy() <= first_at.reindex(orders.buyer_id).fillna(run.end).to_numpy()).all()
    supplier_event = first_at.reindex(orders.supplier_id).fillna(run.end).to_numpy()
    late = orders.created_at.to_numpy() > supplier_event
    assert orders.shipped_at[late].isna().all()


def test_ground_truth_never_appears_in_observable_tables(run, tables):
    truth_columns = {f.name for schema in TRUTH_SCHEMAS.values() for f in schema} - {"firm_id"}
    for name, frame in tables.items():
        assert not truth_columns & set(frame.columns), name
        assert list(frame.columns) == HISTORY[name].column_names
    assert sorted(p.name for p in run.out_dir.glob("*.parquet")) == sorted(f"{n}.parquet" for n in HISTORY)


def test_truth_rows_cover_registered_firms_not_yet_defaulted(run, tables):
    truth = run.truth("firm_month")
    registered = tables["firms"].set_index("firm_id").registered_at
    assert (truth.month_end.to_numpy() > registered.reindex(truth.firm_id).to_numpy()).all()
    first_at = run.first_events()
    event = first_at.reindex(truth.firm_id).to_numpy()
    assert not (event < truth.month_end.to_numpy()).any()
    assert truth.pd_12m.between(0, 1).all() and truth.monthly_hazard.between(0, 1).all()
    assert not truth.duplicated(["firm_id", "month_end"]).any()


def test_larger_suppliers_hold_larger_deposits(tables):
    firms = tables["firms"]
    suppliers = firms[firms.roles != "buyer"]
    median = suppliers.groupby("size_band").deposit_minor.median()
    assert median["micro"] < median["small"] < median["medium"] < median["large"]


def test_smallest_market_simulates(tmp_path):
    from credit.simulate import simulate
    from tests.simulate.runs import make_config

    summary = simulate(make_config(10, years=1, seed=1), tmp_path)
    assert summary.rows["firms"] == 10
    assert summary.rows["orders"] > 0
