"""The panel folder: what write_panel stores, read_panel reads back, and the rows whose outcome is known."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pytest

from credit.features import panel as panel_module
from credit.features.panel import Panel, PanelError, read_panel, read_panel_dask, write_panel


def small_panel() -> Panel:
    """Two firms at three as-of dates, a 12-month label, a history ending 2025-01-01."""
    frame = pd.DataFrame({
        "firm_id": [1, 2, 1, 2, 1, 2],
        "as_of": pd.to_datetime(["2023-12-01", "2023-12-01", "2024-01-01", "2024-01-01", "2024-02-01", "2024-02-01"]),
        "gmv_90d": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
        "default_12m": [0.0, 1.0, np.nan, 0.0, 1.0, np.nan],
    })
    manifest = {"label_column": "default_12m", "horizon_months": 12, "history_end": "2025-01-01T00:00:00",
                "key_columns": ["firm_id", "as_of"], "feature_columns": ["gmv_90d"]}
    return Panel(frame, manifest)


def test_a_written_panel_reads_back_with_its_manifest_and_folder(tmp_path: Path) -> None:
    written = small_panel()
    write_panel(written, tmp_path)
    read = read_panel(tmp_path)
    pd.testing.assert_frame_equal(read.frame, written.frame)
    assert read.manifest == written.manifest and read.folder == tmp_path
    assert read.label == "default_12m" and read.horizon_months == 12 and read.feature_columns == ["gmv_90d"]
    assert read.history_end == datetime(2025, 1, 1)


def test_observed_keeps_the_labelled_rows_whose_whole_horizon_lies_in_the_history(tmp_path: Path) -> None:
    # history ends 2025-01-01; 12 months after 2023-12-01 is 2024-12-01 and after 2024-01-01 is
    # 2025-01-01 (the last day counts): both observed; after 2024-02-01 is 2025-02-01, not yet.
    # Of the four rows of the first two dates, firm 1 at 2024-01-01 has no label: three rows stay.
    write_panel(small_panel(), tmp_path)
    observed = read_panel(tmp_path).observed()
    assert observed.frame[["firm_id", "as_of"]].astype(str).values.tolist() == [
        ["1", "2023-12-01"], ["2", "2023-12-01"], ["2", "2024-01-01"]]
    assert observed.frame["default_12m"].tolist() == [0.0, 1.0, 0.0]
    assert observed.frame.index.tolist() == [0, 1, 2] and observed.folder == tmp_path


def test_a_panel_with_no_outcome_observed_yet_is_a_clear_error(tmp_path: Path) -> None:
    young = small_panel()
    write_panel(Panel(young.frame, young.manifest | {"history_end": "2024-06-30T00:00:00"}), tmp_path)
    with pytest.raises(PanelError, match=f"no as-of date of the panel in {tmp_path} has its 12-month outcome "
                                         "observed: the history ends 2024-06-30"):
        read_panel(tmp_path).observed()


def test_a_folder_without_a_manifest_is_a_clear_error(tmp_path: Path) -> None:
    write_panel(small_panel(), tmp_path)
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(PanelError, match="holds no feature panel: manifest.json is missing"):
        read_panel(tmp_path)


def test_a_manifest_without_the_horizon_is_a_clear_error(tmp_path: Path) -> None:
    panel = small_panel()
    write_panel(Panel(panel.frame, {k: v for k, v in panel.manifest.items() if k != "horizon_months"}), tmp_path)
    with pytest.raises(PanelError, match=r"manifest.json is not a panel manifest: KeyError 'horizon_months'"):
        read_panel(tmp_path)


def test_a_panel_missing_a_key_column_is_a_clear_error(tmp_path: Path) -> None:
    panel = small_panel()
    write_panel(Panel(panel.frame.drop(columns="firm_id"), panel.manifest), tmp_path)
    with pytest.raises(PanelError, match=r"panel.parquet lacks the column\(s\) \['firm_id'\] its manifest promises"):
        read_panel(tmp_path)


def test_asking_for_another_label_is_a_clear_error(tmp_path: Path) -> None:
    write_panel(small_panel(), tmp_path)
    with pytest.raises(PanelError, match="has no label column 'default_6m'; its label is 'default_12m'"):
        read_panel(tmp_path, "default_6m")


def _with_regions(panel: Panel) -> Panel:
    # one region per pair of rows: with two rows per row group, each group holds one label only
    region = pd.Categorical(["north", "north", "south", "south", "west", "west"], categories=["north", "south", "west"])
    return Panel(panel.frame.assign(region=region), panel.manifest)


def _computed(rows) -> pd.DataFrame:  # noqa: ANN001
    with dask.config.set(scheduler="synchronous"):
        return rows.compute().reset_index(drop=True)


@pytest.mark.parametrize("partitions", [None, 4, 6])
def test_a_panel_read_by_row_ranges_on_dask_is_the_panel_read_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  partitions: int | None) -> None:
    monkeypatch.setattr(panel_module, "WRITE_ROWS", 2)  # three row groups of two rows
    write_panel(_with_regions(small_panel()), tmp_path)
    whole = read_panel(tmp_path)
    manifest, rows = read_panel_dask(tmp_path, partitions=partitions)
    # by default one partition per row group; 4 partitions cut the groups at rows 1 | 3 | 4 (not their bounds)
    assert rows.npartitions == (partitions or 3) and manifest.manifest == whole.manifest and manifest.frame.empty
    # every row, value and dtype, the region's categories those of the whole file, not of a row group's labels
    pd.testing.assert_frame_equal(_computed(rows), whole.frame, check_exact=True)
    assert rows._meta["region"].cat.categories.tolist() == ["north", "south", "west"]
    _, observed = read_panel_dask(tmp_path, columns=["region"], observed=True, partitions=partitions)
    # the three observed rows of the test above, only the columns asked for beside the keys and label
    assert _computed(observed)[["firm_id", "region", "default_12m"]].astype(str).values.tolist() == [
        ["1", "north", "0.0"], ["2", "north", "1.0"], ["2", "south", "0.0"]]
    assert list(observed.columns) == ["firm_id", "as_of", "default_12m", "region"]


def test_a_column_the_panel_lacks_is_a_clear_error_on_dask_too(tmp_path: Path) -> None:
    write_panel(small_panel(), tmp_path)
    with pytest.raises(PanelError, match=r"panel.parquet lacks the column\(s\) \['gmv_30d'\]"):
        read_panel_dask(tmp_path, columns=["gmv_90d", "gmv_30d"])
    with pytest.raises(PanelError, match="has no label column 'default_6m'"):
        read_panel_dask(tmp_path, "default_6m")
