"""Features read from the store (SQLite or PostgreSQL) equal features read from the Parquet files ingested."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from credit.features.asof import monthly
from credit.features.history import History
from credit.features.panel import build_panel
from credit.ingest import find_history_files, ingest_files
from credit.simulate import SimulationConfig, simulate


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    folder = tmp_path_factory.mktemp("simulated")
    simulate(SimulationConfig(firms=120, years=2, seed=5, start=date(2023, 1, 1)), folder)
    return folder


def test_a_panel_from_the_store_equals_the_panel_from_the_files_it_was_loaded_from(simulated, store) -> None:  # noqa: ANN001
    files, _ = find_history_files([simulated])
    assert all(result.error is None and result.quarantined == 0 for result in ingest_files(store, files))
    dates = monthly(date(2023, 6, 1), date(2024, 6, 1))
    from_files = build_panel(History.from_parquet(simulated), dates)
    from_store = build_panel(History.from_store(store), dates)
    assert len(from_files.frame) > 1000
    pd.testing.assert_frame_equal(from_store.frame, from_files.frame, check_exact=True)
    assert from_store.manifest["watermarks"] == from_files.manifest["watermarks"]
