"""The LightGBM probability-of-default model: monotone where risk direction is known, calibrated.

:class:`LightGBMPD` follows scikit-learn's estimator contract. It trains a LightGBM booster
with early stopping on a validation window (later as-of dates than the training rows, see
:mod:`credit.models.splits`), constrains features whose risk direction is known
(:data:`RISK_DIRECTIONS`: more days past due never lowers the PD), and maps the booster's
output to calibrated probabilities with a calibrator fitted on a separate, held-out window.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

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
        directions = RISK_DIRECTIONS if self.risk_directions is None else self.risk_directions
        for name, direction in directions.items():
            if direction not in (-1, 1):
                raise ValueError(f"`risk_directions` must map to -1 or +1; got {direction!r} for {name!r}.")
        self.feature_names_in_ = np.array(X.columns, dtype=object)
        self.monotone_constraints_ = [directions.get(name, 0) for name in X.columns]
        params = {**DEFAULT_PARAMS, **(self.params or {}), "seed": self.random_state,
                  "monotone_constraints": self.monotone_constraints_}
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
            self.calibrator_ = _fit_calibrator(self.calibration, self._raw(X_calibrate), y_calibrate)
        return self

    def predict_raw(self, X: pd.DataFrame) -> np.ndarray:
        """The booster's PD before calibration."""
        self._check_fitted()
        return self._raw(X)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities, shape (rows, 2): column 1 is the PD."""
        raw = self.predict_raw(X)
        pd_ = raw if self.calibrator_ is None else apply_calibrator(self.calibrator_, raw)
        return np.column_stack([1 - pd_, pd_])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Each feature's contribution to each row's log-odds (TreeSHAP), for reason codes."""
        self._check_fitted()
        values = self.booster_.predict(X, num_iteration=self.best_iteration_, pred_contrib=True)
        return pd.DataFrame(values[:, :-1], columns=self.feature_names_in_, index=X.index)

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


def _fit_calibrator(kind: str, raw: np.ndarray, y: np.ndarray) -> IsotonicRegression | LogisticRegression:
    if kind == "isotonic":
        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
    return LogisticRegression(C=1e6).fit(_logit(raw).reshape(-1, 1), y)


def apply_calibrator(calibrator: IsotonicRegression | LogisticRegression, raw: np.ndarray) -> np.ndarray:
    """Calibrated PDs from the booster's raw PDs (the exported serving files must reproduce this)."""
    if isinstance(calibrator, IsotonicRegression):
        return calibrator.predict(raw)
    return calibrator.predict_proba(_logit(raw).reshape(-1, 1))[:, 1]
