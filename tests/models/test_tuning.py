"""The PD hyper-parameter search: best trial, every trial in MLflow, search-space checks, determinism."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import optuna
import pandas as pd
import pytest
from mlflow import MlflowClient

from credit.models.metrics import auc
from credit.models.pd_model import LightGBMPD
from credit.models.registry import tracking
from credit.models.tuning import DEFAULT_SEARCH_SPACE, TuningResult, tune_lightgbm
from credit.settings import Settings

pytestmark = [
    # MLflow's own code, not ours: its SQLAlchemy mappers and its pandas column check
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated:DeprecationWarning:mlflow"),
]

DPD = "debtor_days_past_due"
FAST = {"num_boost_round": 200, "early_stopping_rounds": 20}
"""Short trials: the tests check the search, not the model."""
ONE_THREAD = {"num_threads": 1}
"""LightGBM's threads crawl on a machine busy with other test runs; one thread does not."""


def borrowers(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows whose default odds rise with days past due and x1, with an x1-x2 interaction trees can find."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({DPD: rng.integers(0, 91, n).astype(float), "x1": rng.normal(size=n),
                          "x2": rng.normal(size=n)})
    logit = -2.5 + 0.03 * frame[DPD] + 0.8 * frame["x1"] + 0.5 * frame["x1"] * frame["x2"]
    return frame, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


TRAIN = borrowers(2000, seed=1)
VALID = borrowers(800, seed=2)


def tune(*, base_params: dict | None = None, **arguments: object) -> TuningResult:
    return tune_lightgbm(*TRAIN, *VALID, base_params={**ONE_THREAD, **(base_params or {})},
                         **{"n_trials": 5, "log_to_mlflow": False, **FAST, **arguments})


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One SQLite tracking store for the module (creating one takes seconds); MLflow's globals restored after."""
    folder = tmp_path_factory.mktemp("tracking")
    with pytest.MonkeyPatch.context() as monkeypatch:
        for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
            monkeypatch.delenv(variable, raising=False)
        tracking(Settings(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}", artifact_location=(folder / "mlruns").as_uri()))
        yield folder
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


@pytest.fixture
def tracked(store: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh experiment in the module's store, made the current one; yields its id."""
    experiment_id = mlflow.create_experiment(request.node.name, artifact_location=(store / "mlruns").as_uri())
    mlflow.set_experiment(experiment_id=experiment_id)
    yield experiment_id
    while mlflow.active_run() is not None:
        mlflow.end_run()


def runs(experiment_id: str) -> list[mlflow.entities.Run]:
    return MlflowClient().search_runs([experiment_id], max_results=1000)


def test_the_best_trial_has_the_highest_validation_auc_and_its_params_reproduce_it() -> None:
    result = tune(n_trials=6)

    assert result.n_trials == len(result.trials) == 6
    assert result.best_value == result.trials["value"].max()
    assert result.best_trial == result.trials.loc[result.trials["value"].idxmax(), "number"]
    assert result.best_value > 0.7  # the known signal is found
    refitted = LightGBMPD(params=result.best_params, calibration=None, random_state=0, **FAST).fit(
        *TRAIN, X_valid=VALID[0], y_valid=VALID[1])
    assert refitted.best_iteration_ == result.best_iteration
    assert auc(VALID[1], refitted.predict_raw(VALID[0])) == pytest.approx(result.best_value, abs=1e-12)


def test_best_params_hold_every_searched_parameter_and_the_fixed_ones() -> None:
    result = tune(base_params={"lambda_l1": 0.5})

    assert set(result.best_params) == set(DEFAULT_SEARCH_SPACE) | {"lambda_l1", "num_threads"}
    assert result.best_params["lambda_l1"] == 0.5
    assert isinstance(result.best_params["num_leaves"], int)
    assert 4 <= result.best_params["num_leaves"] <= 63
    assert 0.01 <= result.best_params["learning_rate"] <= 0.1


def test_the_same_seed_gives_the_same_trials_and_best_params() -> None:
    first, second = tune(random_state=3), tune(random_state=3)
    other = tune(random_state=4)

    assert first.best_params == second.best_params
    assert first.trials["value"].tolist() == second.trials["value"].tolist()
    # the seed is what makes them equal: another seed samples other parameters
    assert first.trials["params_learning_rate"].tolist() != other.trials["params_learning_rate"].tolist()


def test_a_search_space_override_restricts_the_sampled_values() -> None:
    result = tune(search_space={"num_leaves": {"choices": [7]}, "learning_rate": {"low": 0.05, "high": 0.06},
                                "lambda_l2": None},
                  base_params={"lambda_l2": 3.0})

    assert result.trials["params_num_leaves"].tolist() == [7] * 5
    assert result.trials["params_learning_rate"].between(0.05, 0.06).all()
    assert "params_lambda_l2" not in result.trials  # dropped from the search, fixed by base_params
    assert result.best_params["num_leaves"] == 7
    assert result.best_params["lambda_l2"] == 3.0


def test_an_integer_range_from_a_config_samples_integers_and_a_float_range_floats() -> None:
    result = tune(search_space={"min_child_samples": {"low": 30, "high": 40}, "lambda_l2": {"low": 1, "high": 2.0}})

    assert all(isinstance(value, int) and 30 <= value <= 40 for value in result.trials["params_min_child_samples"])
    assert not result.trials["params_lambda_l2"].map(float.is_integer).all()


def test_every_trial_is_a_child_of_a_tuning_run_with_its_params_and_scores(tracked: str) -> None:
    result = tune(n_trials=4, log_to_mlflow=True)

    assert mlflow.active_run() is None  # the tuning run it made is closed
    by_name = {run.info.run_name: run for run in runs(tracked)}
    assert sorted(by_name) == ["trial-0", "trial-1", "trial-2", "trial-3", "tuning"]
    parent = by_name["tuning"]
    assert (parent.info.run_id, parent.info.status) == (result.mlflow_run_id, "FINISHED")
    for trial in result.trials.itertuples():
        child = by_name[f"trial-{trial.number}"]
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.info.run_id == trial.user_attrs_mlflow_run_id
        assert child.data.params == {name: str(getattr(trial, f"params_{name}")) for name in DEFAULT_SEARCH_SPACE}
        assert child.data.metrics == pytest.approx({"valid_auc": trial.value,
                                                    "valid_log_loss": trial.user_attrs_valid_log_loss,
                                                    "best_iteration": trial.user_attrs_best_iteration})

    assert parent.data.params == {"n_trials": "4", **{f"best_{name}": str(value)
                                                      for name, value in result.best_params.items()}}
    assert parent.data.metrics["best_valid_auc"] == pytest.approx(result.best_value)
    assert parent.data.metrics["best_iteration"] == result.best_iteration
    assert mlflow.artifacts.load_dict(f"runs:/{parent.info.run_id}/tuning/best_params.json") == result.best_params
    trials_csv = mlflow.artifacts.load_text(f"runs:/{parent.info.run_id}/tuning/trials.csv")
    assert len(trials_csv.strip().splitlines()) == 1 + 4


def test_inside_an_active_run_the_trials_nest_under_it(tracked: str) -> None:
    with mlflow.start_run(run_name="training") as training:
        result = tune(n_trials=3, log_to_mlflow=True)
        assert mlflow.active_run().info.run_id == training.info.run_id  # still the caller's run

    assert result.mlflow_run_id == training.info.run_id
    children = [run for run in runs(tracked) if run.info.run_id != training.info.run_id]
    assert len(children) == 3
    assert {run.data.tags["mlflow.parentRunId"] for run in children} == {training.info.run_id}
    assert MlflowClient().get_run(training.info.run_id).data.metrics["best_valid_auc"] == pytest.approx(
        result.best_value)


def test_without_log_to_mlflow_nothing_is_logged(tracked: str) -> None:
    result = tune(n_trials=2, log_to_mlflow=False)

    assert result.mlflow_run_id is None
    assert runs(tracked) == []
    assert "user_attrs_mlflow_run_id" not in result.trials


def test_a_trial_that_fails_stops_the_search_and_is_marked_failed_in_mlflow(tracked: str) -> None:
    with pytest.raises(lgb.basic.LightGBMError, match="not_an_objective"):
        tune(n_trials=3, log_to_mlflow=True, base_params={"objective": "not_an_objective"})

    statuses = {run.info.run_name: run.info.status for run in runs(tracked)}
    assert statuses == {"tuning": "FAILED", "trial-0": "FAILED"}


def test_optuna_logs_no_trial_lines_and_its_verbosity_is_restored() -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    optuna.logging.set_verbosity(optuna.logging.INFO)
    logging.getLogger("optuna").addHandler(handler)
    try:
        tune(n_trials=2)
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        logging.getLogger("optuna").removeHandler(handler)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    assert [record.getMessage() for record in records if "Trial" in record.getMessage()] == []


@pytest.mark.parametrize(("search_space", "message"), [
    ({"num_leaves": {"low": 63, "high": 4}}, r"`search_space\['num_leaves'\]` needs low < high; got 63 and 4\."),
    ({"learning_rate": {"low": 0.0, "high": 0.1, "log": True}},
     r"`search_space\['learning_rate'\]` is on a log scale and needs low > 0; got 0\.0\."),
    ({"num_leaves": {"low": 4.0, "high": 63.0}},
     r"`search_space\['num_leaves'\]` is an integer parameter and needs integer bounds; got 4\.0 and 63\.0\."),
    ({"num_leaves": {"low": 4, "hi": 63}},
     r"`search_space\['num_leaves'\]` must have 'low' and 'high' \(and optionally 'log'\), or 'choices'; "
     r"got keys \['hi', 'low'\]\."),
    ({"num_leaves": {"low": 4, "high": "63"}}, r"needs finite numbers for 'low' and 'high'; got 4 and '63'\."),
    ({"lambda_l2": {"low": 1, "high": 2, "log": "yes"}}, r"`search_space\['lambda_l2'\]\['log'\]` must be true or false"),
    ({"num_leaves": {"choices": []}}, r"`search_space\['num_leaves'\]\['choices'\]` must be a non-empty list; got \[\]\."),
    ({"num_leaves": {"choices": [7], "low": 4}}, r"with 'choices' takes no other keys; got keys \['choices', 'low'\]\."),
    ({"num_leaves": {"choices": [[7]]}}, r"must hold numbers, strings, booleans or null; got \[7\]\."),
    ({"num_leaves": 31}, r"`search_space\['num_leaves'\]` must be a mapping"),
    ({"seed": {"low": 1, "high": 9}}, r"`search_space\['seed'\]` cannot be tuned: LightGBMPD sets 'seed' itself\."),
    ({name: None for name in DEFAULT_SEARCH_SPACE}, r"`search_space` leaves nothing to tune"),
    ([("num_leaves", {"low": 4, "high": 63})], r"`search_space` must be a mapping of parameter name to range; got list\."),
])
def test_an_invalid_search_space_is_refused_with_a_message_naming_the_entry(search_space: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tune(search_space=search_space)


def test_the_configured_params_are_trial_0_so_the_search_never_does_worse_than_them() -> None:
    configured = {"learning_rate": 0.03, "num_leaves": 15, "min_child_samples": 50, "feature_fraction": 0.7,
                  "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 5.0}  # as in model.toml
    result = tune(base_params=configured)

    first = result.trials.iloc[0]
    assert {name: first[f"params_{name}"] for name in DEFAULT_SEARCH_SPACE} == {
        name: configured[name] for name in DEFAULT_SEARCH_SPACE}
    as_configured = LightGBMPD(params={**configured, **ONE_THREAD}, calibration=None, random_state=0, **FAST).fit(
        *TRAIN, X_valid=VALID[0], y_valid=VALID[1])
    assert first["value"] == pytest.approx(auc(VALID[1], as_configured.predict_raw(VALID[0])), abs=1e-12)
    assert result.best_value >= first["value"]
    assert result.best_params["bagging_freq"] == 1  # not searched: kept from the configuration
    assert result.trials["params_num_leaves"].nunique() > 1  # the later trials do search


def test_a_configured_value_outside_the_search_space_is_not_tried() -> None:
    result = tune(base_params={"num_leaves": 200, "learning_rate": 0.03})

    assert result.trials["params_learning_rate"].iloc[0] == 0.03
    assert result.trials["params_num_leaves"].between(4, 63).all()
    assert result.best_params["num_leaves"] != 200  # the search's value replaces the configured one


@pytest.mark.parametrize(("arguments", "message"), [
    ({"n_trials": 0}, r"`n_trials` must be an integer >= 1; got 0\."),
    ({"n_trials": 2.5}, r"`n_trials` must be an integer >= 1; got 2\.5\."),
    ({"n_trials": True}, r"`n_trials` must be an integer >= 1; got True\."),
    ({"timeout_seconds": 0}, r"`timeout_seconds` must be a positive number of seconds or None; got 0\."),
    ({"timeout_seconds": float("inf")}, r"`timeout_seconds` must be a positive number of seconds or None; got inf\."),
    ({"early_stopping_rounds": 0}, r"`early_stopping_rounds` must be an integer >= 1; got 0\."),
    ({"random_state": -1}, r"`random_state` must be an integer >= 0; got -1\."),
])
def test_invalid_search_arguments_are_refused(arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tune(**arguments)


def test_windows_that_do_not_fit_together_are_refused() -> None:
    X, y = TRAIN
    Xv, yv = VALID
    with pytest.raises(ValueError, match=r"`X_train` must be a pandas DataFrame; got ndarray\."):
        tune_lightgbm(X.to_numpy(), y, Xv, yv)
    with pytest.raises(ValueError, match=r"`y_train` must hold one label per row of `X_train`; got shape \(1999,\) "
                                         r"for 2000 rows\."):
        tune_lightgbm(X, y[:-1], Xv, yv)
    with pytest.raises(ValueError, match=r"`X_valid` must have the columns of `X_train` in the same order; "
                                         r"missing \['x2'\], unexpected \[\]\."):
        tune_lightgbm(X, y, Xv.drop(columns="x2"), yv)
    with pytest.raises(ValueError, match=r"`y_valid` has one class only"):
        tune_lightgbm(X, y, Xv, np.zeros_like(yv))
    with pytest.raises(ValueError, match=r"`y_train` must contain only 0 and 1; got values \[2\]\."):
        tune_lightgbm(X, np.where(y == 1, 2, 0), Xv, yv)
