"""Train the PD candidates on a labelled table an analyst brings, choose the champion, evaluate it honestly.

:func:`train_on_table` fits four candidates on a :class:`~credit.models.tables.LabelledTable`:

* ``lightgbm``: a :class:`~credit.models.pd_model.CrossFittedLightGBMPD` whose parameters
  Optuna tunes first (:func:`tune_table_lightgbm`); its booster learns from every training
  row and its calibrator (``calibration``: sigmoid, isotonic or none) is fitted on the
  inner folds' out-of-fold scores;
* ``scorecard``: :class:`~credit.models.scorecard.ScorecardPD` (optbinning WoE + logistic);
* ``logistic``: :func:`~credit.models.training.logistic_baseline` (medians, standardised
  numbers, one-hot categories);
* ``blend``: :class:`AveragePD`, the arithmetic mean of the other candidates' PDs.

**The champion rule, fixed before any test row is scored**: on the rows a model may learn
from, stratified inner folds (``inner_folds``, shuffled with the seed) give every row an
out-of-fold PD from each candidate. The blend is the champion unless a single model beats it
beyond noise: its AUC of those pooled out-of-fold PDs is higher than the blend's and the
paired bootstrap interval of the difference (:data:`NOISE_LEVEL`, :data:`NOISE_RESAMPLES`
resamples of the rows) lies wholly above zero, i.e. it wins by more than about one standard
error. Of the single models that do, the one with the highest inner AUC wins; an exact tie
goes to the simpler, in the order of :data:`CANDIDATES` (logistic, scorecard, lightgbm).

Why the blend by default: the inner AUCs of a few hundred defaults differ by less than their
noise, and picking the highest of four noisy numbers picks noise (on 392 Berka loans the
highest inner AUC chose LightGBM, 0.834 out of fold, over the blend's 0.881). The mean of
the calibrated PDs of models that err differently is rarely much worse than the best of them
and often better, and LightGBM's inner AUC is optimistic besides, its parameters tuned on the
same inner folds. The outer evaluation below carries no such bias.

How it validates depends on the table:

* **Without a time column**, stratified K-fold cross-validation (the outer folds:
  ``StratifiedKFold(folds, shuffle=True, random_state)``). In each outer fold the candidates
  are fitted on the other folds' rows, the champion is chosen by those rows' inner folds
  alone, and the fold's rows are scored, so each row gets one out-of-fold PD per candidate
  and one from its fold's champion (``champion``): nested, an honest estimate of the whole
  recipe, choice included. The final models are refitted on all rows and the final champion
  chosen by the same rule on all rows.
* **With a time column**, the latest :data:`TEST_SHARE` of the rows by date is the test
  window and stays out of time; everything before it trains the candidates, and the inner
  folds that tune LightGBM, cross-fit its calibrator and choose the champion are stratified
  folds of those earlier rows (not out of time within them). Rows of one date share a window.

All PDs lie in [:data:`~credit.models.pd_model.PD_CLIP`, 1 - PD_CLIP].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import optuna
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedKFold

from credit.models.metrics import auc, bootstrap_auc_difference
from credit.models.pd_model import (
    DEFAULT_PARAMS,
    PD_CLIP,
    RISK_DIRECTIONS,
    CrossFittedLightGBMPD,
    cross_validate_booster,
    inner_splits,
)
from credit.models.report import EvaluatedModel
from credit.models.scorecard import ScorecardPD
from credit.models.tables import LabelledTable
from credit.models.training import logistic_baseline

CANDIDATES = ("logistic", "scorecard", "lightgbm", "blend")
"""The candidates, simplest first: an exact tie of inner AUC goes to the earlier one."""
BLENDED = ("lightgbm", "scorecard", "logistic")
"""The candidates whose PDs the blend averages (those trained)."""

NOISE_LEVEL = 0.68
"""A single model replaces the blend when the two-sided interval at this level of its paired AUC
difference with the blend lies above zero: about one standard error, the one-standard-error rule."""
NOISE_RESAMPLES = 200
"""Bootstrap resamples of the inner out-of-fold rows for that interval (seeded by ``random_state``)."""

TEST_SHARE = 0.2
"""Out of time, the share of the rows (the latest by date) in the test window."""

TABLE_SEARCH_SPACE: dict[str, tuple[float, float, bool]] = {
    "learning_rate": (0.02, 0.2, True),
    "num_leaves": (4, 64, True),
    "min_child_samples": (5, 200, True),
    "feature_fraction": (0.3, 1.0, False),
    "bagging_fraction": (0.5, 1.0, False),
    "lambda_l2": (1e-3, 100.0, True),
}
"""(low, high, log scale) of each tuned LightGBM parameter; integer bounds give an integer range.

Tables range from a few hundred to tens of thousands of rows, so ``min_child_samples`` goes
down to 5 (the panel's search starts at 20) and ``num_leaves`` up to 64 on a log scale. The
learning rate starts at 0.02, not 0.01: early stopping finds the rounds, and a slower rate
mostly buys time with the accuracy it adds inside the noise of an inner AUC."""

FIRST_TRIAL: dict[str, float] = {"learning_rate": 0.05, "num_leaves": 15, "feature_fraction": 0.7,
                                 "bagging_fraction": 0.8, "lambda_l2": 5.0}
"""Trial 0: a plain LightGBM (with ``min_child_samples`` from :func:`small_table_lightgbm_params`),
so the search never picks parameters that do worse on the inner folds than it."""

ROWS_PER_LEAF_DIVISOR = 20
MIN_ROWS_PER_LEAF = 5
FEW_TEST_DEFAULTS = 20
"""Out of time, a test window with fewer defaults gets a warning in the report's note."""

Validation = Literal["out-of-time", "cross-validation"]


def mean_pd(pds: list[np.ndarray]) -> np.ndarray:
    """The rows' mean of several models' PDs, clipped to [PD_CLIP, 1 - PD_CLIP]: the blend's PD."""
    return np.clip(np.mean(pds, axis=0), PD_CLIP, 1 - PD_CLIP)


class AveragePD(ClassifierMixin, BaseEstimator):
    """The mean of fitted PD models' PDs, clipped to [PD_CLIP, 1 - PD_CLIP]; one member gives that member's PD.

    The ``blend`` candidate averages :data:`BLENDED`; a scorecard or logistic champion is
    registered as an AveragePD of itself, so its PDs are clipped as they were when evaluated.

    Parameters
    ----------
    members : dict
        Name -> fitted model with ``predict_proba``, all on the same feature columns.
    """

    def __init__(self, members: dict[str, object]) -> None:
        self.members = members

    @property
    def feature_names_in_(self) -> np.ndarray:
        return np.asarray(next(iter(self.members.values())).feature_names_in_, dtype=object)

    @property
    def classes_(self) -> np.ndarray:
        return np.array([0, 1])

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities, shape (rows, 2): column 1 is the PD."""
        pd_ = mean_pd([model.predict_proba(X)[:, 1] for model in self.members.values()])
        return np.column_stack([1 - pd_, pd_])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


@dataclass(frozen=True)
class TableWindows:
    """Out of time: the row masks of the training rows and of the test window (the latest rows)."""

    train: np.ndarray
    test: np.ndarray


@dataclass
class TableTraining:
    """The candidates trained on a table, the champion, how they were validated, and how they did.

    Attributes
    ----------
    validation : {"out-of-time", "cross-validation"}
    evaluated : list of EvaluatedModel
        ``champion`` first (each outer fold's own champion's PDs), then each candidate: out
        of time, the test window's PDs; in cross-validation, every row's out-of-fold PD.
    models : dict
        Candidate name -> the final fitted model (refitted on all rows in cross-validation;
        fitted before the test window out of time).
    champion : str
        The final champion's name, chosen by the inner folds of all the training rows.
    feature_columns : list of str
    split_description, note
        For the report; the note states the champion rule and each candidate's inner AUC.
    fold_metrics : pandas.DataFrame
        ``fold`` (0, 1, ... or ``"test"``), ``model`` (the candidates and ``champion``),
        ``rows``, ``defaults``, ``auc``.
    inner_auc : pandas.DataFrame
        ``fold`` (outer fold, or ``"final"``: the registered champion's, on all the training
        rows), ``model``, ``inner_auc``, ``margin_low`` (a single model's low end of the
        :data:`NOISE_LEVEL` interval of its inner AUC minus the blend's; empty for the blend),
        ``champion`` (bool): what chose each champion.
    out_of_fold : pandas.DataFrame
        One row per table row in table order: ``row``, ``fold`` (outer fold number, or
        ``"test"``/``"train"`` out of time, where the train rows get their inner out-of-fold
        PDs), ``target``, ``champion`` and one column per candidate.
    lightgbm_params : dict
        The final LightGBM model's parameters (tuned), with its ``calibration`` and ``rounds``.
    split : TableWindows or None
    fold_of_row : ndarray of int or None
    """

    validation: Validation
    evaluated: list[EvaluatedModel]
    models: dict[str, object]
    champion: str
    feature_columns: list[str]
    split_description: dict[str, str] | str
    note: str
    fold_metrics: pd.DataFrame
    inner_auc: pd.DataFrame
    out_of_fold: pd.DataFrame
    lightgbm_params: dict
    split: TableWindows | None = None
    fold_of_row: np.ndarray | None = None

    @property
    def champion_model(self) -> object:
        """The final champion as it is registered: LightGBM itself, the others as an :class:`AveragePD`."""
        model = self.models[self.champion]
        return model if isinstance(model, (CrossFittedLightGBMPD, AveragePD)) else AveragePD({self.champion: model})

    def fold_auc(self) -> pd.DataFrame:
        """AUC over the folds by model: ``model``, ``folds``, ``auc_mean``, ``auc_std`` (ddof=1; NaN for one)."""
        grouped = self.fold_metrics.groupby("model", sort=False)["auc"]
        return pd.DataFrame({"folds": grouped.size(), "auc_mean": grouped.mean(),
                             "auc_std": grouped.std(ddof=1)}).reset_index()


def small_table_lightgbm_params(rows: int) -> dict:
    """LightGBM settings that suit the number of rows, over :data:`~credit.models.pd_model.DEFAULT_PARAMS`.

    ``min_child_samples`` (and ``min_data_per_group``, its counterpart for a category) is
    one twentieth of the rows, between 5 and the panel default of 50: the panel's 50 rows per
    leaf would leave a 200-row table a tree of one or two leaves, and LightGBM's default of
    100 rows per category group would forbid categorical splits outright. ``num_threads`` is
    1: on the 2-core reference machine, shared, 200 rounds on 16,000 rows took 13.7 s on two
    threads and 1.2 s on one (the threads wait on each other), and the candidates run one
    after another anyway.
    """
    per_leaf = int(np.clip(rows // ROWS_PER_LEAF_DIVISOR, MIN_ROWS_PER_LEAF, DEFAULT_PARAMS["min_child_samples"]))
    return {"min_child_samples": per_leaf, "min_data_per_group": per_leaf, "num_threads": 1}


def tune_table_lightgbm(X: pd.DataFrame, y: np.ndarray, *, trials: int, inner_folds: int, base_params: dict,
                        num_boost_round: int, early_stopping_rounds: int, random_state: int) -> dict:
    """LightGBM parameters with the highest inner-fold AUC after ``trials`` Optuna trials.

    Each trial boosts on the stratified inner folds at once (``lgb.cv``) with early stopping
    on the mean held-out log loss, and scores the mean held-out AUC there. Trial 0 is
    ``base_params`` with :data:`FIRST_TRIAL`; the sampler is TPE seeded with ``random_state``
    and there is no timeout, so the same seed and table give the same parameters. The budget
    is the number of trials: on 24,000 rows x 24 columns a trial took 4.6 s on the 2-core
    reference machine while it was shared (load average ~8); see ``[tuning] table_trials``
    in ``credit/models/model.toml``.

    Returns
    -------
    dict
        ``base_params`` with the best trial's values over them.
    """
    splits = inner_splits(y, inner_folds, random_state)
    constraints = [RISK_DIRECTIONS.get(name, 0) for name in X.columns]
    fixed = {**DEFAULT_PARAMS, **base_params, "seed": random_state, "monotone_constraints": constraints}

    def objective(trial: optuna.Trial) -> float:
        sampled = {}
        for name, (low, high, log) in TABLE_SEARCH_SPACE.items():
            if isinstance(low, int) and isinstance(high, int):
                sampled[name] = trial.suggest_int(name, low, high, log=log)
            else:
                sampled[name] = trial.suggest_float(name, low, high, log=log)
        return cross_validate_booster({**fixed, **sampled}, X, y, splits, num_boost_round=num_boost_round,
                                      early_stopping_rounds=early_stopping_rounds).auc

    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one INFO line per trial otherwise
    try:
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=random_state))
        first = {**FIRST_TRIAL, "min_child_samples": base_params.get("min_child_samples", 20)}
        study.enqueue_trial({name: value for name, value in first.items() if name in TABLE_SEARCH_SPACE})
        study.optimize(objective, n_trials=trials)
    finally:
        optuna.logging.set_verbosity(previous)
    return {**base_params, **study.best_params}


def train_on_table(table: LabelledTable, *, folds: int = 5, inner_folds: int = 3, tuning_trials: int = 8,
                   calibration: str | None = "sigmoid", lightgbm_params: dict | None = None,
                   num_boost_round: int = 2000, early_stopping_rounds: int = 50, with_scorecard: bool = True,
                   random_state: int = 0) -> TableTraining:
    """Train the candidates, choose the champion by inner validation, and evaluate out of time or nested.

    Parameters
    ----------
    table
        From :func:`credit.models.tables.read_labelled_table`; with ``times`` the test window
        is out of time, without it the evaluation is nested cross-validation. Pandas
        ``category`` columns are categorical in every candidate.
    folds
        Outer cross-validation folds (ignored out of time).
    inner_folds
        Inner stratified folds of each training set: LightGBM's tuning, early stopping and
        cross-fitted calibration, and the champion's choice.
    tuning_trials
        Optuna trials per training set; 0 keeps ``lightgbm_params`` untuned.
    calibration
        ``"sigmoid"``, ``"isotonic"`` or None: LightGBM's calibrator, in every fold and the final model.
    lightgbm_params
        LightGBM parameters over the small-table rule (:func:`small_table_lightgbm_params`);
        the tuning replaces those it searches.
    num_boost_round, early_stopping_rounds
        Most boosting rounds, and rounds without improvement of the inner log loss before stopping.
    with_scorecard
        Also train the scorecard (it is then also in the blend).
    random_state
        Seed of the outer and inner folds, the tuning and the models.

    Returns
    -------
    TableTraining

    Raises
    ------
    ValueError
        If ``folds``, ``inner_folds`` or ``tuning_trials`` is out of range; if the table has
        fewer rows of a class than the folds need; out of time, if the dates cannot be cut or
        a window lacks a class. The message names the class or window and the counts.
    """
    for name, value, low in (("folds", folds, 2), ("inner_folds", inner_folds, 2), ("tuning_trials", tuning_trials, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"`{name}` must be an integer >= {low}; got {value!r}.")
    if calibration not in ("sigmoid", "isotonic", None):
        raise ValueError(f"`calibration` must be 'sigmoid', 'isotonic' or None; got {calibration!r}.")
    recipe = _Recipe(int(inner_folds), int(tuning_trials), calibration, dict(lightgbm_params or {}), num_boost_round,
                     early_stopping_rounds, with_scorecard, random_state)
    if table.times is not None:
        return _out_of_time(table, recipe)
    return _cross_validated(table, int(folds), recipe)


# ---------------------------------------------------------------------------------------------
# The candidates and the champion rule


@dataclass(frozen=True)
class _Recipe:
    inner_folds: int
    tuning_trials: int
    calibration: str | None
    lightgbm_params: dict
    num_boost_round: int
    early_stopping_rounds: int
    with_scorecard: bool
    random_state: int


@dataclass
class _Fitted:
    models: dict[str, object]
    inner_auc: dict[str, float]
    margin_low: dict[str, float]
    """Each single model's low end of the paired interval of its inner AUC minus the blend's."""
    inner_pd: dict[str, np.ndarray]
    champion: str
    lightgbm_params: dict


def _fit_candidates(X: pd.DataFrame, y: np.ndarray, recipe: _Recipe) -> _Fitted:
    """Fit every candidate on (X, y), their inner out-of-fold PDs, and the champion by the rule."""
    params = {**small_table_lightgbm_params(len(y)), **recipe.lightgbm_params}
    if recipe.tuning_trials:
        params = tune_table_lightgbm(X, y, trials=recipe.tuning_trials, inner_folds=recipe.inner_folds,
                                     base_params=params, num_boost_round=recipe.num_boost_round,
                                     early_stopping_rounds=recipe.early_stopping_rounds,
                                     random_state=recipe.random_state)
    lightgbm = CrossFittedLightGBMPD(params=params, num_boost_round=recipe.num_boost_round,
                                     early_stopping_rounds=recipe.early_stopping_rounds,
                                     calibration=recipe.calibration, random_state=recipe.random_state,
                                     inner_folds=recipe.inner_folds).fit(X, y)
    models: dict[str, object] = {"lightgbm": lightgbm}
    inner_pd = {"lightgbm": lightgbm.oof_pd_}
    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in X.columns if c not in categorical]
    makers = {"logistic": lambda: logistic_baseline(categorical, numeric, recipe.random_state)}
    if recipe.with_scorecard:
        makers["scorecard"] = ScorecardPD
    splits = inner_splits(y, recipe.inner_folds, recipe.random_state)  # the folds LightGBM cross-fitted on
    for name, make in makers.items():
        out_of_fold = np.full(len(y), np.nan)
        for training, held_out in splits:
            out_of_fold[held_out] = _pd(make().fit(X.iloc[training], y[training]), X.iloc[held_out])
        inner_pd[name] = out_of_fold
        models[name] = make().fit(X, y)
    blended = [name for name in BLENDED if name in models]
    models["blend"] = AveragePD({name: models[name] for name in blended})
    inner_pd["blend"] = mean_pd([inner_pd[name] for name in blended])
    order = [name for name in CANDIDATES if name in models]
    models = {name: models[name] for name in order}
    inner_auc = {name: auc(y, inner_pd[name]) for name in order}
    margin_low = {name: bootstrap_auc_difference(y, inner_pd[name], inner_pd["blend"], n=NOISE_RESAMPLES,
                                                 level=NOISE_LEVEL, random_state=recipe.random_state).low
                  for name in blended}
    champion = choose_champion(inner_auc, margin_low, order)
    return _Fitted(models, inner_auc, margin_low, {name: inner_pd[name] for name in order}, champion,
                   {**params, "calibration": recipe.calibration, "rounds": lightgbm.best_iteration_})


def choose_champion(inner_auc: dict[str, float], margin_low: dict[str, float], order: list[str]) -> str:
    """The blend, unless single models beat it beyond noise; then the best of those (a tie to the simpler).

    ``margin_low`` holds, for each single model, the low end of the :data:`NOISE_LEVEL` paired
    bootstrap interval of its inner AUC minus the blend's; ``order`` lists the candidates simplest
    first.
    """
    beyond_noise = [name for name, low in margin_low.items() if low > 0]
    if not beyond_noise:
        return "blend"
    return max(beyond_noise, key=lambda name: (inner_auc[name], -order.index(name)))


def _pd(model: object, X: pd.DataFrame) -> np.ndarray:
    return np.clip(model.predict_proba(X)[:, 1], PD_CLIP, 1 - PD_CLIP)


def _importance(models: dict[str, object], name: str, columns: list[str]) -> pd.Series | None:
    if name != "lightgbm":
        return None
    return pd.Series(models[name].booster_.feature_importance("gain"), index=columns)


def _inner_rows(fold: int | str, fitted: _Fitted) -> list[dict]:
    return [{"fold": fold, "model": name, "inner_auc": value, "margin_low": fitted.margin_low.get(name, np.nan),
             "champion": name == fitted.champion}
            for name, value in fitted.inner_auc.items()]


def _rule(recipe: _Recipe, names: list[str]) -> str:
    blended = " + ".join(name for name in BLENDED if name in names)
    return (f"Champion rule, fixed before the test: the blend (the mean of the PDs of {blended}) wins unless a single "
            f"model's AUC of the pooled out-of-fold PDs of {recipe.inner_folds} stratified inner folds of its training "
            f"rows beats the blend's beyond noise (the {NOISE_LEVEL:.0%} paired bootstrap interval of the difference, "
            f"{NOISE_RESAMPLES} resamples, wholly above zero); of those that do, the highest wins, an exact tie going to "
            f"the simpler, in the order {', '.join(names)}. LightGBM is "
            f"tuned first by {recipe.tuning_trials} Optuna trials (TPE, seed {recipe.random_state}) on the same inner "
            "folds, which makes its inner AUC slightly optimistic; its calibrator "
            f"({recipe.calibration or 'none'}) is fitted on its inner out-of-fold scores and its booster learns from "
            f"every training row. PDs are kept within [{PD_CLIP:g}, {1 - PD_CLIP:g}].")


def champion_reason(champion: str, inner_auc: dict[str, float], margin_low: dict[str, float], rows: str) -> str:
    """Why ``champion`` won, in words: e.g. ``blend: no single model beat the blend beyond noise on ...``.

    ``rows`` names the rows whose inner folds chose it ("the training rows", "all 392 rows").
    """
    aucs = ", ".join(f"{name} {value:.4f}" for name, value in inner_auc.items())
    if champion == "blend":
        return f"blend: no single model beat the blend beyond noise on the inner folds of {rows} (inner AUC {aucs})"
    return (f"{champion}: it beat the blend beyond noise on the inner folds of {rows} (inner AUC {aucs}; the low end "
            f"of the {NOISE_LEVEL:.0%} interval of its margin over the blend {margin_low[champion]:+.4f})")


# ---------------------------------------------------------------------------------------------
# Nested cross-validation


def _cross_validated(table: LabelledTable, folds: int, recipe: _Recipe) -> TableTraining:
    X, y = table.features, table.target.to_numpy().astype(int)
    _check_classes_for_folds(y, folds, recipe.inner_folds)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=recipe.random_state)
    fold_of_row = np.full(len(y), -1)
    out_of_fold: dict[str, np.ndarray] = {}
    metrics, inner, champions = [], [], []
    for fold, (training, scored) in enumerate(splitter.split(X, y)):
        fold_of_row[scored] = fold
        fitted = _fit_candidates(X.iloc[training], y[training], recipe)
        champions.append(fitted.champion)
        inner += _inner_rows(fold, fitted)
        scores = {name: _pd(model, X.iloc[scored]) for name, model in fitted.models.items()}
        scores = {"champion": scores[fitted.champion], **scores}
        for name, pd_fold in scores.items():
            out_of_fold.setdefault(name, np.full(len(y), np.nan))[scored] = pd_fold
            metrics.append({"fold": fold, "model": name, "rows": len(scored), "defaults": int(y[scored].sum()),
                            "auc": auc(y[scored], pd_fold)})
    final = _fit_candidates(X, y, recipe)
    inner += _inner_rows("final", final)
    columns = list(X.columns)
    final_models = {"champion": final.models[final.champion], **final.models}
    evaluated = [EvaluatedModel(name, y, out_of_fold[name], y_train=y, pd_train=_pd(model, X),
                                feature_importance=_importance(final.models, name, columns))
                 for name, model in final_models.items()]
    fold_metrics = pd.DataFrame(metrics, columns=["fold", "model", "rows", "defaults", "auc"])
    description = (f"stratified {folds}-fold cross-validation: no time column was given ({len(y)} rows, "
                   f"{int(y.sum())} bad; each row is scored by the models of the outer fold that held it out, the "
                   f"champion of that fold chosen by {recipe.inner_folds} inner folds of its training rows only)")
    training = TableTraining("cross-validation", evaluated, final.models, final.champion, columns, description, "",
                             fold_metrics, pd.DataFrame(inner), _out_of_fold_table(y, fold_of_row, out_of_fold),
                             final.lightgbm_params, fold_of_row=fold_of_row)
    per_fold = "; ".join(f"{row.model} {row.auc_mean:.3f} ± {row.auc_std:.3f}"
                         for row in training.fold_auc().itertuples())
    training.note = (
        f"The champion is {champion_reason(final.champion, final.inner_auc, final.margin_low, f'all {len(y)} rows')}. "
        f"{_rule(recipe, list(final.models))} The outer folds' champions were "
        f"{', '.join(champions)}: the row 'champion' holds each fold's champion's PDs, so its AUC is that of the whole "
        "recipe, choice included. No time column: the rows are cross-validated, not split out of time, so a model "
        f"that leans on a trend over time is not caught. Per-fold AUC (mean ± sd over {folds} folds): {per_fold}. "
        "The train columns are the final models, refitted on all rows, scoring the rows they learnt from.")
    return training


def _out_of_fold_table(y: np.ndarray, fold: np.ndarray, pds: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame({"row": np.arange(len(y)), "fold": fold, "target": y, **pds})


def _check_classes_for_folds(y: np.ndarray, folds: int, inner_folds: int) -> None:
    for value, name in ((1, "bad"), (0, "good")):
        count = int((y == value).sum())
        if count < folds:
            raise ValueError(f"the table has {count} {name} row(s), fewer than the {folds} folds: every fold "
                             f"needs one to score; use at most {count} folds, or more labelled rows.")
        in_training = count - -(-count // folds)
        if in_training < inner_folds:
            raise ValueError(f"the table has {count} {name} row(s): with {folds} folds a fold's training rows hold "
                             f"only {in_training}, fewer than the {inner_folds} inner folds that tune, calibrate "
                             "and choose the champion; use fewer folds or more labelled rows.")


# ---------------------------------------------------------------------------------------------
# Out of time


def _out_of_time(table: LabelledTable, recipe: _Recipe) -> TableTraining:
    X, y = table.features, table.target.to_numpy().astype(int)
    time_name = table.times.name or "time"
    days = pd.to_datetime(table.times).dt.normalize().reset_index(drop=True)
    windows = _time_windows(days, time_name)
    for window in ("train", "test"):
        mask = getattr(windows, window)
        defaults, rows = int(y[mask].sum()), int(mask.sum())
        needed = recipe.inner_folds if window == "train" else 1
        if min(defaults, rows - defaults) < needed:
            raise ValueError(f"the {window} window of {time_name!r} ({_dates(days[mask])}) holds {rows} rows of "
                             f"which {defaults} bad: it needs at least {needed} bad and {needed} good row(s); leave "
                             "out the time column to cross-validate instead.")
    train, test = np.flatnonzero(windows.train), np.flatnonzero(windows.test)
    fitted = _fit_candidates(X.iloc[train], y[train], recipe)
    columns = list(X.columns)
    models = {"champion": fitted.models[fitted.champion], **fitted.models}
    evaluated, metrics = [], []
    pds = {name: np.full(len(y), np.nan) for name in models}
    for name, model in models.items():
        pd_test = _pd(model, X.iloc[test])
        pds[name][test] = pd_test
        pds[name][train] = fitted.inner_pd[fitted.champion if name == "champion" else name]
        evaluated.append(EvaluatedModel(name, y[test], pd_test, y_train=y[train], pd_train=_pd(model, X.iloc[train]),
                                        feature_importance=_importance(fitted.models, name, columns)))
        metrics.append({"fold": "test", "model": name, "rows": len(test), "defaults": int(y[test].sum()),
                        "auc": auc(y[test], pd_test)})
    description = {window: f"{_dates(days[getattr(windows, window)])}: {int(getattr(windows, window).sum())} rows, "
                           f"{int(y[getattr(windows, window)].sum())} bad" for window in ("train", "test")}
    note = (f"The champion is {champion_reason(fitted.champion, fitted.inner_auc, fitted.margin_low, 'the train window')}. "
            f"{_rule(recipe, list(fitted.models))} Out of time by {time_name!r}: "
            f"the latest {TEST_SHARE:.0%} of the rows by date are the test window, the rows of one date in one window; "
            "every candidate learns from the rows before it, and the inner folds within those earlier rows are "
            "stratified, not out of time.")
    test_defaults = int(y[test].sum())
    if test_defaults < FEW_TEST_DEFAULTS:
        note += (f" Only {test_defaults} default(s) in the test window: its AUC rests on them and the bootstrap "
                 "interval cannot show how little that is; leave out the time column to cross-validate on "
                 "all the rows.")
    fold = np.where(windows.test, "test", "train").astype(object)
    inner = pd.DataFrame(_inner_rows("final", fitted))
    return TableTraining("out-of-time", evaluated, fitted.models, fitted.champion, columns, description, note,
                         pd.DataFrame(metrics, columns=["fold", "model", "rows", "defaults", "auc"]), inner,
                         _out_of_fold_table(y, fold, pds), fitted.lightgbm_params, split=windows)


def _time_windows(days: pd.Series, time_name: str) -> TableWindows:
    """The test window: the dates from the one where the rows before it reach 1 - TEST_SHARE of the rows."""
    per_day = days.value_counts().sort_index()
    before = (per_day.cumsum() - per_day) / len(days)
    later = per_day.index[before.to_numpy() >= 1 - TEST_SHARE - 1e-12]
    if not len(later) or later[0] == per_day.index[0]:
        busiest = per_day.idxmax()
        raise ValueError(f"the dates of {time_name!r} cannot be cut into a train window and a test window of about "
                         f"{TEST_SHARE:.0%} of the rows: {len(per_day)} distinct date(s), the busiest "
                         f"({busiest.date()}) holding {per_day.max()} of {len(days)} rows; leave out the time column "
                         "to cross-validate instead.")
    test = (days >= later[0]).to_numpy()
    return TableWindows(train=~test, test=test)


def _dates(days: pd.Series) -> str:
    return f"{days.min().date()} to {days.max().date()}"
