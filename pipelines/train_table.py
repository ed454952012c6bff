"""Batch job: train the PD candidates on a labelled table an analyst brings, report, log and register.

``credit train --table FILE --target COL [--time-col COL] [--id-col COL]`` calls
:func:`train_table`. The validation is out of time with a time column, else nested stratified
cross-validation (:mod:`credit.models.table_training`); the report says which, which candidate
won and why. The champion, whatever kind it is, is registered under the table's own name,
``<file stem>_pd``, as ``challenger``, so a table's models never mix with the marketplace's
``credit_pd`` versions; its run is tagged ``champion=<name>`` and holds
``evaluation/out_of_fold.csv`` (every row's PD from each candidate and the champion).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd

from credit import clock
from credit.models import CHALLENGER
from credit.models.config import BUILT_IN, ModelConfig
from credit.models.registry import EXPERIMENT, RegisteredVersion, log_pd_model, set_alias
from credit.models.report import evaluation_report
from credit.models.table_grades import PdScale, graded_on, quantile_scale
from credit.models.table_training import train_on_table
from credit.models.tables import LabelledTable
from pipelines.train_pd import summary_metrics

FOLDS = 5


@dataclass(frozen=True)
class TableOutcome:
    run_id: str
    registered: RegisteredVersion
    summary: pd.DataFrame
    fold_auc: pd.DataFrame
    champion: str
    inner_auc: pd.DataFrame
    """The final choice: ``model``, ``inner_auc``, ``margin_low``, ``champion`` (see TableTraining.inner_auc)."""
    validation: str
    out_of_time: bool
    report_path: Path


def registered_name(source: Path) -> str:
    """``<file stem>_pd`` with characters MLflow names do not allow replaced by ``_``."""
    stem = source.name.split(".")[0]
    return re.sub(r"[^A-Za-z0-9_-]", "_", stem) + "_pd"


def train_table(table: LabelledTable, config: ModelConfig, *, source: Path, report_path: Path,
                scale: PdScale | None = None, tuning_trials: int | None = None) -> TableOutcome:
    """Train and evaluate the candidates on ``table``; register the champion as challenger.

    The ``[lightgbm]`` section of a configuration file the analyst passes is the base the
    tuning starts from; with the built-in defaults (tuned for marketplace panels of thousands
    of firms) the small-table rule of
    :func:`~credit.models.table_training.small_table_lightgbm_params` sets the base instead.
    ``[training] calibration`` is LightGBM's calibrator, ``[tuning] table_trials`` and
    ``table_inner_folds`` the search; ``tuning_trials`` overrides the trials (tests use few).

    The report grades on ``scale``, by default on the table's own PD quantiles
    (:func:`~credit.models.table_grades.quantile_scale`), never on the marketplace's master
    scale; it lists the columns left out and what reading the table found.

    Raises
    ------
    ValueError
        If the table is too small for the validation (the message gives the counts).
    """
    own_params = dict(config.lightgbm) if config.source != BUILT_IN else None
    trials = config.tuning.table_trials if tuning_trials is None else tuning_trials
    trained = train_on_table(table, folds=FOLDS, inner_folds=config.tuning.table_inner_folds, tuning_trials=trials,
                             calibration=config.training.calibration, lightgbm_params=own_params,
                             num_boost_round=config.training.num_boost_round,
                             early_stopping_rounds=config.training.early_stopping_rounds,
                             with_scorecard=config.training.scorecard, random_state=config.training.random_state)
    scale = scale or quantile_scale([m.pd_test for m in trained.evaluated])
    report = evaluation_report(graded_on(trained.evaluated, scale), title=f"PD candidates on {source.name}",
                               split_description=trained.split_description, note=trained.note,
                               findings=table.checks(), grade_scale=scale.describe(),
                               random_state=config.training.random_state)
    report.write(report_path)
    name = registered_name(source)
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    with mlflow.start_run(experiment_id=experiment.experiment_id,
                          run_name=f"train {source.name} {clock.now():%Y-%m-%d %H:%M:%S}") as run:
        mlflow.log_params({"table": str(source), "target": table.target.name, "rows": len(table.target),
                           "defaults": int(table.target.sum()), "validation": trained.validation,
                           "features": len(trained.feature_columns), "champion": trained.champion,
                           "tuning_trials": trials, "inner_folds": config.tuning.table_inner_folds,
                           "time_column": None if table.times is None else table.times.name,
                           "id_column": None if table.ids is None else table.ids.name,
                           **{f"lightgbm.{k}": v for k, v in trained.lightgbm_params.items()}})
        mlflow.log_metrics(summary_metrics(report))
        mlflow.log_metrics({f"inner_auc.{row.model}": row.inner_auc
                            for row in trained.inner_auc[trained.inner_auc["fold"] == "final"].itertuples()})
        mlflow.log_text(report.summary.to_csv(index=False), "evaluation/summary.csv")
        mlflow.log_text(trained.fold_metrics.to_csv(index=False), "evaluation/folds.csv")
        mlflow.log_text(trained.inner_auc.to_csv(index=False), "evaluation/inner_auc.csv")
        mlflow.log_text(trained.out_of_fold.to_csv(index=False), "evaluation/out_of_fold.csv")
        mlflow.log_dict({column: reason for column, reason in table.left_out.items()}, "left_out_columns.json")
        features = table.features[trained.feature_columns]
        registered = log_pd_model(trained.champion_model, params={}, metrics={},
                                  feature_names=trained.feature_columns, input_example=features.head(5),
                                  run_name=run.info.run_name, report_path=report_path, register_as=name)
        set_alias(name, CHALLENGER, registered.version)
        mlflow.set_tags({"job": "train-table", "registered_version": registered.version,
                         "champion": trained.champion})
    split = trained.split_description
    validation = split if isinstance(split, str) else "; ".join(f"{k}: {v}" for k, v in split.items())
    final = trained.inner_auc[trained.inner_auc["fold"] == "final"].drop(columns="fold")
    return TableOutcome(run.info.run_id, registered, report.summary, trained.fold_auc(), trained.champion,
                        final.reset_index(drop=True), validation, trained.validation == "out-of-time", report_path)

