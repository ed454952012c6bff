"""`credit features list` and `credit features build`, end to end on a small simulated history."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import app
from credit.features.catalog import MARKETPLACE_FEATURES
from credit.features.domain import DERIVED
from credit.simulate import SimulationConfig, simulate

runner = CliRunner()


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("history")
    simulate(SimulationConfig(firms=150, years=2, seed=11, start=date(2023, 1, 1)), out)
    return out


def test_list_prints_every_definition_with_its_stream_and_meaning() -> None:
    result = runner.invoke(app, ["features", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for feature in MARKETPLACE_FEATURES:
        for column in feature.column_names():
            assert column in result.output
        assert feature.description in result.output
    for derived in DERIVED:
        assert derived.name in result.output
    assert "debtor_days_past_due" in result.output


def test_build_writes_the_panel_and_a_manifest_that_describes_it(simulated: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["features", "build", "--history", str(simulated), "--monthly", "2023-07-01",
                                 "2023-09-01", "--as-of", "2024-06-15", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    panel = pd.read_parquet(tmp_path / "panel.parquet")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["as_of"] == ["2023-07-01", "2023-08-01", "2023-09-01", "2024-06-15"]
    assert sorted(panel["as_of"].dt.date.astype(str).unique()) == manifest["as_of"]
    assert manifest["rows"] == len(panel) == sum(v["rows"] for v in manifest["rows_by_as_of"].values())
    assert set(manifest["feature_columns"]) == set(panel.columns) - {"firm_id", "as_of", "default_12m"}
    assert manifest["null_rates"]["buyer_order_mean_90d"] == pytest.approx(panel["buyer_order_mean_90d"].isna().mean(), abs=1e-6)
    assert manifest["watermarks"]["orders"]["rows"] == len(pd.read_parquet(simulated / "orders.parquet"))
    assert len(manifest["definitions_version"]) == 16
    # the horizons of 2023 end inside the two years of history, so every row has a label; the
    # one from 2024-06-15 runs past the end, so only the defaults already seen are labelled
    by_date = manifest["rows_by_as_of"]
    assert by_date["2023-07-01"]["labelled"] == by_date["2023-07-01"]["rows"]
    assert by_date["2024-06-15"]["labelled"] == by_date["2024-06-15"]["defaults"] < by_date["2024-06-15"]["rows"]
    assert not panel.duplicated(["firm_id", "as_of"]).any()
    # the history starts 2023-01-01: the 365-day windows of the three 2023 dates reach before it
    assert (f"Warning: as-of 2023-07-01: its 365-day feature window starts 2022-07-01, before the history's first "
            f"event (2023-01-01, {simulated}); 3 as-of date(s) up to 2023-09-01 get features over part of their "
            "windows only. The first as-of date with every window complete is 2024-01-01") in result.output


@pytest.mark.parametrize(("arguments", "message"), [
    (["--as-of", "2031-01-01"], "as-of 2031-01-01 is after the end of the history"),
    (["--as-of", "31/01/2024"], "--as-of must be a date like 2023-01-01; got '31/01/2024'"),
    (["--monthly", "2024-05-01", "2024-01-01"], "monthly range ends (2024-01-01) before it starts (2024-05-01)"),
    ([], "give at least one --as-of date or a --monthly FROM TO range"),
    (["--as-of", "2024-01-01", "--horizon-months", "0"], "--horizon-months must be a positive number of months"),
])
def test_build_refuses_bad_requests_with_one_line_and_exit_code_2(simulated: Path, tmp_path: Path,
                                                                  arguments: list[str], message: str) -> None:
    result = runner.invoke(app, ["features", "build", "--history", str(simulated), "--out", str(tmp_path), *arguments])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "panel.parquet").exists()


def test_build_names_a_missing_history_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["features", "build", "--history", str(tmp_path), "--as-of", "2024-01-01"])
    assert result.exit_code == 2
    assert f"{tmp_path / 'firms.parquet'}: missing" in " ".join(result.output.split())
