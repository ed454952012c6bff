"""A file that cannot be loaded as a whole is refused with one clear line; nothing of it lands."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli import app
from credit.ingest import find_history_files, ingest_files
from credit.store.frames import HISTORY
from credit.store.tables import Base
from tests.ingest.history import valid_history, write_csv


def _count(engine, table: str) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Base.metadata.tables[table])).scalar_one()


def _ingest_one(engine, path):
    files, _ = find_history_files([path])
    return ingest_files(engine, files)[0]


@pytest.mark.parametrize(("content", "reason"), [
    ("", "the file is empty"),
    ("firm_id,name,roles,industry,region,size_band,registered_at,verified,deposit_minor\n",
     "the file has a header but no data rows"),
    ("firm_id,name,roles,industry,region,size_band,registered_at,verified\n1,A,buyer,machinery,north,small,2023-01-01,true\n",
     "missing column(s) deposit_minor of table firms"),
    ("firm_id,name,roles,industry,region,size_band,registered_at,verified,deposit_minor,vat\n"
     "1,A,buyer,machinery,north,small,2023-01-01,true,0,x\n", "unexpected column(s) vat"),
    ("firm_id,name,roles,industry,region,size_band,registered_at,verified,deposit_minor\n"
     "1,A,buyer,machinery,north,small,last week,true,0\n2,B,buyer,machinery,north,small,soon,true,0\n",
     "column registered_at has no value readable as timestamp"),
])
def test_unusable_csv_is_refused_and_nothing_is_loaded(store, tmp_path, content, reason):
    path = tmp_path / "firms.csv"
    path.write_text(content)
    result = _ingest_one(store, path)
    assert result.error is not None and reason in result.error
    assert _count(store, "firms") == 0


def test_parquet_money_as_float_is_refused(store, tmp_path):
    frame = pd.DataFrame({
        "firm_id": [1], "name": ["A"], "roles": ["buyer"], "industry": ["machinery"], "region": ["north"],
        "size_band": ["small"], "registered_at": pd.to_datetime(["2023-01-01"]), "verified": [True],
        "deposit_minor": [12.5],
    })
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "firms.parquet")
    result = _ingest_one(store, tmp_path / "firms.parquet")
    assert "column deposit_minor has type double" in result.error
    assert "money must be integer minor units" in result.error
    assert _count(store, "firms") == 0


def test_cli_exits_non_zero_and_names_the_unusable_file(tmp_path):
    write_csv(tmp_path / "data", {"firms": valid_history()["firms"]})
    (tmp_path / "data" / "orders.csv").write_text("order_id,buyer_id\n1,2\n")
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "data"),
                                      "--database-url", f"sqlite:///{tmp_path / 'store.db'}"])
    assert result.exit_code == 1
    assert "orders.csv: missing column(s) supplier_id, created_at" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["ingest", "/no/such/folder"], "error: /no/such/folder: no such file or folder"),
    (["ingest", "pyproject.toml"], "file name names no history table"),
    (["ingest", "."], "no history table files in ."),
    (["ingest", "tests", "--database-url", "nosuchdb://x"], None),
])
def test_cli_user_mistakes_are_one_line_errors(args, message):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    if message:
        assert message in result.output
    assert len(result.output.strip().splitlines()) <= 2


def test_two_files_for_one_table_are_refused(tmp_path):
    write_csv(tmp_path, {"firms": valid_history()["firms"]})
    pq.write_table(HISTORY["firms"].arrow_schema.empty_table(), tmp_path / "firms.parquet")
    result = CliRunner().invoke(app, ["ingest", str(tmp_path)])
    assert result.exit_code == 2
    assert "a second file for table firms" in result.output


def test_refused_file_leaves_the_tables_indexes_and_foreign_keys_in_place(store, tmp_path):
    """A first load adds indexes and foreign keys after the rows; a refused file must not lose them."""
    from sqlalchemy import inspect

    write_csv(tmp_path, {"firms": valid_history()["firms"]})
    ingest_files(store, find_history_files([tmp_path])[0])
    (tmp_path / "orders.csv").write_text(",".join(HISTORY["orders"].column_names) + "\n")
    result = _ingest_one(store, tmp_path / "orders.csv")
    assert result.error == "the file has a header but no data rows"
    names = {index["name"] for index in inspect(store).get_indexes("orders")}
    assert {"ix_orders_buyer_created", "ix_orders_supplier_created"} <= names
    referenced = {tuple(fk["constrained_columns"]) for fk in inspect(store).get_foreign_keys("orders")}
    assert referenced == {("buyer_id",), ("supplier_id",)}


def test_foreign_keys_are_back_after_a_first_load(store, tmp_path):
    from sqlalchemy import inspect

    write_csv(tmp_path, valid_history())
    results = ingest_files(store, find_history_files([tmp_path])[0])
    assert all(r.error is None and r.quarantined == 0 for r in results)
    inspector = inspect(store)
    for table in HISTORY:
        declared = {tuple(c.name for c in fk.columns) for fk in Base.metadata.tables[table].foreign_key_constraints}
        assert {tuple(fk["constrained_columns"]) for fk in inspector.get_foreign_keys(table)} == declared, table
