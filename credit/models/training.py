"""Train the PD candidates on a feature panel out of time and evaluate them on the same test rows.

:func:`train_on_panel` fits the LightGBM champion candidate (:class:`LightGBMPD`, stopped on
the validation window and calibrated on the calibration window), the scorecard challenger
(:class:`ScorecardPD`) and a plain logistic regression on the raw features, each on rows
before the test window only, and returns them with their test-window PDs ready for
:func:`credit.models.report.evaluation_report`. :func:`oracle_pd` reads the simulator's true
12-month PD for the same rows, so the report can show the gap to the best achievable model.
"""

from __future__ import annotations

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
from credit.models.splits import OutOfTimeSplit


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
                   with_scorecard: bool = True, random_state: int = 0) -> TrainedModels:
    """Fit the candidates on the windows before the test window and predict the test window.

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
        Other :class:`LightGBMPD` arguments: ``num_boost_round``, ``early_stopping_rounds``,
        ``calibration``.

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
    fit_rows = split.train | split.valid  # the candidates without early stopping learn from both windows

    champion = LightGBMPD(params=lightgbm_params, random_state=random_state, **(lightgbm_options or {})).fit(
        X[split.train], y[split.train], X_valid=X[split.valid], y_valid=y[split.valid],
        X_calibrate=X[split.calibrate], y_calibrate=y[split.calibrate])
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
