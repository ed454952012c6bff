"""The LightGBM probability-of-default model: monotone where risk direction is known, calibrated.

:class:`LightGBMPD` follows scikit-learn's estimator contract. It trains a LightGBM booster
with early stopping on a validation window (later as-of dates than the training rows, see
:mod:`credit.models.splits`), constrains features whose risk direction is known
(:data:`RISK_DIRECTIONS`: more days past due never lowers the PD), and maps the booster's
output to calibrated probabilities with a calibrator fitted on a separate, held-out window.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

RISK_DIRECTIONS: dict[str, int] = {
    **{name: 1 for name in (
        "debtor_days_past_due", "debtor_overdue_invoices",
        "debtor_days_late_mean_90d", "debtor_days_late_mean_365d", "debtor_days_late_max_90d", "debtor_days_late_max_365d",
        "debtor_days_beyond_terms_mean_90d", "debtor_days_beyond_terms_mean_180d",
        "debtor_days_beyond_terms_mean_365d", "debtor_days_beyond_terms_max_365d",
        "debtor_partial_payment_rate_365d",
        "buyer_partners_defaulted_share_365d", "supplier_partners_defaulted_share_365d",
    )},
    **{name: -1 for name in ("debtor_on_time_rate_90d", "debtor_on_time_rate_365d", "debtor_on_time_rate_all")},
}
"""+1: more of the feature never lowers the PD; -1: never raises it. Features not listed are free."""

DEFAULT_PARAMS: dict[str, object] = {
    "objective": "binary", "learning_rate": 0.03, "num_leaves": 15, "min_child_samples": 50,
    "feature_fraction": 0.7, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 5.0, "verbose": -1,
}
CALIBRATIONS = ("isotonic", "sigmoid", None)
LOGIT_CLIP = 1e-6
"""PDs are clipped to [LOGIT_CLIP, 1 - LOGIT_CLIP] before the sigmoid calibrator's logit."""
PD_CLIP = 1e-4
"""Every PD the model returns lies in [PD_CLIP, 1 - PD_CLIP]: a PD of exactly 0 or 1 claims certainty
that no credit data gives, and makes a single default (or repayment) there infinitely wrong in log
loss. Isotonic steps are bounded by it when fitted; the sigmoid, and the booster without a
calibrator, are clipped to it."""


class LightGBMPD(ClassifierMixin, BaseEstimator):
    """Gradient-boosted PD model with monotone constraints, early stopping and calibration.

    Parameters
    ----------
    params : dict or None
        LightGBM parameters over :data:`DEFAULT_PARAMS`.
    num_boost_round : int
        Most boosting rounds; early stopping on the validation window usually stops sooner.
    early_stopping_rounds : int or None
        Rounds without improvement of the validation log loss before stopping; None trains
        exactly ``num_boost_round`` rounds (``X_valid`` is then not needed).
    risk_directions : dict or None
        Feature -> +1 / -1 monotone constraint (default :data:`RISK_DIRECTIONS`); features of
        the mapping that are not among the columns are ignored.
    calibration : {"isotonic", "sigmoid", None}
        Calibrator fitted on the calibration window; None keeps the booster's probabilities.
    random_state : int
        Seed for LightGBM's bagging and feature sampling.
    """

    def __init__(self, params: dict | None = None, num_boost_round: int = 2000, early_stopping_rounds: int | None = 100,
                 risk_directions: dict[str, int] | None = None, calibration: str | None = "isotonic",
                 random_state: int = 0) -> None:
        self.params = params
        self.num_boost_round = num_boost_round
        self.early_stopping_rounds = early_stopping_rounds
        self.risk_directions = risk_directions
        self.calibration = calibration
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray, *, X_valid: pd.DataFrame | None = None,
            y_valid: pd.Series | np.ndarray | None = None, X_calibrate: pd.DataFrame | None = None,
            y_calibrate: pd.Series | np.ndarray | None = None) -> LightGBMPD:
        """Train on ``X``, stop early on ``X_valid``, calibrate on ``X_calibrate``.

        Raises
        ------
        ValueError
            For a parameter out of range, a target that is not 0/1 with both classes, or
            validation or calibration columns that differ from the training columns.
        """
        self._check_parameters()
        y = _binary(y, "y")
        stopping = self.early_stopping_rounds is not None
        if stopping:
            if X_valid is None or y_valid is None:
                raise ValueError("early stopping needs `X_valid` and `y_valid`; pass early_stopping_rounds=None "
                                 "to train a fixed number of rounds.")
            y_valid = _binary(y_valid, "y_valid")
            _same_columns(X, X_valid, "X_valid")
        if self.calibration is not None:
            if X_calibrate is None or y_calibrate is None:
                raise ValueError("calibration needs `X_calibrate` and `y_calibrate` (a held-out window); "
                                 "pass calibration=None to keep the booster's probabilities.")
            _same_columns(X, X_calibrate, "X_calibrate")
            y_calibrate = _binary(y_calibrate, "y_calibrate")
        params = self._booster_params(X)
        train = lgb.Dataset(X, y, free_raw_data=True)
        if stopping:
            valid = lgb.Dataset(X_valid, y_valid, reference=train)
            self.booster_ = lgb.train(params, train, num_boost_round=self.num_boost_round, valid_sets=[valid],
                                      callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)])
        else:
            self.booster_ = lgb.train(params, train, num_boost_round=self.num_boost_round)
        self.best_iteration_ = self.booster_.best_iteration or self.num_boost_round
        self.classes_ = np.array([0, 1])
        self.calibrator_ = None
        if self.calibration is not None:
            self.calibrator_ = fit_calibrator(self.calibration, self._raw(X_calibrate), y_calibrate)
        return self

    def adopt_booster(self, booster: lgb.Booster, rounds: int, calibrator: IsotonicRegression | LogisticRegression | None,
                      ) -> LightGBMPD:
        """Take a booster trained elsewhere from these parameters (on Dask: :mod:`credit.models.distributed`) as the fit.

        ``_booster_params`` must have been called on the training columns (it sets
        ``feature_names_in_`` and ``monotone_constraints_``); ``rounds`` become
        ``best_iteration_`` and ``calibrator`` the calibrator, as :meth:`fit` would set them.
        """
        if not hasattr(self, "feature_names_in_"):
            raise ValueError("call _booster_params on the training columns before adopting a booster.")
        if list(booster.feature_name()) != list(self.feature_names_in_):
            raise ValueError("the booster was trained on other columns than this model's.")
        self.booster_ = booster
        self.best_iteration_ = rounds
        self.classes_ = np.array([0, 1])
        self.calibrator_ = calibrator
        return self

    def predict_raw(self, X: pd.DataFrame) -> np.ndarray:
        """The booster's PD before calibration."""
        self._check_fitted()
        return self._raw(X)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities, shape (rows, 2): column 1 is the PD."""
        pd_ = calibrated_pd(self.calibrator_, self.predict_raw(X))
        return np.column_stack([1 - pd_, pd_])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Each feature's contribution to each row's log-odds (TreeSHAP), for reason codes."""
        self._check_fitted()
        values = self.booster_.predict(X, num_iteration=self.best_iteration_, pred_contrib=True)
        return pd.DataFrame(values[:, :-1], columns=self.feature_names_in_, index=X.index)

    def _booster_params(self, X: pd.DataFrame) -> dict:
        """LightGBM parameters of a fit on ``X``; sets ``feature_names_in_`` and ``monotone_constraints_``."""
        directions = RISK_DIRECTIONS if self.risk_directions is None else self.risk_directions
        for name, direction in directions.items():
            if direction not in (-1, 1):
                raise ValueError(f"`risk_directions` must map to -1 or +1; got {direction!r} for {name!r}.")
        self.feature_names_in_ = np.array(X.columns, dtype=object)
        self.monotone_constraints_ = [directions.get(name, 0) for name in X.columns]
        return {**DEFAULT_PARAMS, **(self.params or {}), "seed": self.random_state,
                "monotone_constraints": self.monotone_constraints_}

    def _raw(self, X: pd.DataFrame) -> np.ndarray:
        _same_columns(pd.DataFrame(columns=self.feature_names_in_), X, "X")
        return self.booster_.predict(X, num_iteration=self.best_iteration_)

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise ValueError("this LightGBMPD is not fitted yet; call fit first.")

    def _check_parameters(self) -> None:
        if isinstance(self.num_boost_round, bool) or not isinstance(self.num_boost_round, int) or self.num_boost_round < 1:
            raise ValueError(f"`num_boost_round` must be an integer >= 1; got {self.num_boost_round!r}.")
        if self.early_stopping_rounds is not None and (
                isinstance(self.early_stopping_rounds, bool) or not isinstance(self.early_stopping_rounds, int)
                or self.early_stopping_rounds < 1):
            raise ValueError(f"`early_stopping_rounds` must be an integer >= 1 or None; "
                             f"got {self.early_stopping_rounds!r}.")
        if self.calibration not in CALIBRATIONS:
            raise ValueError(f"`calibration` must be one of {CALIBRATIONS}; got {self.calibration!r}.")


class CrossFittedLightGBMPD(LightGBMPD):
    """A :class:`LightGBMPD` whose booster learns from every row and whose calibrator is cross-fitted.

    ``fit(X, y)`` needs no held-out rows. Stratified inner folds of ``X`` (``inner_folds``,
    shuffled with ``random_state``) train one booster each with early stopping on the fold
    they leave out (LightGBM's ``lgb.cv``: boosting stops when the log loss averaged over the
    folds has not improved for ``early_stopping_rounds`` rounds); each row's out-of-fold raw
    PD comes from the booster that did not see it. The calibrator is fitted on those
    out-of-fold PDs, so it learns how the booster's scores translate into default rates on
    rows it did not learn from. The final booster then learns from every row for the
    cross-validated number of rounds, and its raw PD goes through that calibrator.

    Parameters
    ----------
    params, num_boost_round, early_stopping_rounds, risk_directions, calibration, random_state
        As for :class:`LightGBMPD`; ``early_stopping_rounds`` is required here.
    inner_folds : int
        Folds of the cross-fitting, >= 2.

    Attributes
    ----------
    oof_raw_ : ndarray
        Each training row's out-of-fold raw PD, in the order of ``X``.
    oof_pd_ : ndarray
        The same through the calibrator (fitted on them, so its calibration is in-sample;
        the ranking, and so the AUC, is out of fold).
    cv_auc_ : float
        Inner AUC averaged over the folds at the chosen round.
    """

    def __init__(self, params: dict | None = None, num_boost_round: int = 2000, early_stopping_rounds: int | None = 100,
                 risk_directions: dict[str, int] | None = None, calibration: str | None = "sigmoid",
                 random_state: int = 0, inner_folds: int = 3) -> None:
        super().__init__(params=params, num_boost_round=num_boost_round, early_stopping_rounds=early_stopping_rounds,
                         risk_directions=risk_directions, calibration=calibration, random_state=random_state)
        self.inner_folds = inner_folds

    def fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray) -> CrossFittedLightGBMPD:  # type: ignore[override]
        """Cross-fit the calibrator on inner folds of ``X``, then train the booster on all of ``X``.

        Raises
        ------
        ValueError
            For a parameter out of range, or a target that is not 0/1 with both classes, or
            with fewer rows of a class than ``inner_folds``.
        """
        self._check_parameters()
        if self.early_stopping_rounds is None:
            raise ValueError("`early_stopping_rounds` must be an integer >= 1: the inner folds find the rounds.")
        if isinstance(self.inner_folds, bool) or not isinstance(self.inner_folds, (int, np.integer)) \
                or self.inner_folds < 2:
            raise ValueError(f"`inner_folds` must be an integer >= 2; got {self.inner_folds!r}.")
        y = _binary(y, "y")
        params = self._booster_params(X)
        cv = cross_validate_booster(params, X, y, inner_splits(y, self.inner_folds, self.random_state),
                                    num_boost_round=self.num_boost_round,
                                    early_stopping_rounds=self.early_stopping_rounds)
        self.best_iteration_ = cv.rounds
        self.cv_auc_ = cv.auc
        self.oof_raw_ = cv.oof_raw
        self.calibrator_ = None if self.calibration is None else fit_calibrator(self.calibration, cv.oof_raw, y)
        self.oof_pd_ = calibrated_pd(self.calibrator_, cv.oof_raw)
        self.booster_ = lgb.train(params, lgb.Dataset(X, y), num_boost_round=cv.rounds)
        self.classes_ = np.array([0, 1])
        return self


def inner_splits(y: np.ndarray, folds: int, random_state: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified, shuffled (training, held-out) row positions of ``folds`` inner folds of ``y``.

    Raises
    ------
    ValueError
        If a class has fewer rows than ``folds``.
    """
    y = np.asarray(y)
    for value, name in ((1, "bad"), (0, "good")):
        count = int((y == value).sum())
        if count < folds:
            raise ValueError(f"{count} {name} row(s) cannot be spread over {folds} inner folds: each fold needs "
                             "one of each class; use more labelled rows.")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    return list(splitter.split(np.zeros(len(y)), y))


@dataclass(frozen=True)
class BoosterCrossValidation:
    """What :func:`cross_validate_booster` found: the rounds, the mean fold AUC there, out-of-fold raw PDs."""

    rounds: int
    auc: float
    oof_raw: np.ndarray


def cross_validate_booster(params: dict, X: pd.DataFrame, y: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]],
                           *, num_boost_round: int, early_stopping_rounds: int) -> BoosterCrossValidation:
    """Boost on each inner fold at once, stopping when the mean held-out log loss stops improving.

    Parameters
    ----------
    params
        Complete LightGBM parameters (objective, seed, constraints).
    splits
        (training, held-out) positions, e.g. from :func:`inner_splits`.

    Returns
    -------
    BoosterCrossValidation
        ``rounds`` is the round with the lowest mean held-out log loss; ``auc`` the mean
        held-out AUC at that round; ``oof_raw`` each row's raw PD from the fold that held it out.
    """
    data = lgb.Dataset(X, y, free_raw_data=False)
    results = lgb.cv({**params, "metric": ["binary_logloss", "auc"]}, data, num_boost_round=num_boost_round,
                     folds=splits, return_cvbooster=True,
                     callbacks=[lgb.early_stopping(early_stopping_rounds, first_metric_only=True, verbose=False)])
    boosters = results["cvbooster"]
    rounds = int(boosters.best_iteration) if boosters.best_iteration > 0 else len(results["valid auc-mean"])
    oof_raw = np.full(len(y), np.nan)
    for (_, held_out), booster in zip(splits, boosters.boosters, strict=True):
        oof_raw[held_out] = booster.predict(X.iloc[held_out], num_iteration=rounds)
    return BoosterCrossValidation(rounds, float(results["valid auc-mean"][rounds - 1]), oof_raw)


def _binary(y: pd.Series | np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(y, dtype=float)
    if np.isnan(values).any():
        raise ValueError(f"`{name}` has {int(np.isnan(values).sum())} missing labels; drop unlabelled rows first.")
    unexpected = sorted(set(np.unique(values)) - {0.0, 1.0})
    if unexpected:
        shown = ", ".join(f"{value:g}" for value in unexpected[:5])
        raise ValueError(f"`{name}` must contain only 0 and 1; got values [{shown}].")
    if len(np.unique(values)) < 2:
        raise ValueError(f"`{name}` has one class only (all {int(values[0]) if len(values) else 'empty'}); "
                         "a PD model needs defaults and non-defaults.")
    return values.astype(int)


def _same_columns(reference: pd.DataFrame, other: pd.DataFrame, name: str) -> None:
    if list(other.columns) != list(reference.columns):
        missing = [c for c in reference.columns if c not in other.columns]
        extra = [c for c in other.columns if c not in reference.columns]
        raise ValueError(f"`{name}` must have the training columns in the same order; "
                         f"missing {missing[:5]}, unexpected {extra[:5]}.")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, LOGIT_CLIP, 1 - LOGIT_CLIP)
    return np.log(p / (1 - p))


def fit_calibrator(kind: str, raw: np.ndarray, y: np.ndarray) -> IsotonicRegression | LogisticRegression:
    """A calibrator of kind ``"isotonic"`` or ``"sigmoid"`` mapping the booster's raw PDs ``raw`` to ``y``.

    The isotonic steps are bounded to [:data:`PD_CLIP`, 1 - :data:`PD_CLIP`] when fitted, so
    a stretch of scores with no default gets PD_CLIP, not 0. The sigmoid is Platt's, on the
    logit of the raw PD (nearly unpenalised, ``C=1e6``).
    """
    if kind == "isotonic":
        return IsotonicRegression(y_min=PD_CLIP, y_max=1 - PD_CLIP, out_of_bounds="clip").fit(raw, y)
    return LogisticRegression(C=1e6).fit(_logit(raw).reshape(-1, 1), y)



def apply_calibrator(calibrator: IsotonicRegression | LogisticRegression, raw: np.ndarray) -> np.ndarray:
    """Calibrated PDs from the booster's raw PDs, in [PD_CLIP, 1 - PD_CLIP] (the serving files reproduce this)."""
    if isinstance(calibrator, IsotonicRegression):
        calibrated = calibrator.predict(raw)
    else:
        calibrated = calibrator.predict_proba(_logit(raw).reshape(-1, 1))[:, 1]
    return np.clip(calibrated, PD_CLIP, 1 - PD_CLIP)


def calibrated_pd(calibrator: IsotonicRegression | LogisticRegression | None, raw: np.ndarray) -> np.ndarray:
    """The PD from the booster's raw PD: through ``calibrator``, or only clipped to [PD_CLIP, 1 - PD_CLIP] without one."""
    if calibrator is None:
        return np.clip(raw, PD_CLIP, 1 - PD_CLIP)
    return apply_calibrator(calibrator, raw)
