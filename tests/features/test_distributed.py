"""The Dask build, partitioned by firm over a 2-worker local cluster, equals the local build exactly;
and each task reads only its firm bucket, which holds every event its firms take part in."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from credit.features.asof import monthly
from credit.features.bucket_layout import bucket_folder, is_bucketed
from credit.features.buckets import write_buckets
from credit.features.distributed import build_panel_dask
from credit.features.history import History, HistoryError
from credit.features.panel import build_panel
from credit.simulate import SimulationConfig, simulate
from tests.features.histories import firm, history, order


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 firms over 2023-2024 (seed 3)."""
    out = tmp_path_factory.mktemp("history")
    simulate(SimulationConfig(firms=2000, years=2, seed=3, start=date(2023, 1, 1)), out)
    return out


def test_dask_and_single_process_panels_are_identical(simulated: Path) -> None:
    dates = monthly(date(2023, 9, 1), date(2024, 6, 1))
    local = build_panel(History.from_parquet(simulated), dates)
    distributed = build_panel_dask(History.from_parquet(simulated), dates, workers=2, partitions=3)
    assert len(local.frame) > 15_000 and local.frame["default_12m"].sum() > 50
    # every row (firm x as-of) and every value, not only the shape
    pd.testing.assert_frame_equal(distributed.frame, local.frame, check_exact=True)
    assert is_bucketed(simulated, 3)  # the build wrote the buckets its tasks read
    assert distributed.manifest["engine"] == "dask (3 firm partitions)"
    assert distributed.manifest["null_rates"] == local.manifest["null_rates"]


def _ids(history: History, query: str) -> list[int]:
    return sorted(row[0] for row in history.connection.execute(query).fetchall())


def test_a_bucket_holds_every_event_its_firms_take_part_in_and_no_other(simulated: Path) -> None:
    write_buckets(simulated, 3)
    whole = History.from_parquet(simulated)
    parts = [History.from_parquet(simulated, partition=(p, 3)) for p in range(3)]
    for p, part in enumerate(parts):
        mine = f"buyer_id % 3 = {p} OR supplier_id % 3 = {p}"
        for table, key in (("orders", "order_id"), ("invoices", "invoice_id")):
            expected = _ids(whole, f"SELECT {key} FROM {table} WHERE {mine}")
            assert _ids(part, f"SELECT {key} FROM {table}") == expected and expected
        for table, key, parent, parent_key in (("payments", "payment_id", "invoices", "invoice_id"),
                                                ("returns", "return_id", "orders", "order_id"),
                                                ("disputes", "dispute_id", "orders", "order_id")):
            expected = _ids(whole, f"SELECT {key} FROM {table} WHERE {parent_key} IN "
                                   f"(SELECT {parent_key} FROM {parent} WHERE {mine})")
            assert _ids(part, f"SELECT {key} FROM {table}") == expected and expected
        assert part.one("SELECT count(*) FROM firms") == whole.one("SELECT count(*) FROM firms")
    # an order between two buckets is stored in both, one within a bucket once
    stored = sum(part.one("SELECT count(*) FROM orders")[0] for part in parts)
    assert stored == whole.one("SELECT count(*) + count(*) FILTER (buyer_id % 3 <> supplier_id % 3) FROM orders")[0]


def test_a_bucket_is_read_only_from_its_own_files(simulated: Path) -> None:
    write_buckets(simulated, 3)
    part = History.from_parquet(simulated, partition=(1, 3))
    for table in ("orders", "invoices", "payments", "returns", "disputes"):
        [(view,)] = part.connection.execute(
            f"SELECT sql FROM duckdb_views() WHERE view_name = '{table}'").fetchall()
        assert str(bucket_folder(simulated, 3) / table / "bucket=1" / "*.parquet") in view
        assert f"{table}.parquet" not in view and "bucket=0" not in view and "bucket=2" not in view


def test_a_partition_needs_current_buckets(tmp_path: Path) -> None:
    simulate(SimulationConfig(firms=30, years=1, seed=4, start=date(2024, 1, 1)), tmp_path)
    with pytest.raises(HistoryError, match="no firm buckets of 2 written from the current files"):
        History.from_parquet(tmp_path, partition=(0, 2))
    write_buckets(tmp_path, 2)
    History.from_parquet(tmp_path, partition=(0, 2))
    simulate(SimulationConfig(firms=40, years=1, seed=4, start=date(2024, 1, 1)), tmp_path)  # a new history
    with pytest.raises(HistoryError, match="no firm buckets of 2 written from the current files"):
        History.from_parquet(tmp_path, partition=(0, 2))


def test_the_dask_build_needs_a_parquet_folder() -> None:
    source = history(firms=[firm(1), firm(2)], orders=[order(1, 1, 2, "2024-01-01", 100)])
    with pytest.raises(HistoryError, match="the Dask build reads a folder of Parquet files, one per table"):
        build_panel_dask(source, [date(2024, 1, 2)])
