"""Train the PD candidates on a feature panel out of time and evaluate them on the same test rows.

:func:`train_on_panel` fits the LightGBM champion candidate (:class:`LightGBMPD`, its rounds
found on held-out firms and calibrated on the calibration window), the scorecard challenger
(:class:`ScorecardPD`) and a plain logistic regression on the raw features, each on rows
before the test window only, and returns them with their test-window PDs ready for
:func:`credit.models.report.evaluation_report`. The PD model is trained here
(:func:`train_lightgbm`) or, given a Dask client, on the cluster
(:func:`credit.models.distributed.train_lightgbm_dask`, the same model). :func:`oracle_pd`
reads the simulator's true 12-month PD for the same rows, so the report can show the gap to
the best achievable model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from credit.models.pd_model import LightGBMPD
from credit.models.report import EvaluatedModel
from credit.models.scorecard import ScorecardPD
from credit.models.splits import HELD_OUT_FIRM_SHARE, OutOfTimeSplit, held_out_firms


@dataclass
class TrainedModels:
    """The fitted candidates and how each did on the test window."""

    split: OutOfTimeSplit
    feature_columns: list[str]
    models: dict[str, object]
    evaluated: list[EvaluatedModel]


def logistic_baseline(categorical: list[str], numeric: list[str], random_state: int = 0) -> Pipeline:
    """Logistic regression on the raw features: medians for gaps, standardised numbers, one-hot categories."""
    columns = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("categories", make_pipeline(FunctionTransformer(categories_as_objects), OneHotEncoder(handle_unknown="ignore")),
         categorical),
    ])
    return Pipeline([("columns", columns), ("model", LogisticRegression(max_iter=2000, random_state=random_state))])


def categories_as_objects(X: pd.DataFrame) -> pd.DataFrame:
    """Category columns as objects with NaN for gaps: the one-hot encoder cannot sort pd.NA among strings."""
    X = X.copy()
    for column in X.columns:
        X[column] = X[column].astype(object).where(X[column].notna(), np.nan)
    return X


def train_on_panel(frame: pd.DataFrame, feature_columns: list[str], label: str, split: OutOfTimeSplit, *,
                   lightgbm_params: dict | None = None, lightgbm_options: dict | None = None,
                   with_scorecard: bool = True, random_state: int = 0,
                   held_out_firm_share: float = HELD_OUT_FIRM_SHARE, dask_client=None) -> TrainedModels:  # noqa: ANN001
    """Fit the candidates on the windows before the test window and predict the test window.

    Every candidate learns from the train and valid windows. The PD model finds its number of
    boosting rounds on the rows of *held-out firms* of those windows, not on a later window:
    a firm that defaults in the valid window carries label 1 at every as-of date of its last
    12 months, in the train window too, so a later window shares the training labels and
    rewards memorising firms (on 4,000 simulated firms it ran to about 2,000 rounds and lost
    0.03 AUC). The model is then refitted on all firms with the rounds scaled up by
    ``1 / (1 - held_out_firm_share)`` for the larger sample, and calibrated on the
    calibration window.

    Parameters
    ----------
    frame
        Panel rows (one per firm and as-of date) in the order of ``split``'s masks.
    feature_columns
        Model inputs; pandas ``category`` columns are treated as categorical.
    label
        0/1 target column; every row of the four windows must have one.
    split
        Out-of-time windows (:func:`credit.models.splits.out_of_time_split`).
    lightgbm_params
        LightGBM parameters of the PD model (over :data:`~credit.models.pd_model.DEFAULT_PARAMS`).
    lightgbm_options
        Other :class:`LightGBMPD` arguments: ``num_boost_round`` (at most, when stopping),
        ``early_stopping_rounds``, ``calibration``.
    held_out_firm_share
        Share of firms that stop the boosting; the panel needs a ``firm_id`` column.
    dask_client
        A ``distributed.Client``: the PD model is then trained on its workers, the panel
        partitioned by firm (:func:`credit.models.distributed.train_lightgbm_dask`: the same
        rounds, calibration and model type); the challengers still train here.

    Raises
    ------
    ValueError
        If a row of a window has no label (its outcome is not known yet: leave it out of the
        split instead), or a feature column is missing.
    """
    missing = [c for c in feature_columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the panel has no column(s) {missing[:5]}")
    used = split.train | split.valid | split.calibrate | split.test
    unlabelled = int(frame.loc[used, label].isna().sum())
    if unlabelled:
        raise ValueError(f"{unlabelled} row(s) of the split windows have no {label!r}; their outcome is not known "
                         "yet, so they can neither train nor test a model: move the windows earlier")
    X, y = frame[feature_columns], frame[label].astype("float64")
    categorical = [c for c in feature_columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in feature_columns if c not in categorical]
    fit_rows = split.train | split.valid

    if dask_client is not None:
        from credit.models.distributed import partition_by_firm, train_lightgbm_dask

        rows = partition_by_firm(frame[["firm_id", "as_of", label, *feature_columns]], dask_client)
        champion = train_lightgbm_dask(rows, list(feature_columns), label, split, client=dask_client,
                                       lightgbm_params=lightgbm_params, lightgbm_options=lightgbm_options,
                                       random_state=random_state, held_out_firm_share=held_out_firm_share)
    else:
        champion = train_lightgbm(frame, feature_columns, label, split, lightgbm_params=lightgbm_params,
                                  lightgbm_options=lightgbm_options, random_state=random_state,
                                  held_out_firm_share=held_out_firm_share)
    models: dict[str, object] = {"lightgbm": champion}
    if with_scorecard:
        models["scorecard"] = ScorecardPD().fit(X[fit_rows], y[fit_rows].astype(int))
    models["logistic"] = logistic_baseline(categorical, numeric, random_state).fit(X[fit_rows], y[fit_rows].astype(int))

    y_test, y_train = y[split.test].astype(int).to_numpy(), y[split.train].astype(int).to_numpy()
    importance = pd.Series(champion.booster_.feature_importance("gain"), index=feature_columns)
    evaluated = [
        EvaluatedModel(name, y_test, model.predict_proba(X[split.test])[:, 1], y_train=y_train,
                       pd_train=model.predict_proba(X[split.train])[:, 1],
                       feature_importance=importance if name == "lightgbm" else None)
        for name, model in models.items()
    ]
    return TrainedModels(split, list(feature_columns), models, evaluated)


def train_lightgbm(frame: pd.DataFrame, feature_columns: list[str], label: str, split: OutOfTimeSplit, *,
                   lightgbm_params: dict | None = None, lightgbm_options: dict | None = None, random_state: int = 0,
                   held_out_firm_share: float = HELD_OUT_FIRM_SHARE) -> LightGBMPD:
    """The PD model of :func:`train_on_panel`, in this process: rounds found on held-out firms, refitted, calibrated.

    The panel's windows must be labelled (:func:`train_on_panel` checks them first).
    """
    X, y = frame[feature_columns], frame[label].astype("float64")
    fit_rows = split.train | split.valid
    options = dict(lightgbm_options or {})
    calibration = options.pop("calibration", "sigmoid")
    stopping = fit_rows & held_out_firms(frame["firm_id"], held_out_firm_share)
    probe = LightGBMPD(params=lightgbm_params, random_state=random_state, calibration=None, **options).fit(
        X[fit_rows & ~stopping], y[fit_rows & ~stopping], X_valid=X[stopping], y_valid=y[stopping])
    rounds = math.ceil(probe.best_iteration_ / (1 - held_out_firm_share))
    return LightGBMPD(params=lightgbm_params, random_state=random_state, num_boost_round=rounds,
                      early_stopping_rounds=None, calibration=calibration).fit(
        X[fit_rows], y[fit_rows], X_calibrate=X[split.calibrate], y_calibrate=y[split.calibrate])


def oracle_pd(frame: pd.DataFrame, truth_folder: Path | str) -> np.ndarray:
    """The simulator's true 12-month PD of each panel row (``truth/firm_month.parquet`` at ``month_end == as_of``).

    Raises
    ------
    ValueError
        If a row has no truth (the panel does not come from that simulation, or an as-of date
        is not a month start).
    """
    truth = pd.read_parquet(Path(truth_folder) / "firm_month.parquet", columns=["firm_id", "month_end", "pd_12m"])
    truth = truth.rename(columns={"month_end": "as_of"}).astype({"as_of": "datetime64[us]"})
    rows = frame[["firm_id", "as_of"]].astype({"as_of": "datetime64[us]"})
    merged = rows.merge(truth, on=["firm_id", "as_of"], how="left", validate="one_to_one")
    absent = int(merged["pd_12m"].isna().sum())
    if absent:
        first = merged[merged["pd_12m"].isna()].iloc[0]
        raise ValueError(f"{absent} panel row(s) have no true PD in {truth_folder}, e.g. firm {int(first.firm_id)} "
                         f"at {pd.Timestamp(first.as_of).date()}")
    return merged["pd_12m"].to_numpy()
