"""The model jobs end to end on a small simulated marketplace, against a temporary MLflow store.

train -> promote (no champion yet) -> a worse challenger is refused -> evaluate both ->
retrain from the history. Small LightGBM settings keep it quick; what is asserted is the
bookkeeping (aliases, logged runs, decisions) and numbers that must agree between jobs.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from mlflow import MlflowClient

from credit.features.history import History
from credit.features.panel import PanelError, read_panel
from credit.models import REGISTERED_MODEL
from credit.models.config import load_model_config
from credit.models.metrics import auc
from credit.models.registry import resolve_alias
from credit.monitoring.psi import csi
from pipelines.retrain import retrain
from pipelines.train_pd import apply_judgement, evaluate_versions, judge_challenger, train_pd, windows_of

pytestmark = [
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated:DeprecationWarning:mlflow"),
]

def test_the_jobs_train_promote_refuse_evaluate_and_retrain(marketplace, store) -> None:  # noqa: ANN001
    quick = load_model_config(marketplace["root"] / "quick.toml")
    panel = read_panel(marketplace["panel"], "default_12m").observed()
    manifest = json.loads((marketplace["panel"] / "manifest.json").read_text())
    # history 2023-01-01 .. 2026-01-01: only as-of dates up to 2025-01-01 have a whole year observed
    assert panel.frame["as_of"].max().date() == date(2025, 1, 1) and manifest["history_end"].startswith("2026-01-01")

    # 1. train: version 1 under the alias challenger, everything logged in one run
    first = train_pd(panel, quick, report_path=store / "train.html", truth=marketplace["truth"])
    assert first.registered.version == "1"
    assert resolve_alias(REGISTERED_MODEL, "challenger").version == "1"
    run = MlflowClient().get_run(first.run_id)
    lightgbm_auc = first.summary.set_index("model").loc["lightgbm", "auc"]
    assert run.data.metrics["lightgbm.auc"] == pytest.approx(lightgbm_auc)
    assert "lightgbm.oracle_auc" in run.data.metrics and "logistic.auc" in run.data.metrics
    assert run.data.params["windows.test_months"] == "3" and run.data.params["lightgbm.num_threads"] == "1"
    assert run.data.params["window.test"].startswith("2024-11-01 to 2025-01-01 (3 as-of dates")
    artifacts = {a.path for a in MlflowClient().list_artifacts(first.run_id)} | {
        a.path for a in MlflowClient().list_artifacts(first.run_id, "evaluation")}
    assert {"evaluation/summary.csv", "evaluation/csi.csv", "reports", "features.json"} <= artifacts
    # each feature's CSI, training window against test window, as the metric function gives it
    split, features = windows_of(panel, quick), panel.feature_columns
    expected_csi = csi(panel.frame.loc[split.train, features], panel.frame.loc[split.test, features], features)
    logged_csi = {key.removeprefix("csi."): value for key, value in run.data.metrics.items() if key.startswith("csi.")}
    assert logged_csi == pytest.approx(expected_csi.to_dict(), abs=1e-12)
    assert "Characteristic stability (CSI) by feature" in (store / "train.html").read_text()
    assert "simulator&#x27;s true PD" in (store / "train.html").read_text() or "true PD" in (store / "train.html").read_text()

    # 2. no champion yet: the gate judges calibration only, and promotes
    judgement = judge_challenger(panel, quick)
    assert judgement.champion is None and judgement.decision.promote
    apply_judgement(judgement)
    assert resolve_alias(REGISTERED_MODEL, "champion").version == "1"

    # 3. a one-stump challenger ranks worse: refused, the champion stays, the refusal is logged
    stump = train_pd(panel, load_model_config(marketplace["root"] / "stump.toml"), report_path=store / "stump.html")
    judgement = judge_challenger(panel, quick, stump.registered.version)
    gain = next(c for c in judgement.decision.checks if c.name == "auc_gain")
    assert judgement.champion.version == "1" and not gain.passed and gain.value < -0.02
    apply_judgement(judgement)
    assert resolve_alias(REGISTERED_MODEL, "champion").version == "1"
    assert MlflowClient().get_run(stump.run_id).data.tags["promotion"] == "refused"
    logged = MlflowClient().list_artifacts(stump.run_id, "promotion")
    assert len(logged) == 1

    # 4. evaluate both registered versions on the same window: the champion's AUC is its training-run AUC
    report = evaluate_versions(panel, quick, {"champion": "1", "stump": stump.registered.version},
                               report_path=store / "evaluate.html")
    evaluated = report.summary.set_index("model")
    assert evaluated.loc["champion", "auc"] == pytest.approx(lightgbm_auc, abs=1e-12)
    assert evaluated.loc["stump", "auc"] < evaluated.loc["champion", "auc"]
    test = panel.frame[panel.frame["as_of"] >= "2024-11-01"]
    assert evaluated.loc["champion", "rows"] == len(test)
    assert auc(test["default_12m"], test["debtor_days_past_due"].fillna(0)) != evaluated.loc["champion", "auc"]

    # 5. retrain rebuilds the panel from the history up to its last month and judges a new challenger
    outcome = retrain(History.from_parquet(marketplace["history"]), quick, store / "retrain",
                      truth=marketplace["truth"])
    # the panel starts when every feature window is complete: the history's start (2023-01-01) + 365 days
    assert outcome.as_of[0] == date(2024, 1, 1) and outcome.as_of[-1] == date(2026, 1, 1)
    assert outcome.training.registered.version == "3"
    assert outcome.judgement.champion.version == "1"
    expected = "3" if outcome.judgement.decision.promote else "1"
    assert resolve_alias(REGISTERED_MODEL, "champion").version == expected
    tag = MlflowClient().get_run(outcome.training.run_id).data.tags["promotion"]
    assert tag == ("promoted" if outcome.judgement.decision.promote else "refused")


def test_a_folder_without_a_panel_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PanelError, match="holds no feature panel: panel.parquet is missing"):
        read_panel(tmp_path, "default_12m")


def test_a_label_the_panel_lacks_is_a_clear_error(marketplace) -> None:  # noqa: ANN001
    with pytest.raises(PanelError, match="has no label column 'default_6m'; its label is 'default_12m'"):
        read_panel(marketplace["panel"], "default_6m")
