"""The data model: migrations build exactly the declared tables; files and stores round-trip."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from credit.ingest import find_history_files, ingest_files
from credit.store.frames import HISTORY
from credit.store.schema_doc import render_schema_reference
from credit.store.tables import Base

REPO = Path(__file__).resolve().parents[2]


def test_migrations_build_exactly_the_declared_tables(store):
    with store.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_schema_reference_doc_matches_the_code():
    assert (REPO / "docs" / "schema.md").read_text() == render_schema_reference(), (
        "docs/schema.md is stale: run `make schema-doc`")


def test_every_money_column_is_a_64_bit_integer():
    for spec in HISTORY.values():
        for column in spec.columns:
            if column.name.endswith("_minor"):
                assert column.kind == "money" and column.arrow_type == pa.int64(), f"{spec.name}.{column.name}"


def _edge_history() -> dict[str, pd.DataFrame]:
    """Values at the edges of each type: big ids and amounts, microseconds, quotes, unicode, nulls."""
    big = 2**62
    t = pd.Timestamp

    def frame(table: str, rows: dict) -> pd.DataFrame:
        spec = HISTORY[table]
        return pd.DataFrame({c.name: pd.Series(rows[c.name], dtype=c.pandas_dtype) for c in spec.columns})

    return {
        "firms": frame("firms", {
            "firm_id": [1, big], "name": ['Żuraw "Crane", S.A.', "Ünal Makina\nLtd"], "roles": ["both", "supplier"],
            "industry": ["construction", "chemicals"], "region": ["east", "west"], "size_band": ["micro", "large"],
            "registered_at": [t("2020-02-29 23:59:59.999999"), t("2021-01-01")], "verified": [True, False],
            "deposit_minor": [0, 9_000_000_000_000_000_000],
        }),
        "orders": frame("orders", {
            "order_id": [big], "buyer_id": [1], "supplier_id": [big], "created_at": [t("2024-01-01 00:00:00.000001")],
            "amount_minor": [1], "category": ["electrical"], "payment_terms": ["credit"],
            "confirmed_at": [t("2024-01-01 00:00:00.000001")], "shipped_at": [None], "delivered_at": [None],
            "cancelled_at": [t("2024-01-02")],
        }),
        "credit_events": frame("credit_events", {
            "event_id": [3], "firm_id": [big], "occurred_at": [t("2024-05-05 05:05:05.5")], "kind": ["write_off"],
        }),
    }


def _stored(engine, table: str) -> pd.DataFrame:
    spec = HISTORY[table]
    with engine.connect() as connection:
        rows = connection.execute(select(Base.metadata.tables[table]).order_by(
            Base.metadata.tables[table].c[spec.key])).all()
    return pd.DataFrame({c.name: pd.Series([r[i] for r in rows], dtype=c.pandas_dtype)
                         for i, c in enumerate(spec.columns)})


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_history_round_trips_through_files_and_the_store(store, tmp_path, file_format):
    history = _edge_history()
    for table, frame in history.items():
        arrow = pa.Table.from_pandas(frame, schema=HISTORY[table].arrow_schema, preserve_index=False)
        if file_format == "parquet":
            pq.write_table(arrow, tmp_path / f"{table}.parquet")
            assert pq.read_table(tmp_path / f"{table}.parquet").schema == HISTORY[table].arrow_schema
        else:
            pacsv.write_csv(arrow, tmp_path / f"{table}.csv")
    files, _ = find_history_files([tmp_path])
    results = ingest_files(store, files)
    assert [(r.table, r.loaded, r.quarantined) for r in results] == [
        (table, len(frame), 0) for table, frame in history.items()]
    for table, frame in history.items():
        pd.testing.assert_frame_equal(_stored(store, table), frame, check_dtype=True)


def test_timestamps_with_offsets_are_stored_in_utc(store, tmp_path):
    (tmp_path / "firms.csv").write_text(
        "firm_id,name,roles,industry,region,size_band,registered_at,verified,deposit_minor\n"
        "1,A,buyer,machinery,north,small,2023-01-01T10:00:00+02:00,true,0\n")
    files, _ = find_history_files([tmp_path])
    ingest_files(store, files)
    assert _stored(store, "firms").registered_at.tolist() == [datetime(2023, 1, 1, 8, 0)]
