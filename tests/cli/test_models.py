"""``credit train / evaluate / promote / retrain``: the options the pipeline tests leave out.

The MLflow store is filled once for the package (tests/cli/conftest.py: ``registry``):
credit_pd v1 trained with ``--tune``; ``retrain --truth`` with one-split stump settings made
v2, the challenger and, with no champion yet, the champion; ``promote --version 1`` made v1
the champion; applicants_pd v1 was trained on a table with ``--time-col``.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from credit.models import REGISTERED_MODEL
from tests.cli.conftest import Registry, applicants_table, mlflow_left_as_found
from tests.cli.invoke import assert_refused, credit

pytestmark = [
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated:DeprecationWarning:mlflow"),
]


def _run_params(registry: Registry, name: str, version: str) -> dict[str, str]:
    return registry.client.get_run(registry.client.get_model_version(name, version).run_id).data.params


def test_train_tune_searches_the_parameters_first_and_logs_them(registry: Registry) -> None:
    outcome = registry.tuned_training
    assert outcome.exit_code == 0, outcome.output
    assert "Tuned LightGBM parameters: {" in outcome.text
    tuned, plain = _run_params(registry, REGISTERED_MODEL, "1"), _run_params(registry, REGISTERED_MODEL, "2")
    assert tuned["tuned"] == "True" and plain["tuned"] == "False"
    assert any(key.startswith("tuned.") for key in tuned)
    assert not any(key.startswith("tuned.") for key in plain)


def test_train_time_col_validates_the_table_out_of_time(registry: Registry) -> None:
    outcome = registry.table_training
    assert outcome.exit_code == 0, outcome.output
    # the latest fifth of the applications, by date, is the test window; the earliest rows train
    windows = re.search(r"Validation: train: (\S+) to (\S+): .* test: (\S+) to (\S+): ", outcome.text)
    assert windows, outcome.output
    train_from, train_to, test_from, test_to = (date.fromisoformat(day) for day in windows.groups())
    applied_on = applicants_table()["applied_on"].dt.date
    assert (train_from, test_to) == (applied_on.min(), applied_on.max())
    assert train_to < test_from
    assert "Test window:" in outcome.text and "Out-of-fold PDs" not in outcome.text
    champion = re.search(r"Champion: (\w+): (?:no single model|it) beat the blend beyond noise on the inner folds of the training rows \(", outcome.text)
    assert champion, outcome.output
    assert f"Registered applicants_pd version 1 ({champion[1]}) as challenger" in outcome.text
    params = _run_params(registry, "applicants_pd", "1")
    assert params["time_column"] == "applied_on" and params["validation"] == "out-of-time"
    run_id = registry.client.get_model_version("applicants_pd", "1").run_id
    assert f"run {run_id}" in outcome.text
    assert registry.client.get_run(run_id).data.tags["champion"] == champion[1]


def test_train_table_logs_every_rows_pds_and_registers_a_champion_that_loads(registry: Registry,
                                                                              tmp_path: Path) -> None:
    run_id = registry.client.get_model_version("applicants_pd", "1").run_id
    path = registry.client.download_artifacts(run_id, "evaluation/out_of_fold.csv", str(tmp_path))
    out_of_fold = pd.read_csv(path)
    table = applicants_table()
    assert out_of_fold.columns.tolist() == ["row", "fold", "target", "champion", "logistic", "lightgbm", "blend"]
    assert out_of_fold["row"].tolist() == list(range(len(table)))
    assert out_of_fold["target"].tolist() == table["bad"].tolist()
    assert set(out_of_fold["fold"]) == {"train", "test"}
    uri = registry.tracking[1]
    with mlflow_left_as_found():
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        model = mlflow.pyfunc.load_model("models:/applicants_pd/1")
    pds = np.asarray(model.predict(table[["risk", "noise", "sector"]].astype({"sector": "category"})))
    assert ((pds > 0) & (pds < 1)).all()
    test = out_of_fold["fold"] == "test"
    np.testing.assert_allclose(pds[test.to_numpy()], out_of_fold.loc[test, "champion"], rtol=0, atol=1e-12)


def test_promote_version_judges_that_version_not_the_challenger(registry: Registry) -> None:
    outcome = registry.promotion
    assert outcome.exit_code == 0, outcome.output
    # the alias challenger is on v2, the stump champion: --version 1 puts v1 up against it
    assert "challenger version 1 against champion version 2" in outcome.text
    assert "PROMOTED: version 1 is the champion" in outcome.text
    assert str(registry.client.get_model_version_by_alias(REGISTERED_MODEL, "champion").version) == "1"


def test_evaluate_scores_the_versions_asked_for_beside_the_oracle_of_truth(registry: Registry,
                                                                          marketplace: dict[str, Path],
                                                                          tmp_path: Path) -> None:
    outcome = credit("evaluate", "--panel", marketplace["panel"], "--config", marketplace["root"] / "quick.toml",
                     "--version", 2, "--version", "champion", "--truth", marketplace["truth"],
                     "--report", tmp_path / "evaluate.html", *registry.tracking)
    assert outcome.exit_code == 0, outcome.output
    models = [line.split("│")[1].strip() for line in outcome.output.splitlines() if line.startswith("│")]
    assert models == ["v2", "champion (v1)"]
    assert "Oracle (the simulator's true PD) on the same rows: AUC" in outcome.text
    assert "gap to oracle" in outcome.text


def test_retrain_truth_reports_the_oracle_beside_the_challenger(registry: Registry) -> None:
    outcome = registry.retraining
    assert outcome.exit_code == 0, outcome.output
    assert "Challenger: version 2" in outcome.text
    assert "Oracle (the simulator's true PD) on the same rows: AUC" in outcome.text
    assert "gap to oracle" in outcome.text
    assert "against no champion yet" in outcome.text and "PROMOTED: version 2 is the champion" in outcome.text


@pytest.mark.parametrize(("command", "arguments", "phrases"), [
    ("evaluate", ["--version", "99"], [f"registered model '{REGISTERED_MODEL}' has no version '99'"]),
    ("evaluate", ["--version", "nightly"], [f"registered model '{REGISTERED_MODEL}' has no alias 'nightly'"]),
    ("promote", ["--version", "99"], [f"registered model '{REGISTERED_MODEL}' has no version '99'"]),
])
def test_model_commands_refuse_a_version_that_does_not_exist(command: str, arguments: list[str], phrases: list[str],
                                                             registry: Registry, marketplace: dict[str, Path],
                                                             tmp_path: Path) -> None:
    report = ["--report", tmp_path / "r.html"] if command == "evaluate" else []
    outcome = credit(command, "--panel", marketplace["panel"], "--config", marketplace["root"] / "quick.toml",
                     *arguments, *report, *registry.tracking)
    assert_refused(outcome, *phrases)


def test_evaluate_refuses_a_truth_folder_that_does_not_exist_naming_the_option(registry: Registry,
                                                                              marketplace: dict[str, Path],
                                                                              tmp_path: Path) -> None:
    outcome = credit("evaluate", "--panel", marketplace["panel"], "--config", marketplace["root"] / "quick.toml",
                     "--version", "1", "--truth", tmp_path / "no-truth", "--report", tmp_path / "r.html",
                     *registry.tracking)
    assert_refused(outcome, "--truth", f"{tmp_path / 'no-truth'}")


@pytest.mark.parametrize(("arguments", "phrases"), [
    (["--time-col", "applied_at"], ["no time column 'applied_at'; the columns are applicant, risk"]),
    (["--tune"], ["--tune searches on a panel's validation window"]),
])
def test_train_on_a_table_refuses_a_missing_time_column_and_tuning(arguments: list[str], phrases: list[str],
                                                                   registry: Registry) -> None:
    outcome = credit("train", "--table", registry.root / "applicants.csv", "--target", "bad", *arguments,
                     *registry.tracking)
    assert_refused(outcome, *phrases)
