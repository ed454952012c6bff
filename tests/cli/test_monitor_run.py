"""`credit monitor` on a store with history, a panel and the serving files of a tiny champion; its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cli import app
from cli.common import console
from cli.output import print_run
from credit.models import REGISTERED_MODEL
from credit.monitoring.results import latest_run
from credit.store.engine import make_engine
from tests.api.marketplace import AS_OF, fresh_store_copy, marketplace  # noqa: F401
from tests.api.monitoring.conftest import TRAINING, market_panel  # noqa: F401
from tests.monitoring.factories import grade_row, make_run, psi_row

pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")
runner = CliRunner()


def _run(*args: object) -> tuple[int, str]:
    result = runner.invoke(app, ["monitor", *map(str, args)], env={"COLUMNS": "200"})
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes is not None else "")


def _window() -> list[str]:
    return ["--training-from", TRAINING[0].isoformat(), "--training-to", TRAINING[1].isoformat()]


def test_monitor_stores_a_run_and_prints_psi_calibration_and_the_list(marketplace, market_panel, tmp_path):  # noqa: F811
    url = fresh_store_copy(marketplace, tmp_path)
    code, output = _run("--panel", market_panel, "--serving", marketplace.serving, "--database-url", url, *_window())
    assert code == 0, output
    with Session(make_engine(url)) as session:
        run = latest_run(session)
    assert run is not None and run.as_of == AS_OF and (run.training_from, run.training_to) == TRAINING
    assert f"Monitoring run {run.run_id}: {REGISTERED_MODEL} version 1, month {AS_OF} ({run.firms:,} firms)" in output
    score = next(row for row in run.psi if row.variable == "score" and row.segment == "all")
    assert "PSI of the score" in output and f"{score.psi:.3f}" in output
    assert f"by grade, vintage {run.calibration_vintage}" in output
    assert f"Early-warning list: {len(run.warnings):,} firms" in output
    assert f"Alarms: {len(run.alarms)}" in output


def _printed(run) -> str:  # noqa: ANN001
    with console.capture() as captured:
        print_run(run)
    return " ".join(captured.get().split())  # as one line, however wide the terminal


def test_a_score_psi_at_watch_prints_no_alarm_and_one_watch() -> None:
    output = _printed(make_run(psi=(psi_row("score", "all", 0.101), psi_row("tenure_days", "all", 2.05)),
                               grades=(grade_row("A"),)))
    assert "0.101 │ watch" in output
    assert "Alarms: 0 (no score PSI at alarm, every grade inside its 99.9% interval)" in output
    assert "On watch: 1 (score PSI at watch" in output


def test_a_score_psi_at_alarm_prints_one_alarm() -> None:
    output = _printed(make_run(psi=(psi_row("score", "all", 0.3),), grades=(grade_row("A"),)))
    assert "0.300 │ alarm" in output
    assert "Alarms: 1 (score PSI at alarm, or a grade outside its 99.9% interval)" in output
    assert "On watch" not in output


@pytest.mark.parametrize(("args", "message"), [
    (["--training-from", "2024-01-01"], "give both --training-from and --training-to, or neither"),
    (["--training-from", "2024-13-01", "--training-to", "2024-12-01"], "--training-from must be a date like"),
    (["--training-from", "2024-06-01", "--training-to", "2024-01-01"], "must not be after --training-to"),
    (["--as-of", "1999-01-01", "--training-from", "2024-01-01", "--training-to", "2024-06-01"],
     "1999-01-01 is not an as-of date of the panel"),
])
def test_bad_input_is_one_line_and_exit_2(marketplace, market_panel, tmp_path, args, message):  # noqa: ANN001, F811
    url = fresh_store_copy(marketplace, tmp_path)
    code, output = _run("--panel", market_panel, "--serving", marketplace.serving, "--database-url", url, *args)
    assert code == 2 and message in output and "Traceback" not in output


def test_missing_panel_serving_files_or_config_are_named(marketplace, market_panel, tmp_path):  # noqa: F811
    url = fresh_store_copy(marketplace, tmp_path)
    code, output = _run("--panel", tmp_path / "nothing", "--serving", marketplace.serving, "--database-url", url,
                        *_window())
    assert code == 2 and "no feature panel at" in output and "credit features build" in output
    code, output = _run("--panel", market_panel, "--serving", tmp_path / "none", "--database-url", url, *_window())
    assert code == 2 and "credit models export-champion" in output
    bad = tmp_path / "bad.toml"
    bad.write_text("[psi]\nwatch = 2\nalarm = 1\n")
    code, output = _run("--panel", market_panel, "--serving", marketplace.serving, "--database-url", url,
                        "--config", bad, *_window())
    assert code == 2 and "[psi] alarm (1) must be above watch (2)" in output


def test_without_a_window_it_is_read_from_mlflow_and_a_missing_run_is_named(marketplace, market_panel,  # noqa: F811
                                                                            tmp_path: Path):
    url = fresh_store_copy(marketplace, tmp_path)
    code, output = _run("--panel", market_panel, "--serving", marketplace.serving, "--database-url", url,
                        "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}")
    import mlflow

    mlflow.set_tracking_uri(None)
    assert code == 2 and "training run 'run1' is not in the MLflow store" in output
    assert "--training-from" in output
