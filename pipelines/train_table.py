"""Batch job: train the PD candidates on a labelled table an analyst brings, report, log and register.

``credit train --table FILE --target COL [--time-col COL] [--id-col COL]`` calls
:func:`train_table`. The validation is out of time with a time column, else stratified
cross-validation (:mod:`credit.models.table_training`); the report says which. The LightGBM
model is registered under its own name, ``<file stem>_pd``, as ``challenger``, so a table's
models never mix with the marketplace's ``credit_pd`` versions.
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
    validation: str
    out_of_time: bool
    report_path: Path


def registered_name(source: Path) -> str:
    """``<file stem>_pd`` with characters MLflow names do not allow replaced by ``_``."""
    stem = source.name.split(".")[0]
    return re.sub(r"[^A-Za-z0-9_-]", "_", stem) + "_pd"


def train_table(table: LabelledTable, config: ModelConfig, *, source: Path, report_path: Path,
                scale: PdScale | None = None) -> TableOutcome:
    """Train, evaluate and log the candidates on ``table``; register the LightGBM model as challenger.

    The report grades on ``scale``, by default on the table's own PD quantiles
    (:func:`~credit.models.table_grades.quantile_scale`), never on the marketplace's master
    scale; it lists the columns left out and what reading the table found.

    The ``[lightgbm]`` section of a configuration file the analyst passes is used as given;
    with the built-in defaults (tuned for marketplace panels of thousands of firms) the
    small-table rule of :func:`~credit.models.table_training.small_table_lightgbm_params`
    sets the parameters instead.

    Raises
    ------
    ValueError
        If the table is too small for the validation (the message gives the counts).
    """
    own_params = dict(config.lightgbm) if config.source != BUILT_IN else None
    trained = train_on_table(table, folds=FOLDS, lightgbm_params=own_params,
                             num_boost_round=config.training.num_boost_round,
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
                           "features": len(trained.feature_columns),
                           "time_column": None if table.times is None else table.times.name,
                           "id_column": None if table.ids is None else table.ids.name,
                           **{f"lightgbm.{k}": v for k, v in trained.lightgbm_params.items()}})
        mlflow.log_metrics(summary_metrics(report))
        mlflow.log_text(report.summary.to_csv(index=False), "evaluation/summary.csv")
        mlflow.log_text(trained.fold_metrics.to_csv(index=False), "evaluation/folds.csv")
        mlflow.log_dict({column: reason for column, reason in table.left_out.items()}, "left_out_columns.json")
        features = table.features[trained.feature_columns]
        registered = log_pd_model(trained.models["lightgbm"], params={}, metrics={},
                                  feature_names=trained.feature_columns, input_example=features.head(5),
                                  run_name=run.info.run_name, report_path=report_path, register_as=name)
        set_alias(name, CHALLENGER, registered.version)
        mlflow.set_tags({"job": "train-table", "registered_version": registered.version})
    split = trained.split_description
    validation = split if isinstance(split, str) else "; ".join(f"{k}: {v}" for k, v in split.items())
    return TableOutcome(run.info.run_id, registered, report.summary, trained.fold_auc(), validation,
                        trained.validation == "out-of-time", report_path)
