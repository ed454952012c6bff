"""Train and evaluate the PD candidates on a labelled table an analyst brings.

:func:`train_on_table` runs the candidates of :func:`credit.models.training.train_on_panel`
(the LightGBM champion, the scorecard challenger and a logistic regression) on a
:class:`~credit.models.tables.LabelledTable` and returns them evaluated, ready for
:func:`credit.models.report.evaluation_report`. How it validates depends on the table:

* **With a time column**, rows are split out of time by their date into train / valid /
  calibrate / test windows holding about :data:`TIME_WINDOW_SHARES` (60/10/10/20%) of the
  rows. Rows of one date always share a window: a date's rows go to the window in which the
  share of rows dated before it falls (so a window may hold a little more or less than its
  share). There is no gap between the calibration and test windows: a table has no label
  horizon to leave out; leave it out of the table if the labels need one.
* **Without one**, it runs stratified K-fold cross-validation. In each fold the rows of the
  other folds train the models and the fold's rows are scored, so every row gets exactly one
  out-of-fold PD per candidate; the report's bootstrap intervals are over these pooled PDs.
  The per-fold AUCs are kept too. The final models are refitted on all rows the same way.

Every LightGBM fit needs an early-stopping set and a calibration set besides the rows it
learns from. Out of time they are the valid and calibrate windows; in cross-validation they
are carved, stratified, from the training folds in the same proportions as the time windows
(75 / 12.5 / 12.5% of them, as 60 / 10 / 10 is of the 80% before the test window), each
holding both classes. The scorecard and the logistic regression learn from all the training
folds (out of time: from the train and valid windows, as on the panel).

Small tables get LightGBM settings that suit them (:func:`small_table_lightgbm_params`):
fewer rows per leaf, one thread, and a sigmoid calibrator instead of isotonic regression
when the calibration set holds few defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from credit.models.metrics import auc
from credit.models.pd_model import DEFAULT_PARAMS, LightGBMPD
from credit.models.report import EvaluatedModel
from credit.models.scorecard import ScorecardPD
from credit.models.splits import OutOfTimeSplit, out_of_time_split
from credit.models.tables import LabelledTable
from credit.models.training import logistic_baseline

TIME_WINDOW_SHARES: dict[str, float] = {"train": 0.6, "valid": 0.1, "calibrate": 0.1, "test": 0.2}
"""Share of the rows in each out-of-time window, earliest first."""

STOPPING_SHARE = TIME_WINDOW_SHARES["valid"] / (1 - TIME_WINDOW_SHARES["test"])
CALIBRATION_SHARE = TIME_WINDOW_SHARES["calibrate"] / (1 - TIME_WINDOW_SHARES["test"])
"""Shares of a fold's training rows carved out for LightGBM's early stopping and calibration."""

ROWS_PER_LEAF_DIVISOR = 20
MIN_ROWS_PER_LEAF = 5
ISOTONIC_MIN_DEFAULTS = 50
"""Fewest defaults in a calibration set for isotonic calibration; below it, sigmoid."""
SINGLE_THREAD_ROWS = 10_000
"""Below this many booster rows LightGBM runs on one thread."""
FEW_TEST_DEFAULTS = 20
"""Out of time, a test window with fewer defaults gets a warning in the report's note."""

Validation = Literal["out-of-time", "cross-validation"]


@dataclass
class TableTraining:
    """The candidates trained on a table, how they were validated, and how they did.

    Attributes
    ----------
    validation : {"out-of-time", "cross-validation"}
        Which validation was used: out of time with a time column, else cross-validation.
    evaluated : list of EvaluatedModel
        One per candidate (``lightgbm``, ``scorecard``, ``logistic``): out of time, the test
        window's PDs; in cross-validation, every row's out-of-fold PD, rows in table order.
    models : dict
        Candidate name -> fitted model to log or serve. Out of time: the models evaluated
        (fitted before the test window). Cross-validation: refitted on all rows with the
        same recipe.
    feature_columns : list of str
        The model inputs, in order.
    split_description, note
        For :func:`~credit.models.report.evaluation_report`: the windows with their dates
        and row counts, or the cross-validation and why it was used; the note gives the
        per-fold AUCs.
    fold_metrics : pandas.DataFrame
        One row per fold and candidate: ``fold`` (0, 1, ... or ``"test"`` out of time),
        ``model``, ``rows``, ``defaults``, ``auc``.
    lightgbm_params : dict
        The LightGBM parameters of the final champion, after the small-table rule and the
        caller's overrides, with its ``calibration``.
    split : OutOfTimeSplit or None
        The windows, out of time.
    fold_of_row : ndarray of int or None
        In cross-validation, the fold that scored each row, in table order.
    """

    validation: Validation
    evaluated: list[EvaluatedModel]
    models: dict[str, object]
    feature_columns: list[str]
    split_description: dict[str, str] | str
    note: str
    fold_metrics: pd.DataFrame
    lightgbm_params: dict
    split: OutOfTimeSplit | None = None
    fold_of_row: np.ndarray | None = None

    def fold_auc(self) -> pd.DataFrame:
        """AUC over the folds by candidate: ``model``, ``folds``, ``auc_mean``, ``auc_std`` (ddof=1; NaN for one)."""
        return _fold_auc(self.fold_metrics)


def small_table_lightgbm_params(booster_rows: int, calibration_defaults: int) -> dict:
    """LightGBM settings that suit the number of rows, over :data:`~credit.models.pd_model.DEFAULT_PARAMS`.

    ``min_child_samples`` (and ``min_data_per_group``, its counterpart for a category) is
    one twentieth of the rows the booster learns from, between 5 and the panel default of
    50: the panel's 50 rows per leaf would leave a 200-row table a tree of one or two
    leaves, and LightGBM's default of 100 rows per category group would forbid categorical
    splits outright. ``calibration`` is ``"isotonic"`` when the calibration set holds at least
    :data:`ISOTONIC_MIN_DEFAULTS` defaults and ``"sigmoid"`` below: isotonic regression on a
    handful of defaults is a staircase of a few steps that ties many rows (costing AUC) and
    follows the noise, where Platt's sigmoid has two parameters. Below
    :data:`SINGLE_THREAD_ROWS` rows ``num_threads`` is 1: on a few hundred rows LightGBM's
    threads spend more time waiting on each other than working (a 300-row Berka fold took
    18 s on two threads and 0.5 s on one).

    Parameters
    ----------
    booster_rows
        Rows the booster learns from (not counting early-stopping and calibration rows).
    calibration_defaults
        Defaults in the calibration set.

    Returns
    -------
    dict
        LightGBM parameters plus the key ``calibration`` for :class:`LightGBMPD`.
    """
    per_leaf = int(np.clip(booster_rows // ROWS_PER_LEAF_DIVISOR, MIN_ROWS_PER_LEAF,
                           DEFAULT_PARAMS["min_child_samples"]))
    threads = {"num_threads": 1} if booster_rows < SINGLE_THREAD_ROWS else {}
    return {"min_child_samples": per_leaf, "min_data_per_group": per_leaf, **threads,
            "calibration": "isotonic" if calibration_defaults >= ISOTONIC_MIN_DEFAULTS else "sigmoid"}


def train_on_table(table: LabelledTable, *, folds: int = 5, lightgbm_params: dict | None = None,
                   num_boost_round: int = 2000, with_scorecard: bool = True,
                   random_state: int = 0) -> TableTraining:
    """Train the candidates on a labelled table and evaluate them out of time or by cross-validation.

    Parameters
    ----------
    table
        From :func:`credit.models.tables.read_labelled_table`; with ``times`` the validation
        is out of time, without it stratified cross-validation. Pandas ``category`` columns
        are categorical in every candidate (LightGBM's native categories, the scorecard's
        categorical binning, one-hot columns in the logistic regression).
    folds
        Number of cross-validation folds (ignored out of time).
    lightgbm_params
        LightGBM parameters over the small-table rule (:func:`small_table_lightgbm_params`);
        may include ``calibration`` (``"isotonic"``, ``"sigmoid"`` or None).
    num_boost_round
        Most boosting rounds of each LightGBM fit; early stopping usually stops sooner.
    with_scorecard
        Also train the scorecard challenger.
    random_state
        Seed of the fold shuffle, the carving of early-stopping and calibration rows, and
        the models.

    Returns
    -------
    TableTraining

    Raises
    ------
    ValueError
        If ``folds`` is not an integer >= 2; if the table has too few rows of a class for the
        validation (fewer bad rows than folds, or a fold whose training rows cannot give the
        booster, its early stopping and its calibration one row of each class); out of time,
        if the dates cannot be cut into four windows or a window lacks a class. The message
        names the class or window and the counts.
    """
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError(f"`folds` must be an integer >= 2; got {folds!r}.")
    if table.times is not None:
        return _out_of_time(table, lightgbm_params, num_boost_round, with_scorecard, random_state)
    return _cross_validated(table, int(folds), lightgbm_params, num_boost_round, with_scorecard, random_state)


# ---------------------------------------------------------------------------------------------
# The candidates


@dataclass
class _Candidates:
    models: dict[str, object]
    lightgbm_params: dict


def _fit_candidates(X: pd.DataFrame, y: np.ndarray, booster_rows: np.ndarray, stopping_rows: np.ndarray,
                    calibration_rows: np.ndarray, other_rows: np.ndarray, *, lightgbm_params: dict | None,
                    num_boost_round: int, with_scorecard: bool, random_state: int) -> _Candidates:
    """Fit the three candidates; ``other_rows`` train the scorecard and the logistic regression."""
    params = {**small_table_lightgbm_params(len(booster_rows), int(y[calibration_rows].sum())),
              **(lightgbm_params or {})}
    booster_params = {k: v for k, v in params.items() if k != "calibration"}
    champion = LightGBMPD(params=booster_params, num_boost_round=num_boost_round,
                          calibration=params["calibration"], random_state=random_state).fit(
        X.iloc[booster_rows], y[booster_rows], X_valid=X.iloc[stopping_rows], y_valid=y[stopping_rows],
        X_calibrate=X.iloc[calibration_rows], y_calibrate=y[calibration_rows])
    models: dict[str, object] = {"lightgbm": champion}
    if with_scorecard:
        models["scorecard"] = ScorecardPD().fit(X.iloc[other_rows], y[other_rows])
    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in X.columns if c not in categorical]
    models["logistic"] = logistic_baseline(categorical, numeric, random_state).fit(X.iloc[other_rows], y[other_rows])
    return _Candidates(models, params)


def _pd(model: object, X: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(X)[:, 1]


def _importance(models: dict[str, object], name: str, columns: list[str]) -> pd.Series | None:
    if name != "lightgbm":
        return None
    return pd.Series(models[name].booster_.feature_importance("gain"), index=columns)


# ---------------------------------------------------------------------------------------------
# Cross-validation


def _cross_validated(table: LabelledTable, folds: int, lightgbm_params: dict | None, num_boost_round: int,
                     with_scorecard: bool, random_state: int) -> TableTraining:
    X, y = table.features, table.target.to_numpy().astype(int)
    _check_classes_for_folds(y, folds)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    fold_of_row = np.full(len(y), -1)
    out_of_fold: dict[str, np.ndarray] = {}
    metrics = []
    for fold, (training, scored) in enumerate(splitter.split(X, y)):
        fold_of_row[scored] = fold
        candidates = _fit_carved(X, y, training, fold, lightgbm_params, num_boost_round, with_scorecard,
                                 random_state)
        for name, model in candidates.models.items():
            pd_fold = _pd(model, X.iloc[scored])
            out_of_fold.setdefault(name, np.full(len(y), np.nan))[scored] = pd_fold
            metrics.append({"fold": fold, "model": name, "rows": len(scored), "defaults": int(y[scored].sum()),
                            "auc": auc(y[scored], pd_fold)})
    final = _fit_carved(X, y, np.arange(len(y)), folds, lightgbm_params, num_boost_round, with_scorecard,
                        random_state)
    columns = list(X.columns)
    evaluated = [
        EvaluatedModel(name, y, out_of_fold[name], y_train=y, pd_train=_pd(model, X),
                       feature_importance=_importance(final.models, name, columns))
        for name, model in final.models.items()
    ]
    fold_metrics = pd.DataFrame(metrics, columns=["fold", "model", "rows", "defaults", "auc"])
    description = (f"stratified {folds}-fold cross-validation: no time column was given ({len(y)} rows, "
                   f"{int(y.sum())} bad; each row is scored by the models of the fold that held it out)")
    per_fold = "; ".join(f"{row.model} {row.auc_mean:.3f} ± {row.auc_std:.3f}"
                         for row in _fold_auc(fold_metrics).itertuples())
    note = ("No time column: the rows are cross-validated, not split out of time, so the test PDs are the "
            "pooled out-of-fold PDs and the intervals are over them; a model that leans on a trend over time "
            f"is not caught. Per-fold AUC (mean ± sd over {folds} folds): {per_fold}. The train columns are "
            "the final models, refitted on all rows, scoring the rows they learnt from.")
    return TableTraining("cross-validation", evaluated, final.models, columns, description, note, fold_metrics,
                         final.lightgbm_params, fold_of_row=fold_of_row)


def _fold_auc(fold_metrics: pd.DataFrame) -> pd.DataFrame:
    grouped = fold_metrics.groupby("model", sort=False)["auc"]
    return pd.DataFrame({"folds": grouped.size(), "auc_mean": grouped.mean(),
                         "auc_std": grouped.std(ddof=1)}).reset_index()


def _check_classes_for_folds(y: np.ndarray, folds: int) -> None:
    for value, name in ((1, "bad"), (0, "good")):
        count = int((y == value).sum())
        if count < folds:
            raise ValueError(f"the table has {count} {name} row(s), fewer than the {folds} folds: every fold "
                             f"needs one to score; use at most {count} folds, or more labelled rows.")
        # a fold's training rows must give the booster, its early stopping and its calibration one each
        in_training = count - -(-count // folds)
        if in_training < 3:
            raise ValueError(f"the table has {count} {name} row(s): with {folds} folds a fold's training "
                             f"rows hold only {in_training}, and LightGBM needs one each to learn from, to "
                             "stop early on and to calibrate on; use fewer folds or more labelled rows.")


def _fit_carved(X: pd.DataFrame, y: np.ndarray, training: np.ndarray, seed: int, lightgbm_params: dict | None,
                num_boost_round: int, with_scorecard: bool, random_state: int) -> _Candidates:
    booster, stopping, calibration = _carve(y, training, np.random.default_rng([random_state, seed]))
    return _fit_candidates(X, y, booster, stopping, calibration, training, lightgbm_params=lightgbm_params,
                           num_boost_round=num_boost_round, with_scorecard=with_scorecard,
                           random_state=random_state)


def _carve(y: np.ndarray, training: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Booster, early-stopping and calibration rows of ``training``, stratified, each with both classes."""
    parts: tuple[list, list, list] = ([], [], [])
    for value in (0, 1):
        rows = rng.permutation(training[y[training] == value])
        stopping = max(1, round(len(rows) * STOPPING_SHARE))
        calibration = max(1, round(len(rows) * CALIBRATION_SHARE))
        parts[0].append(rows[stopping + calibration:])
        parts[1].append(rows[:stopping])
        parts[2].append(rows[stopping:stopping + calibration])
    return tuple(np.sort(np.concatenate(part)) for part in parts)


# ---------------------------------------------------------------------------------------------
# Out of time


def _out_of_time(table: LabelledTable, lightgbm_params: dict | None, num_boost_round: int, with_scorecard: bool,
                 random_state: int) -> TableTraining:
    X, y = table.features, table.target.to_numpy().astype(int)
    time_name = table.times.name or "time"
    days = pd.to_datetime(table.times).dt.normalize().reset_index(drop=True)
    split = _time_windows(days, time_name)
    for window in TIME_WINDOW_SHARES:
        mask = getattr(split, window)
        defaults, rows = int(y[mask].sum()), int(mask.sum())
        if defaults in (0, rows):
            raise ValueError(f"the {window} window of {time_name!r} ({_dates(days[mask])}) holds {rows} rows of "
                             f"which {defaults} bad: it needs both bad and good rows; leave out the time "
                             "column to cross-validate instead.")
    train, valid, calibrate, test = (np.flatnonzero(getattr(split, w)) for w in TIME_WINDOW_SHARES)
    candidates = _fit_candidates(X, y, train, valid, calibrate, np.sort(np.concatenate([train, valid])),
                                 lightgbm_params=lightgbm_params, num_boost_round=num_boost_round,
                                 with_scorecard=with_scorecard, random_state=random_state)
    columns = list(X.columns)
    evaluated, metrics = [], []
    for name, model in candidates.models.items():
        pd_test = _pd(model, X.iloc[test])
        evaluated.append(EvaluatedModel(name, y[test], pd_test, y_train=y[train], pd_train=_pd(model, X.iloc[train]),
                                        feature_importance=_importance(candidates.models, name, columns)))
        metrics.append({"fold": "test", "model": name, "rows": len(test), "defaults": int(y[test].sum()),
                        "auc": auc(y[test], pd_test)})
    description = {window: f"{_dates(days[getattr(split, window)])}: {int(getattr(split, window).sum())} rows, "
                           f"{int(y[getattr(split, window)].sum())} bad"
                   for window in TIME_WINDOW_SHARES}
    shares = "/".join(f"{share:.0%}" for share in TIME_WINDOW_SHARES.values())
    note = (f"Out of time by {time_name!r}: the rows are cut by date into train/valid/calibrate/test windows of "
            f"about {shares} of the rows, the rows of one date in one window. LightGBM learns from the train "
            "window, stops early on valid and is calibrated on calibrate; the scorecard and the logistic "
            "regression learn from train and valid.")
    test_defaults = int(y[test].sum())
    if test_defaults < FEW_TEST_DEFAULTS:
        note += (f" Only {test_defaults} default(s) in the test window: its AUC rests on them and the bootstrap "
                 "interval cannot show how little that is; leave out the time column to cross-validate on "
                 "all the rows.")
    return TableTraining("out-of-time", evaluated, candidates.models, columns, description, note,
                         pd.DataFrame(metrics, columns=["fold", "model", "rows", "defaults", "auc"]),
                         candidates.lightgbm_params, split=split)


def _time_windows(days: pd.Series, time_name: str) -> OutOfTimeSplit:
    """Windows of about :data:`TIME_WINDOW_SHARES` of the rows; a date goes where the rows before it end."""
    per_day = days.value_counts().sort_index()
    before = (per_day.cumsum() - per_day) / len(days)
    edges = []
    for share in np.cumsum(list(TIME_WINDOW_SHARES.values()))[:-1]:
        later = per_day.index[before.to_numpy() >= share - 1e-12]
        edges.append(later[0] if len(later) else None)
    if any(edge is None for edge in edges) or len(set(edges)) < len(edges) or edges[0] == per_day.index[0]:
        busiest = per_day.idxmax()
        raise ValueError(f"the dates of {time_name!r} cannot be cut into train, valid, calibrate and test windows "
                         f"of about {', '.join(f'{s:.0%}' for s in TIME_WINDOW_SHARES.values())} of the rows: "
                         f"{len(per_day)} distinct date(s), the busiest ({busiest.date()}) holding "
                         f"{per_day.max()} of {len(days)} rows; leave out the time column to cross-validate instead.")
    train_end, valid_end, calibrate_end = (edge.date() for edge in edges)
    return out_of_time_split(days, train_end, valid_end, calibrate_end, calibrate_end)


def _dates(days: pd.Series) -> str:
    return f"{days.min().date()} to {days.max().date()}"
