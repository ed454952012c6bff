"""The panel built in memory-saving steps holds what one engine pass, a merge and a sort give.

``firm_stage`` scans the payment and invoice streams before the order streams (so the helper
tables are dropped early), ``assemble`` fills the long panel column by column, and
``write_panel`` writes it a slice of rows at a time. These tests hold each step to the plain
way of doing it: every value equal, the same NaNs, the same column order.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from credit.features.asof import monthly
from credit.features.block import FeatureBlock
from credit.features.catalog import MARKETPLACE_FEATURES
from credit.features.domain import DERIVED
from credit.features.engine import compute_features
from credit.features.history import History
from credit.features.panel import (
    FIRMOGRAPHICS, KEY_COLUMNS, WRITE_ROWS, all_firms, assemble, build_panel, grid_for, read_panel, write_panel,
)
from credit.simulate import SimulationConfig, simulate
from tests.features.histories import firm, history

DATES = monthly(date(2024, 1, 1), date(2024, 9, 1))


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("history")
    simulate(SimulationConfig(firms=200, years=2, seed=3, start=date(2023, 1, 1)), out)
    return out


def test_declarative_columns_equal_one_engine_pass_over_every_stream_in_its_order(simulated: Path) -> None:
    panel = build_panel(History.from_parquet(simulated), DATES)
    helpers = [need for d in DERIVED for need in d.needs]
    helper_columns = {name for f in helpers for name in f.column_names()}
    source = History.from_parquet(simulated)
    firms = all_firms(source)
    one_pass = compute_features(source, grid_for(DATES), [*MARKETPLACE_FEATURES, *helpers], firms)
    expected = [name for name in one_pass.columns if name not in helper_columns]
    built = [c for c in panel.frame.columns if c in one_pass.columns]
    assert built == expected
    rows = np.searchsorted(firms, panel.frame["firm_id"].to_numpy())
    dates = np.searchsorted(np.array(DATES, dtype="datetime64[us]"), panel.frame["as_of"].to_numpy())
    assert len(panel.frame) > 1000
    for name in expected:
        np.testing.assert_array_equal(panel.frame[name].to_numpy(), one_pass.columns[name][rows, dates], err_msg=name)


def _merged_and_sorted(source: History, block: FeatureBlock, eligible: np.ndarray) -> pd.DataFrame:
    """The panel rows as a merge with the firms table and a sort by the keys give them."""
    frame = block.frame(eligible)
    firms = source.connection.execute(
        f"SELECT firm_id, {', '.join(FIRMOGRAPHICS)}, CAST(verified AS DOUBLE) AS verified, "
        f"CAST(deposit_minor AS DOUBLE) AS deposit_minor FROM firms").df()
    for column in FIRMOGRAPHICS:
        firms[column] = firms[column].astype("category")
    frame = frame.merge(firms, on="firm_id", how="left", validate="many_to_one")
    columns = KEY_COLUMNS + FIRMOGRAPHICS + ["verified", "deposit_minor"]
    frame = frame[columns + [c for c in frame.columns if c not in columns]]
    return frame.sort_values(KEY_COLUMNS, kind="stable").reset_index(drop=True)


def test_assemble_gives_the_rows_a_merge_and_a_sort_give_for_unsorted_firms_and_one_not_in_the_firms_table() -> None:
    source = history([{**firm(1), "region": "south", "deposit_minor": 500}, {**firm(2), "verified": False},
                      {**firm(3), "industry": "food", "size_band": "large"}])
    dates = [date(2024, 1, 1), date(2024, 2, 1)]
    firms = np.array([3, 9, 1, 2])  # firm 9 is not in the firms table: null firmographics

    def block() -> FeatureBlock:
        made = FeatureBlock(firms, dates)
        made.add("orders_90d", np.array([[1.0, 2.0], [3.0, np.nan], [5.0, 6.0], [np.nan, 8.0]]))
        made.add("default_12m", np.array([[0.0, 1.0], [np.nan, 0.0], [1.0, np.nan], [0.0, 0.0]]))
        return made

    eligible = np.array([[True, True], [True, False], [False, True], [True, True]])
    assembled = assemble(source, block(), eligible)
    pd.testing.assert_frame_equal(assembled, _merged_and_sorted(source, block(), eligible), check_exact=True)
    assert assembled["firm_id"].tolist() == [1, 2, 2, 3, 3, 9]
    assert assembled["region"].tolist()[:2] == ["south", "north"] and pd.isna(assembled["region"].iloc[5])


def test_a_panel_written_in_slices_reads_back_equal(simulated: Path, tmp_path: Path) -> None:
    panel = build_panel(History.from_parquet(simulated), DATES)
    longer = pd.concat([panel.frame] * (WRITE_ROWS // len(panel.frame) + 1), ignore_index=True)
    assert len(longer) > WRITE_ROWS  # more than one slice
    write_panel(type(panel)(longer, panel.manifest), tmp_path)
    pd.testing.assert_frame_equal(read_panel(tmp_path).frame, longer, check_exact=True)
