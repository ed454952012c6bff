"""Hyper-parameter search for the LightGBM PD model: an Optuna study, every trial in MLflow.

:func:`tune_lightgbm` samples LightGBM parameters with Optuna's TPE sampler, fits one
uncalibrated :class:`~credit.models.pd_model.LightGBMPD` per trial (early stopping on the
validation window) and keeps the parameters with the highest validation AUC. Each trial is
an MLflow child run under the caller's run, or under a ``tuning`` run made for the purpose.

Only the training and validation windows are used. The calibration and test windows are
never seen by the search: the final model is fitted afterwards with
``LightGBMPD(params=result.best_params, ...)`` and calibrated on its own window, and the
test window judges that final model alone.

The search space is :data:`DEFAULT_SEARCH_SPACE`, overridable name by name with the same
shape of mapping that a config file holds (see :func:`tune_lightgbm`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import mlflow
import numpy as np
import optuna
import pandas as pd

from credit.models.metrics import auc, log_loss
from credit.models.pd_model import LightGBMPD

DEFAULT_SEARCH_SPACE: dict[str, dict] = {
    "learning_rate": {"low": 0.01, "high": 0.1, "log": True},
    "num_leaves": {"low": 4, "high": 63},
    "min_child_samples": {"low": 20, "high": 400, "log": True},
    "feature_fraction": {"low": 0.4, "high": 1.0},
    "bagging_fraction": {"low": 0.5, "high": 1.0},
    "lambda_l2": {"low": 1e-3, "high": 100.0, "log": True},
}
"""The ranges searched unless ``search_space`` says otherwise, chosen for PD data.

Defaults are rare (a few per cent of rows), so leaves must hold enough rows to contain
some bads: ``min_child_samples`` starts at 20 and goes up to 400 on a log scale, and trees
stay small (``num_leaves`` 4-63), which also suits the monotone constraints. Early stopping
sets the number of rounds, so ``learning_rate`` only trades time for a little accuracy
(0.01-0.1, log). Panel features are many windows of the same few quantities and strongly
correlated, hence ``feature_fraction`` down to 0.4; ``bagging_fraction`` 0.5-1 (with
:data:`~credit.models.pd_model.DEFAULT_PARAMS`' ``bagging_freq=1``) and ``lambda_l2``
1e-3-100 (log) regularise further. Not searched: ``min_gain_to_split``, whose scale grows
with the number of rows, so one range would mean different things on different panels; and
``max_bin``, which rebuilds LightGBM's binned dataset on every trial for little gain.

A range whose bounds are both integers is searched over integers, otherwise over floats.
"""

INTEGER_PARAMETERS = frozenset({"num_leaves", "min_child_samples", "min_data_in_leaf", "max_depth", "max_bin",
                                "bagging_freq", "min_data_in_bin", "max_cat_threshold"})
"""LightGBM parameters that take integers only; a float range for one of them is refused."""

RESERVED_PARAMETERS = frozenset({"seed", "monotone_constraints", "objective"})
"""Set by :class:`LightGBMPD` itself (from ``random_state`` and ``risk_directions``) or fixed."""

RANGE_KEYS = frozenset({"low", "high", "log"})


@dataclass(frozen=True)
class TuningResult:
    """The outcome of a search.

    Attributes
    ----------
    best_params : dict
        ``base_params`` with the best trial's sampled values over them, ready for
        ``LightGBMPD(params=best_params, random_state=...)``.
    best_value : float
        The best trial's validation AUC (of the uncalibrated booster).
    best_iteration : int
        The best trial's number of boosting rounds after early stopping.
    best_trial : int
        The best trial's number (0-based, as in ``trials["number"]``).
    trials : DataFrame
        Optuna's trial table: one row per trial with ``value`` (validation AUC), the
        ``params_*`` columns and ``user_attrs_best_iteration``,
        ``user_attrs_valid_log_loss`` and, when logged, ``user_attrs_mlflow_run_id``.
    n_trials : int
        Trials that completed (fewer than asked if the timeout stopped the search).
    mlflow_run_id : str or None
        The run holding the trials as children, or None when nothing was logged.
    """

    best_params: dict
    best_value: float
    best_iteration: int
    best_trial: int
    trials: pd.DataFrame
    n_trials: int
    mlflow_run_id: str | None


@dataclass(frozen=True)
class _Range:
    name: str
    low: float
    high: float
    log: bool
    integer: bool

    def contains(self, value: object) -> bool:
        number = not isinstance(value, bool) and isinstance(value, (int, float, np.number))
        return number and self.low <= value <= self.high and (not self.integer or isinstance(value, (int, np.integer)))

    def suggest(self, trial: optuna.Trial) -> int | float:
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log)


@dataclass(frozen=True)
class _Choices:
    name: str
    choices: tuple

    def contains(self, value: object) -> bool:
        return any(type(value) is type(choice) and value == choice for choice in self.choices)

    def suggest(self, trial: optuna.Trial) -> object:
        return trial.suggest_categorical(self.name, self.choices)


def tune_lightgbm(X_train: pd.DataFrame, y_train: pd.Series | np.ndarray, X_valid: pd.DataFrame,
                  y_valid: pd.Series | np.ndarray, *, n_trials: int = 30, timeout_seconds: float | None = None,
                  base_params: dict | None = None, search_space: Mapping[str, Mapping | None] | None = None,
                  num_boost_round: int = 2000, early_stopping_rounds: int = 100,
                  risk_directions: dict[str, int] | None = None, random_state: int = 0,
                  log_to_mlflow: bool = True) -> TuningResult:
    """Search LightGBM parameters for the highest validation AUC, logging every trial.

    Each trial samples the search space, fits ``LightGBMPD(params=base_params | sampled,
    calibration=None)`` on the training window with early stopping on the validation window,
    and scores the booster's PDs on the validation window.

    The objective is AUC, not log loss. The final model's probabilities come from a
    calibrator fitted on the calibration window, so what the booster must deliver is a good
    ranking of firms; log loss would also reward parameters whose raw probabilities happen
    to sit near the validation window's default rate, which the calibrator redoes anyway.
    Log loss still decides each trial's number of rounds (it is the early-stopping metric)
    and is logged for every trial. Because that stopping point is chosen on the same window,
    the best AUC is slightly optimistic; it ranks trials, and the test window gives the
    number to report.

    Trial 0 tries ``base_params``' own values of the searched parameters (those inside the
    search space), so the search never returns parameters that do worse on the validation
    window than the configured ones. No pruning: early stopping already ends a poor trial
    after ``early_stopping_rounds`` rounds without improvement.

    Parameters
    ----------
    X_train, y_train : DataFrame, array-like
        The training window and its 0/1 default labels.
    X_valid, y_valid : DataFrame, array-like
        The validation window (later as-of dates): early stopping and the trial's score.
        Must have the training columns and both classes.
    n_trials : int
        Trials to run, >= 1.
    timeout_seconds : float or None
        Stop starting new trials after this many seconds. With a timeout the number of
        trials, and so the result, can differ between runs with the same seed.
    base_params : dict or None
        LightGBM parameters over :data:`~credit.models.pd_model.DEFAULT_PARAMS` for every
        trial, such as a config file's ``[lightgbm]`` section. The search replaces those it
        tunes (after trying them as trial 0); to keep one fixed, set its search-space entry
        to None.
    search_space : mapping or None
        Overrides of :data:`DEFAULT_SEARCH_SPACE`, name by name, as a config file holds
        them: ``{"low": 4, "high": 63}``, optionally with ``"log": true``, or
        ``{"choices": [7, 15, 31]}``; ``None`` as a value drops a default parameter from the
        search (the default or ``base_params`` value then applies). Ranges with two integer
        bounds are integer ranges.
    num_boost_round, early_stopping_rounds, risk_directions
        Passed to every trial's :class:`LightGBMPD`; pass the final model's values, since
        monotone constraints change which parameters do best.
    random_state : int
        Seed of the TPE sampler and of every trial's LightGBM: the same seed, data and
        arguments (without a timeout) give the same trials and best parameters.
    log_to_mlflow : bool
        Log every trial as a nested MLflow run named ``trial-<number>`` with its sampled
        parameters and its ``valid_auc``, ``valid_log_loss`` and ``best_iteration``. The
        parent is the active run if there is one, else a new run named ``tuning`` in the
        current experiment. The parent gets ``best_<name>`` parameters, ``n_trials``,
        ``best_valid_auc``, ``best_valid_log_loss`` and ``best_iteration`` metrics, and
        ``tuning/best_params.json``, ``tuning/search_space.json`` and ``tuning/trials.csv``
        artifacts. MLflow parameters cannot be overwritten, so run one search per parent run.

    Returns
    -------
    TuningResult

    Raises
    ------
    ValueError
        For a parameter out of range, an invalid search space, windows whose shapes or
        columns do not match, or labels that are not 0/1 with both classes.
    """
    _check_search_arguments(n_trials, timeout_seconds, num_boost_round, early_stopping_rounds, random_state)
    _check_windows(X_train, y_train, X_valid, y_valid)
    base = dict(base_params or {})
    dimensions = _dimensions(search_space)

    with _quiet_optuna(), _parent_run(log_to_mlflow) as parent:

        def fit_trial(trial: optuna.Trial) -> float:
            sampled = {dimension.name: dimension.suggest(trial) for dimension in dimensions}
            # the child run opens before the fit, so a trial that fails is in MLflow with its parameters
            with _trial_run(trial.number, parent) as run:
                if run is not None:
                    mlflow.log_params(sampled)
                    trial.set_user_attr("mlflow_run_id", run.info.run_id)
                model = LightGBMPD(params={**base, **sampled}, num_boost_round=num_boost_round,
                                   early_stopping_rounds=early_stopping_rounds, risk_directions=risk_directions,
                                   calibration=None, random_state=random_state)
                model.fit(X_train, y_train, X_valid=X_valid, y_valid=y_valid)
                pd_valid = model.predict_raw(X_valid)
                scores = {"valid_auc": auc(y_valid, pd_valid), "valid_log_loss": log_loss(y_valid, pd_valid),
                          "best_iteration": model.best_iteration_}
                if run is not None:
                    mlflow.log_metrics(scores)
            trial.set_user_attr("best_iteration", int(model.best_iteration_))
            trial.set_user_attr("valid_log_loss", scores["valid_log_loss"])
            return scores["valid_auc"]

        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=int(random_state)))
        configured = {dimension.name: base[dimension.name] for dimension in dimensions
                      if dimension.name in base and dimension.contains(base[dimension.name])}
        if configured:
            study.enqueue_trial(configured)
        study.optimize(fit_trial, n_trials=int(n_trials), timeout=timeout_seconds)
        result = _result(study, base, parent)
        if parent is not None:
            _log_search(result, dimensions)
    return result


def _result(study: optuna.Study, base: dict, parent: mlflow.ActiveRun | None) -> TuningResult:
    best = study.best_trial
    completed = [trial for trial in study.trials if trial.state == optuna.trial.TrialState.COMPLETE]
    return TuningResult(best_params={**base, **best.params}, best_value=float(best.value),
                        best_iteration=int(best.user_attrs["best_iteration"]), best_trial=best.number,
                        trials=study.trials_dataframe(), n_trials=len(completed),
                        mlflow_run_id=None if parent is None else parent.info.run_id)


def _log_search(result: TuningResult, dimensions: list[_Range | _Choices]) -> None:
    best = result.trials.loc[result.trials["number"] == result.best_trial].iloc[0]
    mlflow.log_params({f"best_{name}": value for name, value in result.best_params.items()})
    mlflow.log_params({"n_trials": result.n_trials})
    mlflow.log_metrics({"best_valid_auc": result.best_value, "best_iteration": result.best_iteration,
                        "best_valid_log_loss": float(best["user_attrs_valid_log_loss"])})
    mlflow.set_tag("tuning.best_trial", str(result.best_trial))
    mlflow.log_dict(result.best_params, "tuning/best_params.json")
    mlflow.log_dict({dimension.name: _as_config(dimension) for dimension in dimensions}, "tuning/search_space.json")
    mlflow.log_text(result.trials.to_csv(index=False), "tuning/trials.csv")


def _as_config(dimension: _Range | _Choices) -> dict:
    if isinstance(dimension, _Choices):
        return {"choices": list(dimension.choices)}
    return {"low": dimension.low, "high": dimension.high, "log": dimension.log}


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    # optuna logs one INFO line per trial; the trials are in MLflow and in the result
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


@contextlib.contextmanager
def _parent_run(log_to_mlflow: bool) -> Iterator[mlflow.ActiveRun | None]:
    if not log_to_mlflow:
        yield None
    elif mlflow.active_run() is not None:
        yield mlflow.active_run()
    else:
        with mlflow.start_run(run_name="tuning") as run:
            yield run


@contextlib.contextmanager
def _trial_run(number: int, parent: mlflow.ActiveRun | None) -> Iterator[mlflow.ActiveRun | None]:
    if parent is None:
        yield None
        return
    # the child goes to the parent's experiment even if the current experiment has changed since
    with mlflow.start_run(run_name=f"trial-{number}", nested=True,
                          experiment_id=parent.info.experiment_id) as run:
        yield run


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------


def _check_search_arguments(n_trials: int, timeout_seconds: float | None, num_boost_round: int,
                            early_stopping_rounds: int, random_state: int) -> None:
    for name, value, minimum in (("n_trials", n_trials, 1), ("num_boost_round", num_boost_round, 1),
                                 ("early_stopping_rounds", early_stopping_rounds, 1),
                                 ("random_state", random_state, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise ValueError(f"`{name}` must be an integer >= {minimum}; got {value!r}.")
    if timeout_seconds is not None and (isinstance(timeout_seconds, bool)
                                        or not isinstance(timeout_seconds, (int, float, np.number))
                                        or not math.isfinite(timeout_seconds) or timeout_seconds <= 0):
        raise ValueError(f"`timeout_seconds` must be a positive number of seconds or None; got {timeout_seconds!r}.")


def _check_windows(X_train: pd.DataFrame, y_train, X_valid: pd.DataFrame, y_valid) -> None:
    for name, X, y_name, y in (("X_train", X_train, "y_train", y_train), ("X_valid", X_valid, "y_valid", y_valid)):
        if not isinstance(X, pd.DataFrame):
            raise ValueError(f"`{name}` must be a pandas DataFrame; got {type(X).__name__}.")
        labels = np.asarray(y, dtype=float)
        if labels.ndim != 1 or len(labels) != len(X):
            raise ValueError(f"`{y_name}` must hold one label per row of `{name}`; "
                             f"got shape {labels.shape} for {len(X)} rows.")
        if np.isnan(labels).any():
            raise ValueError(f"`{y_name}` has {int(np.isnan(labels).sum())} missing labels; "
                             "drop unlabelled rows first.")
        unexpected = sorted(set(np.unique(labels)) - {0.0, 1.0})
        if unexpected:
            shown = ", ".join(f"{value:g}" for value in unexpected[:5])
            raise ValueError(f"`{y_name}` must contain only 0 and 1; got values [{shown}].")
        if len(np.unique(labels)) < 2:
            raise ValueError(f"`{y_name}` has one class only; a PD search needs defaults and non-defaults.")
    if list(X_valid.columns) != list(X_train.columns):
        missing = [column for column in X_train.columns if column not in X_valid.columns]
        extra = [column for column in X_valid.columns if column not in X_train.columns]
        raise ValueError("`X_valid` must have the columns of `X_train` in the same order; "
                         f"missing {missing[:5]}, unexpected {extra[:5]}.")


def _dimensions(search_space: Mapping[str, Mapping | None] | None) -> list[_Range | _Choices]:
    if search_space is not None and not isinstance(search_space, Mapping):
        raise ValueError(f"`search_space` must be a mapping of parameter name to range; "
                         f"got {type(search_space).__name__}.")
    merged = {**DEFAULT_SEARCH_SPACE, **(search_space or {})}
    dimensions = [_dimension(name, spec) for name, spec in merged.items() if spec is not None]
    if not dimensions:
        raise ValueError("`search_space` leaves nothing to tune; keep at least one parameter.")
    return dimensions


def _dimension(name: object, spec: object) -> _Range | _Choices:
    entry = f"search_space[{name!r}]"
    where = f"`{entry}`"
    if not isinstance(name, str) or not name:
        raise ValueError(f"`search_space` keys must be LightGBM parameter names; got {name!r}.")
    if name in RESERVED_PARAMETERS:
        raise ValueError(f"{where} cannot be tuned: LightGBMPD sets {name!r} itself.")
    if not isinstance(spec, Mapping):
        raise ValueError(f"{where} must be a mapping with 'low' and 'high' (and 'log'), or 'choices'; "
                         f"got {spec!r}.")
    if "choices" in spec:
        return _choices(entry, name, spec)
    unknown = sorted(set(spec) - RANGE_KEYS)
    if unknown or not {"low", "high"} <= set(spec):
        raise ValueError(f"{where} must have 'low' and 'high' (and optionally 'log'), or 'choices'; "
                         f"got keys {sorted(spec)}.")
    low, high, log = spec["low"], spec["high"], spec.get("log", False)
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, (int, float, np.number)) or not math.isfinite(bound):
            raise ValueError(f"{where} needs finite numbers for 'low' and 'high'; got {low!r} and {high!r}.")
    if not isinstance(log, bool):
        raise ValueError(f"`{entry}['log']` must be true or false; got {log!r}.")
    if not low < high:
        raise ValueError(f"{where} needs low < high; got {low!r} and {high!r}. "
                         "To fix a value, pass it in `base_params` and set this entry to None.")
    if log and low <= 0:
        raise ValueError(f"{where} is on a log scale and needs low > 0; got {low!r}.")
    integer = isinstance(low, (int, np.integer)) and isinstance(high, (int, np.integer))
    if name in INTEGER_PARAMETERS and not integer:
        raise ValueError(f"{where} is an integer parameter and needs integer bounds; got {low!r} and {high!r}.")
    return _Range(name, low, high, log, integer)


def _choices(entry: str, name: str, spec: Mapping) -> _Choices:
    if set(spec) != {"choices"}:
        raise ValueError(f"`{entry}` with 'choices' takes no other keys; got keys {sorted(spec)}.")
    choices = spec["choices"]
    if isinstance(choices, (str, bytes)) or not isinstance(choices, (list, tuple)) or not choices:
        raise ValueError(f"`{entry}['choices']` must be a non-empty list; got {choices!r}.")
    for choice in choices:
        if choice is not None and not isinstance(choice, (bool, int, float, str)):
            raise ValueError(f"`{entry}['choices']` must hold numbers, strings, booleans or null; got {choice!r}.")
    return _Choices(name, tuple(choices))
