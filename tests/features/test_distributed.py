"""The Dask build, partitioned by firm over a 2-worker local cluster, equals the local build exactly."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from credit.features.asof import monthly
from credit.features.distributed import build_panel_dask
from credit.features.history import History, HistoryError
from credit.features.panel import build_panel
from credit.simulate import SimulationConfig, simulate
from tests.features.histories import firm, history, order


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("history")
    simulate(SimulationConfig(firms=200, years=2, seed=3, start=date(2023, 1, 1)), out)
    return out


def test_dask_and_single_process_panels_are_identical(simulated: Path) -> None:
    dates = monthly(date(2023, 9, 1), date(2024, 6, 1))
    local = build_panel(History.from_parquet(simulated), dates)
    distributed = build_panel_dask(History.from_parquet(simulated), dates, workers=2, partitions=3)
    assert len(local.frame) > 1000 and local.frame["default_12m"].sum() > 0
    pd.testing.assert_frame_equal(distributed.frame, local.frame, check_exact=True)
    assert distributed.manifest["engine"] == "dask (3 firm partitions)"
    assert distributed.manifest["null_rates"] == local.manifest["null_rates"]


def test_a_partition_holds_every_event_its_firms_take_part_in(simulated: Path) -> None:
    whole = History.from_parquet(simulated)
    parts = [History.from_parquet(simulated, partition=(p, 3)) for p in range(3)]
    for table, keys in (("orders", ("buyer_id", "supplier_id")), ("invoices", ("buyer_id", "supplier_id"))):
        total = whole.one(f"SELECT count(*) FROM {table}")[0]
        for p, part in enumerate(parts):
            mine = " OR ".join(f"{k} % 3 = {p}" for k in keys)
            assert part.one(f"SELECT count(*) FROM {table}")[0] == whole.one(f"SELECT count(*) FROM {table} WHERE {mine}")[0]
        assert sum(part.one(f"SELECT count(*) FROM {table}")[0] for part in parts) >= total
    for p, part in enumerate(parts):
        assert part.one("SELECT count(*) FROM payments")[0] == whole.one(
            f"SELECT count(*) FROM payments WHERE invoice_id IN "
            f"(SELECT invoice_id FROM invoices WHERE buyer_id % 3 = {p} OR supplier_id % 3 = {p})")[0]


def test_the_dask_build_needs_a_parquet_folder() -> None:
    source = history(firms=[firm(1), firm(2)], orders=[order(1, 1, 2, "2024-01-01", 100)])
    with pytest.raises(HistoryError, match="the Dask build reads a folder of Parquet files, one per table"):
        build_panel_dask(source, [date(2024, 1, 2)])
