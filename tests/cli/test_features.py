"""``credit features build``: the options the build-command tests leave out (workers, store, horizon)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tests.cli.invoke import assert_refused, credit

MONTHS = ("--monthly", "2024-04-01", "2024-07-01")


def _build(*arguments: str | Path, out: Path) -> tuple[pd.DataFrame, dict]:
    outcome = credit("features", "build", *arguments, "--out", out)
    assert outcome.exit_code == 0, outcome.output
    return pd.read_parquet(out / "panel.parquet"), json.loads((out / "manifest.json").read_text())


def test_workers_build_the_same_panel_on_a_dask_cluster(history: Path, tmp_path: Path) -> None:
    here, here_manifest = _build("--history", history, *MONTHS, out=tmp_path / "here")
    on_dask, dask_manifest = _build("--history", history, *MONTHS, "--workers", 1, out=tmp_path / "dask")
    assert dask_manifest["engine"] == "dask (2 firm partitions)" != here_manifest["engine"]
    pd.testing.assert_frame_equal(on_dask, here, check_exact=True)


def test_database_url_builds_from_the_store_the_panel_its_files_give(history: Path, ingested_store: str,
                                                                    tmp_path: Path) -> None:
    # the store was loaded from the CSV copy of the same marketplace; its broken late payments stayed in quarantine
    from_files, _ = _build("--history", history, *MONTHS, out=tmp_path / "files")
    from_store, manifest = _build("--database-url", ingested_store, *MONTHS, out=tmp_path / "store")
    assert ingested_store in manifest["history"]
    pd.testing.assert_frame_equal(from_store, from_files, check_exact=True)


def test_horizon_months_names_the_label_and_sets_how_far_ahead_it_looks(history: Path, tmp_path: Path) -> None:
    # the history ends 2025-01-01: from 2024-07-01 a 3-month outcome is known for every firm, a 12-month one is not
    three, three_manifest = _build("--history", history, "--as-of", "2024-07-01", "--horizon-months", 3,
                                   out=tmp_path / "three")
    twelve, twelve_manifest = _build("--history", history, "--as-of", "2024-07-01", out=tmp_path / "twelve")
    assert "default_3m" in three.columns and "default_12m" not in three.columns
    assert three["default_3m"].notna().all()
    assert twelve["default_12m"].isna().any()
    assert three_manifest["rows_by_as_of"]["2024-07-01"]["labelled"] == len(three)
    assert twelve_manifest["rows_by_as_of"]["2024-07-01"]["labelled"] < len(twelve)


def test_negative_workers_are_refused(history: Path, tmp_path: Path) -> None:
    outcome = credit("features", "build", "--history", history, *MONTHS, "--workers", -1, "--out", tmp_path)
    assert_refused(outcome, "Invalid value for '--workers'", "greater than or equal to 0")
    assert not (tmp_path / "panel.parquet").exists()


def test_workers_without_history_files_say_to_give_them(ingested_store: str, tmp_path: Path) -> None:
    outcome = credit("features", "build", "--database-url", ingested_store, *MONTHS, "--workers", 1, "--out", tmp_path)
    assert_refused(outcome, "the Dask build reads a folder of Parquet files", "--history DIR")
