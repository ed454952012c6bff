"""The SQL path and the frame path of credit.standing agree, on random histories at random moments.

Each example writes a random history (invoices with random terms, none to three partial or
whole payments each, on a six-hour grid so that payments at the as-of instant, invoices due
exactly a day before it and due at issue all occur) into a real store, then asks every
reader of standing for every firm at random as-of times:

- the service's SQL (:mod:`credit.standing.sql`), and checkout's prepared statement;
- the console's invoice ageing (its overdue total);
- the frame path (:mod:`credit.standing.frames`) on the same rows as frames;
- the feature block (:func:`credit.features.domain.overdue_as_of`) at as-of dates (midnight).

All must give the same days past due, overdue amount and overdue invoices.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert
from sqlalchemy.orm import Session

from api.checkout.service import buyer_state
from api.console.queries.exposure import invoice_ageing
from credit.features.asof import AsOfGrid
from credit.features.domain import overdue_as_of
from credit.features.history import History
from credit.features.sources import prepare, release
from credit.standing import sql
from credit.standing.frames import firm_standing, invoice_standing
from credit.store.tables import Firm, Invoice, Order, Payment

FIRMS = (1, 2, 3)
START = datetime(2024, 1, 1)
STEP = timedelta(hours=6)
SPAN = 4 * 60  # steps: 60 days

invoice_rows = st.tuples(
    st.sampled_from(FIRMS), st.integers(1, len(FIRMS) - 1),  # buyer, supplier offset (never the buyer)
    st.integers(0, SPAN), st.integers(0, 4 * 30),            # issued, terms (steps)
    st.integers(1, 1_000),                                   # amount
    st.lists(st.tuples(st.integers(0, 4 * 45), st.integers(1, 700)), max_size=3),  # payments: after issue, amount
)
histories = st.lists(invoice_rows, min_size=1, max_size=12)
moments = st.lists(st.integers(1, SPAN + 4 * 60), min_size=1, max_size=4)


def _write(engine: Engine, history: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replace the store's firms, orders, invoices and payments by ``history``; return them as frames."""
    invoices, payments = [], []
    for number, (buyer, offset, issued, terms, amount, paid) in enumerate(history, start=1):
        supplier = FIRMS[(FIRMS.index(buyer) + offset) % len(FIRMS)]
        issued_at = START + issued * STEP
        invoices.append({"invoice_id": number, "order_id": number, "buyer_id": buyer, "supplier_id": supplier,
                         "issued_at": issued_at, "due_at": issued_at + terms * STEP, "amount_minor": amount})
        payments += [{"payment_id": len(payments) + i, "invoice_id": number, "paid_at": issued_at + after * STEP,
                      "amount_minor": part} for i, (after, part) in enumerate(paid, start=1)]
    with Session(engine) as session, session.begin():
        for table in (Payment, Invoice, Order, Firm):
            session.execute(delete(table))
        session.execute(insert(Firm), [
            {"firm_id": firm_id, "name": f"Firm {firm_id}", "roles": "both", "industry": "machinery",
             "region": "north", "size_band": "small", "registered_at": START - timedelta(days=400),
             "verified": True, "deposit_minor": 0} for firm_id in FIRMS])
        session.execute(insert(Order), [
            {"order_id": row["invoice_id"], "buyer_id": row["buyer_id"], "supplier_id": row["supplier_id"],
             "created_at": row["issued_at"], "amount_minor": row["amount_minor"], "category": "parts",
             "payment_terms": "net30"} for row in invoices])
        session.execute(insert(Invoice), invoices)
        if payments:
            session.execute(insert(Payment), payments)
    invoice_frame = pd.DataFrame(invoices).drop(columns="order_id")
    payment_frame = pd.DataFrame(payments, columns=["payment_id", "invoice_id", "paid_at", "amount_minor"])
    return invoice_frame, payment_frame


def _frame_standing(invoices: pd.DataFrame, payments: pd.DataFrame, times: list[datetime],
                    by: str = "buyer_id") -> dict[tuple[int, datetime], tuple[int, int, int]]:
    rows = firm_standing(invoice_standing(invoices, payments, times, overdue_only=True), by=by)
    found = {(int(getattr(r, by)), r.as_of.to_pydatetime()): (int(r.days_past_due), int(r.overdue_minor), int(r.overdue_invoices))
             for r in rows.itertuples(index=False)}
    return {(firm_id, t): found.get((firm_id, t), (0, 0, 0)) for firm_id in FIRMS for t in times}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories, steps=moments)
def test_the_service_and_the_frames_agree_on_every_firm_at_random_moments(store: Engine, history, steps) -> None:  # noqa: ANN001
    invoices, payments = _write(store, history)
    times = sorted({START + step * STEP for step in steps})
    frames = _frame_standing(invoices, payments, times)
    with Session(store) as session:
        for (firm_id, t), (days, overdue_minor, overdue_invoices) in frames.items():
            assert sql.firm_standing(session, firm_id, t) == sql.FirmStanding(days, overdue_minor, overdue_invoices), \
                (firm_id, t)
            assert sql.firm_days_past_due(session, firm_id, t) == days, (firm_id, t)
            assert buyer_state(session, firm_id, t).days_past_due == days, (firm_id, t)
            assert invoice_ageing(session, firm_id, t).overdue_minor == overdue_minor, (firm_id, t)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories, days=st.lists(st.integers(1, 75), min_size=1, max_size=3, unique=True))
def test_the_feature_block_agrees_with_the_service_at_as_of_dates(store: Engine, history, days) -> None:  # noqa: ANN001
    invoices, payments = _write(store, history)
    dates = sorted(date(2024, 1, 1) + timedelta(days=d) for d in days)
    times = [datetime(d.year, d.month, d.day) for d in dates]
    source = History.from_store(store)
    prepare(source, times[-1])
    try:
        block = overdue_as_of(source, AsOfGrid(dates, set()), np.array(FIRMS))
    finally:
        release(source)
    owed_to = _frame_standing(invoices, payments, times, by="supplier_id")
    with Session(store) as session:
        for row, firm_id in enumerate(FIRMS):
            for k, t in enumerate(times):
                expected = sql.firm_standing(session, firm_id, t)
                features = block.columns
                assert (features["debtor_days_past_due"][row, k], features["debtor_overdue_value"][row, k],
                        features["debtor_overdue_invoices"][row, k]) == (
                    expected.days_past_due, expected.overdue_minor, expected.overdue_invoices), (firm_id, t)
                assert features["creditor_overdue_value"][row, k] == owed_to[(firm_id, t)][1], (firm_id, t)
