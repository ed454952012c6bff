"""An MLflow registry with two versions of ``credit_pd`` (champion and challenger), logged the way training logs them.

Each version is a LightGBM PD model fitted on simulated borrowers, evaluated out of sample
with the real evaluation report (:func:`credit.models.report.evaluation_report`), whose
summary is logged as the run's metrics by the training pipeline's own
:func:`pipelines.train_pd.summary_metrics` and whose HTML is attached to the run. Built once
per test session; MLflow's process-wide tracking URI is put back afterwards.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from credit.models import REGISTERED_MODEL
from credit.models.pd_model import LightGBMPD
from credit.models.registry import EXPERIMENT, log_pd_model, set_alias, tracking
from credit.models.report import EvaluatedModel, evaluation_report
from credit.settings import Settings
from pipelines.train_pd import summary_metrics

WINDOWS = {"train": "2024-01 to 2024-09", "valid": "2024-10", "test": "2025-01 to 2025-03"}


@dataclass(frozen=True)
class Registry:
    tracking_uri: str
    metrics: dict[str, dict[str, float]]  # alias -> the run's metrics as logged
    run_ids: dict[str, str]  # alias -> training run
    report_name: str
    reports: dict[str, Path]  # alias -> the report file that was logged


_built: dict[str, Registry] = {}


def borrowers(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows whose default odds rise with days past due and a trading-volume feature."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"debtor_days_past_due": rng.integers(0, 91, n).astype(float),
                          "buyer_gmv_365d": rng.gamma(2.0, 500_000.0, n)})
    logit = -3.0 + 0.03 * frame["debtor_days_past_due"] - 0.0000005 * frame["buyer_gmv_365d"]
    return frame, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def model_registry(root: Path) -> Registry:
    """Build (once per process) the registry under ``root``."""
    if "registry" in _built:
        return _built["registry"]
    saved = {name: os.environ.pop(name, None) for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    uri = f"sqlite:///{root / 'mlflow.db'}"
    X, y = borrowers(3000, seed=1)
    Xv, yv = borrowers(800, seed=2)
    Xt, yt = borrowers(1500, seed=3)
    metrics, run_ids, reports = {}, {}, {}
    try:
        tracking(Settings(tracking_uri=uri, artifact_location=(root / "mlruns").as_uri()))
        experiment = mlflow.get_experiment_by_name(EXPERIMENT).experiment_id
        for alias, leaves in (("champion", 7), ("challenger", 15)):
            model = LightGBMPD(params={"learning_rate": 0.1, "num_leaves": leaves, "num_threads": 1},
                               num_boost_round=40, calibration="sigmoid", random_state=1).fit(
                X, y, X_valid=Xv, y_valid=yv, X_calibrate=Xv, y_calibrate=yv)
            report = evaluation_report(
                [EvaluatedModel("lightgbm", yt, model.predict_proba(Xt)[:, 1], y_train=y,
                                pd_train=model.predict_proba(X)[:, 1])],
                title=f"PD model {alias}", split_description=WINDOWS, bootstrap_rows=50)
            reports[alias] = report.write(root / f"{alias}.html")
            with mlflow.start_run(experiment_id=experiment, run_name=f"train {alias}") as run:
                mlflow.log_params({f"window.{name}": dates for name, dates in WINDOWS.items()})
                mlflow.log_metrics(summary_metrics(report))
                # log_pd_model logs the report under reports/ with the file's own name
                registered = log_pd_model(model, params={}, metrics={}, feature_names=list(X.columns),
                                          input_example=Xt.head(5), run_name=run.info.run_name,
                                          report_path=reports[alias])
                mlflow.set_tags({"job": "train"})
            set_alias(REGISTERED_MODEL, alias, registered.version)
            metrics[alias] = mlflow.MlflowClient().get_run(run.info.run_id).data.metrics
            run_ids[alias] = run.info.run_id
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
        for name, value in saved.items():
            if value is not None:
                os.environ[name] = value
    _built["registry"] = Registry(uri, metrics, run_ids, "report", reports)
    return _built["registry"]
