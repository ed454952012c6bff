"""The PD registry: log and register, champion/challenger aliases, serving files without MLflow."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from credit.models import REGISTERED_MODEL
from credit.models.pd_model import LightGBMPD
from credit.models.registry import (
    AliasNotFoundError,
    RegisteredVersion,
    export_serving_files,
    log_pd_model,
    resolve_alias,
    set_alias,
    tracking,
    write_serving_files,
)
from credit.models.serving import ServingFilesChanging, ServingModel
from credit.settings import Settings

pytestmark = [
    # MLflow's own code, not ours: its SQLAlchemy mappers and its pandas column check
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated:DeprecationWarning:mlflow"),
]

REPO = Path(__file__).resolve().parents[2]
DPD = "debtor_days_past_due"
SECTORS = ["food", "retail", "tools"]


def borrowers(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows whose default odds rise with days past due and x1, and differ by (categorical) sector."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({DPD: rng.integers(0, 91, n).astype(float), "x1": rng.normal(size=n),
                          "sector": pd.Categorical(rng.choice(SECTORS, n), categories=SECTORS)})
    logit = -3.0 + 0.03 * frame[DPD] + 0.8 * frame["x1"] + 0.7 * (frame["sector"] == "tools")
    return frame, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def fit_model(calibration: str | None = "isotonic", **params: object) -> LightGBMPD:
    X, y = borrowers(2000, seed=1)
    Xv, yv = borrowers(600, seed=2)
    Xc, yc = borrowers(600, seed=3)
    return LightGBMPD(params={"learning_rate": 0.1, **params}, calibration=calibration).fit(
        X, y, X_valid=Xv, y_valid=yv, X_calibrate=Xc, y_calibrate=yc)


def log(model: LightGBMPD, run_name: str, **overrides: object) -> RegisteredVersion:
    X = scoring_rows()
    arguments = {"params": {"learning_rate": 0.1}, "metrics": {"auc": 0.71}, "feature_names": list(X.columns),
                 "input_example": X.head(5), "run_name": run_name, **overrides}
    return log_pd_model(model, **arguments)


def scoring_rows() -> pd.DataFrame:
    return borrowers(500, seed=9)[0]


def calibrated_pd(model: LightGBMPD, X: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(X)[:, 1]


@pytest.fixture(scope="module")
def first_model() -> LightGBMPD:
    return fit_model()


@pytest.fixture(scope="module")
def second_model() -> LightGBMPD:
    return fit_model(num_leaves=7, min_child_samples=20)


@pytest.fixture
def tracked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh SQLite tracking store and artifact folder under tmp_path; MLflow's globals restored after."""
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(variable, raising=False)  # monkeypatch puts back what was there
    tracking(Settings(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
                      artifact_location=(tmp_path / "mlruns").as_uri()))
    yield tmp_path
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def test_logging_a_model_registers_version_1_with_its_params_metrics_features_and_report(
        tracked: Path, first_model: LightGBMPD) -> None:
    report = tracked / "evaluation.html"
    report.write_text("<html><body>AUC 0.71</body></html>")
    version = log(first_model, "first", report_path=report)
    assert (version.name, version.version) == (REGISTERED_MODEL, "1")
    run = MlflowClient().get_run(version.run_id)
    assert run.info.run_name == "first"
    assert run.data.params == {"learning_rate": "0.1"}
    assert run.data.metrics == {"auc": 0.71}
    features = mlflow.artifacts.load_dict(f"runs:/{version.run_id}/features.json")
    assert features == {"features": [DPD, "x1", "sector"], "categories": {"sector": SECTORS}}
    artifacts = {item.path for item in MlflowClient().list_artifacts(version.run_id, "reports")}
    assert artifacts == {"reports/evaluation.html"}
    # artifacts land under the experiment's location, not the working directory's mlruns/
    assert (tracked / "mlruns" / version.run_id / "artifacts" / "features.json").exists()


def test_the_champion_loads_as_a_pyfunc_returning_the_calibrated_pd(tracked: Path, first_model: LightGBMPD) -> None:
    set_alias(REGISTERED_MODEL, "champion", log(first_model, "first").version)
    champion = mlflow.pyfunc.load_model(f"models:/{REGISTERED_MODEL}@champion")  # as `mlflow models serve` loads it
    X = scoring_rows()
    assert resolve_alias(REGISTERED_MODEL, "champion").version == "1"
    np.testing.assert_allclose(champion.predict(X), calibrated_pd(first_model, X), rtol=0, atol=1e-12)
    # categoricals may also arrive as strings, as they do from JSON
    as_text = X.astype({"sector": str})
    np.testing.assert_allclose(champion.predict(as_text), calibrated_pd(first_model, X), rtol=0, atol=1e-12)


def test_moving_the_champion_to_the_challenger_loads_version_2(
        tracked: Path, first_model: LightGBMPD, second_model: LightGBMPD) -> None:
    set_alias(REGISTERED_MODEL, "champion", log(first_model, "first").version)
    challenger = log(second_model, "second")
    set_alias(REGISTERED_MODEL, "challenger", challenger.version)
    assert challenger.version == "2"
    assert resolve_alias(REGISTERED_MODEL, "champion").version == "1"

    set_alias(REGISTERED_MODEL, "champion", challenger.version)
    champion = mlflow.pyfunc.load_model(f"models:/{REGISTERED_MODEL}@champion")
    X = scoring_rows()
    assert resolve_alias(REGISTERED_MODEL, "champion").version == "2"
    np.testing.assert_allclose(champion.predict(X), calibrated_pd(second_model, X), rtol=0, atol=1e-12)
    # the second model really differs, so loading the first would have failed the line above
    assert np.abs(calibrated_pd(first_model, X) - calibrated_pd(second_model, X)).max() > 1e-3


def test_an_alias_that_does_not_exist_names_the_model_and_the_alias(tracked: Path, first_model: LightGBMPD) -> None:
    set_alias(REGISTERED_MODEL, "champion", log(first_model, "first").version)
    with pytest.raises(AliasNotFoundError, match=rf"'{REGISTERED_MODEL}' has no alias 'challenger'; its aliases are \['champion'\]"):
        resolve_alias(REGISTERED_MODEL, "challenger")
    with pytest.raises(AliasNotFoundError, match="no registered model 'credit_scorecard'"):
        export_serving_files("credit_scorecard", "champion", tracked / "serving")


def test_feature_names_that_differ_from_the_model_are_refused(tracked: Path, first_model: LightGBMPD) -> None:
    with pytest.raises(ValueError, match="`feature_names` must be the model's features in order"):
        log(first_model, "first", feature_names=["x1", DPD, "sector"])


def test_serving_files_score_like_the_champion_and_name_its_version(
        tracked: Path, first_model: LightGBMPD, second_model: LightGBMPD) -> None:
    log(first_model, "first")
    second = log(second_model, "second")
    set_alias(REGISTERED_MODEL, "champion", second.version)
    folder = export_serving_files(REGISTERED_MODEL, "champion", tracked / "serving")

    assert sorted(path.name for path in folder.iterdir()) == [
        "calibrator.json", "features.json", "model.lgb", "version.json"]
    # version.json, the marker a running service watches, names each other file by its SHA-256
    digests = {name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
               for name in ("model.lgb", "calibrator.json", "features.json")}
    assert json.loads((folder / "version.json").read_text()) == {
        "name": REGISTERED_MODEL, "version": "2", "alias": "champion", "run_id": second.run_id, "files": digests}
    served = ServingModel.load(folder)
    assert (served.name, served.version, served.alias, served.run_id) == (REGISTERED_MODEL, "2", "champion", second.run_id)
    X = scoring_rows()
    np.testing.assert_allclose(served.predict_pd(X), calibrated_pd(second_model, X), rtol=0, atol=1e-12)
    assert served.booster.num_trees() == second_model.best_iteration_


@pytest.mark.parametrize("calibration", ["sigmoid", None])
def test_serving_files_reproduce_sigmoid_and_uncalibrated_models(tmp_path: Path, calibration: str | None) -> None:
    model = fit_model(calibration=calibration)
    folder = write_serving_files(model, tmp_path, categories={"sector": SECTORS},
                                 version={"name": REGISTERED_MODEL, "version": "7", "alias": "champion", "run_id": "r"})
    X = scoring_rows()
    np.testing.assert_allclose(ServingModel.load(folder).predict_pd(X), calibrated_pd(model, X), rtol=0, atol=1e-12)


def test_serving_refuses_a_frame_without_a_model_feature(tmp_path: Path, first_model: LightGBMPD) -> None:
    folder = write_serving_files(first_model, tmp_path, categories={"sector": SECTORS},
                                 version={"name": REGISTERED_MODEL, "version": "1", "alias": "champion", "run_id": "r"})
    with pytest.raises(ValueError, match=r"lacks 1 model features: \['x1'\]"):
        ServingModel.load(folder).predict_pd(scoring_rows().drop(columns="x1"))


def test_importing_the_serving_module_imports_neither_mlflow_nor_sklearn() -> None:
    check = ("import sys, credit.models.serving; "
             "assert 'mlflow' not in sys.modules and 'sklearn' not in sys.modules, "
             "sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'sklearn'))[:5]")
    subprocess.run([sys.executable, "-c", check], cwd=REPO, check=True, capture_output=True, text=True)


def test_a_server_without_mlflow_or_sklearn_scores_json_rows_like_the_model(
        tmp_path: Path, first_model: LightGBMPD) -> None:
    folder = write_serving_files(first_model, tmp_path / "serving", categories={"sector": SECTORS},
                                 version={"name": REGISTERED_MODEL, "version": "1", "alias": "champion", "run_id": "r"})
    X = scoring_rows()
    # json.dumps writes floats exactly (pandas' to_json rounds to 15 digits)
    (tmp_path / "rows.json").write_text(json.dumps(X.astype({"sector": str}).to_dict(orient="records")))
    server = f"""
import json, sys
sys.modules["mlflow"] = sys.modules["sklearn"] = None  # importing either now fails
import pandas as pd
from credit.models.serving import ServingFilesChanging, ServingModel
model = ServingModel.load({str(folder)!r})
rows = pd.DataFrame(json.loads(open({str(tmp_path / "rows.json")!r}).read()))
print(json.dumps(model.predict_pd(rows).tolist()))
"""
    result = subprocess.run([sys.executable, "-c", server], check=False, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    np.testing.assert_allclose(json.loads(result.stdout), calibrated_pd(first_model, X), rtol=0, atol=1e-12)


def test_serving_files_of_two_versions_are_refused_not_mixed(tmp_path: Path, first_model: LightGBMPD,
                                                             second_model: LightGBMPD) -> None:
    first = write_serving_files(first_model, tmp_path / "first", categories={"sector": SECTORS},
                                version={"name": REGISTERED_MODEL, "version": "1", "alias": "champion", "run_id": "r1"})
    second = write_serving_files(second_model, tmp_path / "second", categories={"sector": SECTORS},
                                 version={"name": REGISTERED_MODEL, "version": "2", "alias": "champion", "run_id": "r2"})
    # an export of version 2 caught half way: its booster is in place, version 1's marker still names the old one
    (first / "model.lgb").write_bytes((second / "model.lgb").read_bytes())
    with pytest.raises(ServingFilesChanging, match=r"model.lgb is not the file version.json names \(version 1\)"):
        ServingModel.load(first)
    assert sorted(path.name for path in first.iterdir()) == [  # no temporary file is left behind
        "calibrator.json", "features.json", "model.lgb", "version.json"]


def test_a_service_watch_swaps_only_to_a_whole_export_and_keeps_a_model_set_by_hand(
        tmp_path: Path, first_model: LightGBMPD, second_model: LightGBMPD) -> None:
    from fastapi import FastAPI

    from api.kit.state import ChampionWatch

    def export(model: LightGBMPD, folder: Path, version: str) -> Path:
        return write_serving_files(model, folder, categories={"sector": SECTORS},
                                   version={"name": REGISTERED_MODEL, "version": version, "alias": "champion",
                                            "run_id": f"r{version}"})

    serving, staged = export(first_model, tmp_path / "serving", "1"), export(second_model, tmp_path / "staged", "2")
    app = FastAPI()
    app.state.serving_model = None
    watch = ChampionWatch(app, serving, every=60)
    assert watch.check() and app.state.serving_model.version == "1"
    assert not watch.check()  # the same marker: nothing read again
    served = app.state.serving_model
    # version 2's booster is in place, its marker not yet: version 1 stays
    (serving / "model.lgb").write_bytes((staged / "model.lgb").read_bytes())
    assert not watch.check() and app.state.serving_model is served
    # version 2's marker written before its booster is: refused, version 1 stays
    export(first_model, serving, "1")
    (serving / "version.json").write_bytes((staged / "version.json").read_bytes())
    assert not watch.check() and app.state.serving_model is served
    # the whole export: version 2, scoring as the second model does
    export(second_model, serving, "2")
    assert watch.check() and app.state.serving_model.version == "2"
    X = scoring_rows()
    np.testing.assert_allclose(app.state.serving_model.predict_pd(X), calibrated_pd(second_model, X), rtol=0, atol=1e-12)
    # a model someone put in app.state by hand is theirs: the watch leaves it, whatever is exported
    app.state.serving_model = by_hand = ServingModel.load(staged)
    export(first_model, serving, "3")
    assert not watch.check() and app.state.serving_model is by_hand
