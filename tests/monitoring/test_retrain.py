"""`credit retrain` ends by monitoring the champion on the panel it rebuilt, and stores the run."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cli import app
from credit.models import REGISTERED_MODEL
from credit.monitoring.results import latest_run
from credit.store.engine import make_engine
from tests.pipelines.conftest import marketplace  # noqa: F401  (700 firms 2023-2025, quick model settings)

pytestmark = [
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated:DeprecationWarning:mlflow"),
]


def test_retrain_monitors_the_champion_it_leaves_in_place(marketplace, tmp_path: Path,  # noqa: F811
                                                          monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CREDIT_ARTIFACT_LOCATION", (tmp_path / "mlruns").as_uri())
    url = f"sqlite:///{tmp_path / 'store.db'}"
    try:
        result = CliRunner().invoke(app, [
            "retrain", "--history", str(marketplace["history"]), "--workdir", str(tmp_path / "retrain"),
            "--config", str(marketplace["root"] / "quick.toml"), "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
            "--database-url", url, "--serving", str(tmp_path / "serving")], env={"COLUMNS": "200"})
    finally:
        mlflow.set_tracking_uri(None)
    assert result.exit_code == 0, result.output  # the first challenger passes the quick gate: it is the champion
    assert "PROMOTED: version 1 is the champion" in result.output
    with Session(make_engine(url)) as session:
        run = latest_run(session)
    assert run is not None, result.output
    assert (run.model_name, run.model_version) == (REGISTERED_MODEL, "1")
    # the panel runs 2024-01 to 2026-01 (from the first event, 2023-01-01, plus the 365-day
    # window, to the history's end); its labelled months end 2025-01 (12 months before the end),
    # and the quick windows take the last 3 (test, 2024-11..2025-01), 3 before (calibrate,
    # 2024-08..10), 2 before (valid, 2024-06..07): the model is fitted on train + valid, 2024-01 to 2024-07
    assert run.source == str(tmp_path / "retrain" / "panel")
    assert (run.training_from.isoformat(), run.training_to.isoformat()) == ("2024-01-01", "2024-07-01")
    assert run.as_of.isoformat() == "2026-01-01"
    assert f"Monitoring run {run.run_id}: {REGISTERED_MODEL} version 1" in result.output
