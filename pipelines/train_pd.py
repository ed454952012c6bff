"""Batch jobs around the PD model: train on a panel, evaluate registered versions, judge and promote.

Each job takes the rows of a feature panel whose outcome is observed
(:func:`credit.features.panel.read_panel` and :meth:`~credit.features.panel.Panel.observed`),
takes its windows from the model configuration (the latest labelled as-of months test), and
logs what it did to MLflow. The CLI (``credit train``, ``credit
evaluate``, ``credit promote``) and ``credit retrain`` (:mod:`pipelines.retrain`) call them.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from credit import clock
from credit.features.panel import Panel, PanelError
from credit.models import CHALLENGER, CHAMPION, REGISTERED_MODEL
from credit.models.config import ModelConfig
from credit.models.distributed import local_cluster
from credit.models.promotion import PromotionDecision, promotion_decision
from credit.models.registry import (
    EXPERIMENT,
    ModelNotFoundError,
    RegisteredVersion,
    load_version,
    log_pd_model,
    resolve_alias,
    set_alias,
)
from credit.models.report import EvaluatedModel, Oracle, Report, evaluation_report
from credit.models.splits import OutOfTimeSplit, latest_windows
from credit.models.training import HELD_OUT_FIRM_SHARE, held_out_firms, oracle_pd, train_on_panel
from credit.policy import default_policy


@dataclass(frozen=True)
class TrainingOutcome:
    """What ``credit train`` did: the run, the registered challenger, the headline numbers."""

    run_id: str
    registered: RegisteredVersion
    summary: pd.DataFrame
    report_path: Path
    windows: dict[str, str]
    tuned_params: dict | None


def windows_of(panel: Panel, config: ModelConfig) -> OutOfTimeSplit:
    """The configured out-of-time windows over the panel's labelled rows."""
    try:
        return latest_windows(panel.frame["as_of"], **vars(config.windows))
    except ValueError as exc:
        raise PanelError(f"{panel.folder}: {exc}") from exc


def describe_windows(panel: Panel, split: OutOfTimeSplit) -> dict[str, str]:
    """Each window's as-of dates, rows and defaults, for the report and the run's parameters."""
    described = {}
    for name in ("train", "valid", "calibrate", "test"):
        mask, dates = getattr(split, name), split.dates[name]
        described[name] = (f"{dates[0]} to {dates[-1]} ({len(dates)} as-of dates, {int(mask.sum()):,} rows, "
                           f"{int(panel.frame.loc[mask, panel.label].sum()):,} defaults)")
    return described


def train_pd(panel: Panel, config: ModelConfig, *, report_path: Path, truth: Path | None = None,
             tune: bool = False, dask_workers: int = 0) -> TrainingOutcome:
    """Train the candidates, write the report, log the run and register the PD model as challenger.

    Call :func:`credit.models.registry.tracking` first. The run logs the configuration, the
    windows, every candidate's test metrics with intervals (and the oracle's with ``truth``),
    each feature's CSI from the train to the test window (metrics ``csi.<feature>`` and
    ``evaluation/csi.csv``), the report, the scorecard's points table and the model with its
    signature; with ``tune`` the Optuna trials are nested runs of it.

    Parameters
    ----------
    panel
        The rows whose outcome is observed: ``read_panel(folder, label).observed()``.
    dask_workers
        0: train here; N: train the PD model on a local Dask cluster of N workers, the panel
        partitioned by firm (:mod:`credit.models.distributed`); the challengers train here.

    Raises
    ------
    PanelError
        If the windows do not fit the panel.
    ValueError
        If training fails on the data (the message says why).
    """
    split = windows_of(panel, config)
    windows = describe_windows(panel, split)
    X = panel.frame[panel.feature_columns]
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    with mlflow.start_run(experiment_id=experiment.experiment_id,
                          run_name=f"train {clock.now():%Y-%m-%d %H:%M:%S}") as run:
        params = dict(config.lightgbm)
        if tune:
            params = _tuned(config, panel, split)
        with ExitStack() as stack:
            client = stack.enter_context(local_cluster(dask_workers)) if dask_workers else None
            trained = train_on_panel(
                panel.frame, panel.feature_columns, panel.label, split, lightgbm_params=params,
                lightgbm_options={"num_boost_round": config.training.num_boost_round,
                                  "early_stopping_rounds": config.training.early_stopping_rounds,
                                  "calibration": config.training.calibration},
                with_scorecard=config.training.scorecard, random_state=config.training.random_state,
                dask_client=client)
        oracle = Oracle("simulator's true PD", oracle_pd(panel.frame[split.test], truth)) if truth else None
        report = evaluation_report(graded(trained.evaluated), oracle=oracle,
                                   title=f"PD model: out-of-time evaluation on {panel.folder}",
                                   split_description=windows, random_state=config.training.random_state,
                                   features_train=X[split.train], features_test=X[split.test])
        report.write(report_path)
        mlflow.log_params(config.as_params() | {
            "panel": str(panel.folder), "features": len(panel.feature_columns),
            "definitions_version": panel.manifest.get("definitions_version"), "tuned": tune,
            "dask_workers": dask_workers, **{f"window.{name}": text for name, text in windows.items()},
            **({f"tuned.{key}": value for key, value in params.items()} if tune else {})})
        mlflow.log_metrics(summary_metrics(report) | csi_metrics(report))
        mlflow.log_text(report.summary.to_csv(index=False), "evaluation/summary.csv")
        mlflow.log_text(report.csi.to_csv(index=False), "evaluation/csi.csv")
        if "scorecard" in trained.models:
            mlflow.log_text(trained.models["scorecard"].points_table().to_csv(index=False), "scorecard/points_table.csv")
        champion_model = trained.models["lightgbm"]
        registered = log_pd_model(
            champion_model, params={}, metrics={}, feature_names=panel.feature_columns,
            input_example=X[split.test].head(5), run_name=run.info.run_name, report_path=report_path,
            register_as=REGISTERED_MODEL)
        set_alias(REGISTERED_MODEL, CHALLENGER, registered.version)
        mlflow.set_tags({"job": "train", "registered_version": registered.version})
    return TrainingOutcome(run.info.run_id, registered, report.summary, report_path, windows,
                           params if tune else None)


def evaluate_versions(panel: Panel, config: ModelConfig, versions: dict[str, str], *, report_path: Path,
                      truth: Path | None = None) -> Report:
    """Score registered versions on the panel's latest test window, side by side, and log the report.

    Parameters
    ----------
    panel
        The rows whose outcome is observed, as for :func:`train_pd`.
    versions
        Report label -> registered version of ``credit_pd``, e.g. ``{"champion (v3)": "3"}``.

    Raises
    ------
    ModelNotFoundError
        If a version does not exist.
    PanelError
        If the windows do not fit the panel or a model's features are missing from it.
    """
    split = windows_of(panel, config)
    windows = describe_windows(panel, split)
    test = panel.frame[split.test]
    y_test = test[panel.label].astype(int).to_numpy()
    evaluated = [EvaluatedModel(label, y_test, _scored(load_version(REGISTERED_MODEL, version), test, panel))
                 for label, version in versions.items()]
    oracle = Oracle("simulator's true PD", oracle_pd(test, truth)) if truth else None
    report = evaluation_report(graded(evaluated), oracle=oracle,
                               title=f"Registered PD models on {panel.folder}",
                               split_description={"test": windows["test"]}, random_state=config.training.random_state)
    report.write(report_path)
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    with mlflow.start_run(experiment_id=experiment.experiment_id,
                          run_name=f"evaluate {clock.now():%Y-%m-%d %H:%M:%S}"):
        mlflow.set_tags({"job": "evaluate", **{f"version.{_mlflow_key(label)}": v for label, v in versions.items()}})
        mlflow.log_params({"panel": str(panel.folder), "window.test": windows["test"]})
        mlflow.log_metrics(summary_metrics(report))
        mlflow.log_artifact(str(report_path), artifact_path="reports")
    return report


@dataclass(frozen=True)
class Judgement:
    """The gate's decision on a challenger, with the versions it compared."""

    decision: PromotionDecision
    challenger: RegisteredVersion
    champion: RegisteredVersion | None
    test_window: str


def judge_challenger(panel: Panel, config: ModelConfig, challenger: str | None = None) -> Judgement:
    """Run the promotion gate for ``challenger`` (default: the ``challenger`` alias) against the champion.

    Both are scored on the latest test window of ``panel`` (the rows whose outcome is
    observed, as for :func:`train_pd`). Nothing is changed in the registry:
    :func:`apply_judgement` does that.

    Raises
    ------
    ModelNotFoundError
        If there is no such challenger version or alias.
    PanelError
        If the windows do not fit the panel or a model's features are missing from it.
    """
    challenger_version = _version(challenger) if challenger else resolve_alias(REGISTERED_MODEL, CHALLENGER)
    try:
        champion = resolve_alias(REGISTERED_MODEL, CHAMPION)
    except ModelNotFoundError:
        champion = None
    split = windows_of(panel, config)
    test = panel.frame[split.test]
    y_test = test[panel.label].astype(int).to_numpy()
    pd_challenger = _scored(load_version(REGISTERED_MODEL, challenger_version.version), test, panel)
    pd_champion = None
    if champion is not None and champion.version != challenger_version.version:
        pd_champion = _scored(load_version(REGISTERED_MODEL, champion.version), test, panel)
    elif champion is not None:
        champion = None  # the challenger is the champion already: judge it on its own
    decision = promotion_decision(y_test, pd_challenger, pd_champion, policy=config.promotion,
                                  groups=test["as_of"].to_numpy(),
                                  random_state=config.training.random_state)
    return Judgement(decision, challenger_version, champion, describe_windows(panel, split)["test"])


def apply_judgement(judgement: Judgement) -> None:
    """Move ``champion`` to the challenger if the gate passed; log the decision in the challenger's run."""
    if judgement.decision.promote:
        set_alias(REGISTERED_MODEL, CHAMPION, judgement.challenger.version)
    record = judgement.decision.as_dict() | {
        "challenger_version": judgement.challenger.version,
        "champion_version": judgement.champion.version if judgement.champion else None,
        "test_window": judgement.test_window, "decided_at": clock.now().isoformat(timespec="seconds")}
    client = mlflow.MlflowClient()
    client.log_dict(judgement.challenger.run_id, record,
                    f"promotion/decision-{clock.now():%Y%m%dT%H%M%S}.json")
    client.set_tag(judgement.challenger.run_id, "promotion",
                   "promoted" if judgement.decision.promote else "refused")


def summary_metrics(report: Report) -> dict[str, float]:
    """``model.metric -> value`` for MLflow, from the report's summary (NaN left out)."""
    metrics = {}
    for row in report.summary.to_dict("records"):
        name = row.pop("model")
        for key, value in row.items():
            if isinstance(value, int | float | np.number) and np.isfinite(value):
                metrics[f"{_mlflow_key(name)}.{key}"] = float(value)
    return metrics


def csi_metrics(report: Report) -> dict[str, float]:
    """``csi.<feature> -> CSI`` for MLflow, from the report's CSI table (empty without one)."""
    if report.csi is None:
        return {}
    return {f"csi.{_mlflow_key(row.feature)}": float(row.csi) for row in report.csi.itertuples()}


def _tuned(config: ModelConfig, panel: Panel, split: OutOfTimeSplit) -> dict:
    """Search LightGBM's parameters stopping and scoring on the held-out firms, as training does."""
    from credit.models.tuning import tune_lightgbm

    X, y = panel.frame[panel.feature_columns], panel.frame[panel.label].astype(int)
    fit_rows = split.train | split.valid
    stopping = fit_rows & held_out_firms(panel.frame["firm_id"], HELD_OUT_FIRM_SHARE)
    result = tune_lightgbm(X[fit_rows & ~stopping], y[fit_rows & ~stopping], X[stopping], y[stopping],
                           n_trials=config.tuning.trials, timeout_seconds=config.tuning.timeout_seconds,
                           base_params=config.lightgbm, num_boost_round=config.training.num_boost_round,
                           early_stopping_rounds=config.training.early_stopping_rounds,
                           random_state=config.training.random_state)
    return result.best_params


def graded(evaluated: list[EvaluatedModel]) -> list[EvaluatedModel]:
    """The models with each test row's grade on the credit policy's master scale, for the report."""
    policy = default_policy()
    return [replace(m, grades=policy.grades_of(m.pd_test), grade_order=list(policy.grades)) for m in evaluated]


def _scored(model, rows: pd.DataFrame, panel: Panel) -> np.ndarray:  # noqa: ANN001
    features = [str(name) for name in model.feature_names_in_]
    missing = [name for name in features if name not in rows.columns]
    if missing:
        raise PanelError(f"the panel in {panel.folder} lacks {len(missing)} feature(s) the model was trained on, "
                         f"e.g. {missing[:5]}: rebuild the panel with the same feature definitions")
    return model.predict_proba(rows[features])[:, 1]


def _version(version: str) -> RegisteredVersion:
    client = mlflow.MlflowClient()
    try:
        return RegisteredVersion.of(client.get_model_version(REGISTERED_MODEL, str(version)))
    except mlflow.exceptions.MlflowException as exc:
        raise ModelNotFoundError(f"registered model {REGISTERED_MODEL!r} has no version {version!r}") from exc


def _mlflow_key(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-. /" else "_" for ch in name).strip()

