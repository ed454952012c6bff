"""The scorecard challenger: binned weights of evidence, logistic regression, points a person can add up.

:class:`ScorecardPD` bins each feature with optbinning's ``BinningProcess`` (optimal,
monotone bins for numeric features; categories grouped by default rate for categorical
ones), replaces each value by its bin's weight of evidence (WoE), fits a scikit-learn
``LogisticRegression`` on the WoE and turns the coefficients into points with optbinning's
``Scorecard``, scaled the usual way:

    score = offset + factor * ln(odds),   odds = (1 - PD) / PD  (good:bad)
    factor = points_to_double_odds / ln(2)
    offset = base_points - factor * ln(base_odds)

so a firm at ``base_points`` has good:bad odds of ``base_odds``, every
``points_to_double_odds`` more points double the odds, and a higher score is safer. The
score (:meth:`ScorecardPD.points`) is the sum of one number of points per feature (the intercept is spread evenly over
the features), which is what :meth:`ScorecardPD.points_table` shows the finance team and what
:meth:`ScorecardPD.points_below_best` turns into reason codes
(:func:`credit.models.reasons.reason_codes_from_points`).

Points are not rounded, so the score is exactly the formula above applied to the PD.
"""

from __future__ import annotations

import logging
import math
import numbers
import warnings

import numpy as np
import pandas as pd

# optbinning imports OR-Tools (which loads its own HiGHS library) and then CVXPY, whose probe of
# the highspy wheel then fails on a symbol and logs a warning on every run. optbinning solves
# with OR-Tools, so that one warning is noise; CVXPY resets its logger's level, not its filters.
logging.getLogger("__cvxpy__").addFilter(lambda record: "importing solver HIGHS" not in record.getMessage())
from optbinning import BinningProcess, Scorecard  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from credit.models.pd_model import _binary

MONOTONIC_TRENDS = ("auto", "auto_heuristic", "auto_asc_desc", "ascending", "descending", "convex", "concave",
                    "peak", "valley", "peak_heuristic", "valley_heuristic", None)
"""Values optbinning's ``OptimalBinning`` accepts for ``monotonic_trend``."""


class ScorecardPD(ClassifierMixin, BaseEstimator):
    """Points scorecard over optimally binned WoE features and a logistic regression.

    Parameters
    ----------
    base_points : float
        Score of a firm whose good:bad odds are ``base_odds``.
    base_odds : float
        Good:bad odds at ``base_points`` (50 means 50 non-defaults per default, PD 1/51).
    points_to_double_odds : float
        Points that double the good:bad odds (PDO); > 0.
    monotonic_trend : str or None
        Trend of the default rate over the bins of each numeric feature, as optbinning
        names it; the default ``"auto_asc_desc"`` lets each feature pick rising or falling,
        so a feature's points never zig-zag. Categorical features are grouped by default rate.
    max_n_bins : int or None
        Most bins per feature (a scorecard with more is hard to read); None for no limit.
    min_bin_size : float
        Least share of the rows in any bin, in (0, 0.5].
    C : float
        Inverse L2 regularisation strength of the logistic regression; > 0.

    Attributes
    ----------
    feature_names_in_ : ndarray of str
        Columns of ``X`` at fit, in order.
    features_ : list of str
        Features the scorecard scores: the columns with at least two distinct values.
    categorical_features_ : list of str
        Features binned as categorical (pandas category, object or string dtype).
    excluded_features_ : dict
        Column -> why it was left out (constant or entirely missing); it scores no points.
    scorecard_ : optbinning.Scorecard
        The fitted scorecard (binning process, logistic regression, points).
    bin_points_ : dict
        Feature -> points of each of its bins by optbinning's bin id (the last is Missing).
    factor_, offset_ : float
        ``points_to_double_odds / ln 2`` and ``base_points - factor_ * ln(base_odds)``.
    classes_ : ndarray
        ``[0, 1]``; 1 is a default.
    """

    def __init__(self, base_points: float = 600.0, base_odds: float = 50.0, points_to_double_odds: float = 20.0,
                 monotonic_trend: str | None = "auto_asc_desc", max_n_bins: int | None = 8,
                 min_bin_size: float = 0.05, C: float = 1.0) -> None:
        self.base_points = base_points
        self.base_odds = base_odds
        self.points_to_double_odds = points_to_double_odds
        self.monotonic_trend = monotonic_trend
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.C = C

    def fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray) -> ScorecardPD:
        """Bin the features, fit the logistic regression on their WoE and scale it to points.

        Parameters
        ----------
        X : pandas.DataFrame
            One row per firm and date; numeric columns are binned as numbers, category,
            object and string columns as categories.
        y : array-like of 0/1
            1 for a default.

        Returns
        -------
        self

        Raises
        ------
        TypeError
            If ``X`` is not a pandas DataFrame.
        ValueError
            For a parameter out of range, a target that is not 0/1 with both classes, a
            length mismatch, a column of a type that cannot be binned, or no usable feature
            (every column constant or empty, or no feature separates defaults from the rest).
        """
        self._check_parameters()
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"`X` must be a pandas DataFrame; got {type(X).__name__}.")
        y = _binary(y, "y")
        if len(y) != len(X):
            raise ValueError(f"`X` and `y` must have the same number of rows; got {len(X)} and {len(y)}.")
        duplicated = sorted({str(c) for c in X.columns[X.columns.duplicated()]})
        if duplicated:
            raise ValueError(f"`X` has duplicated column(s) {duplicated}.")
        categorical = [c for c in X.columns if _is_categorical(X[c].dtype)]
        unsupported = [f"{c} ({X[c].dtype})" for c in X.columns
                       if c not in categorical and not pd.api.types.is_numeric_dtype(X[c].dtype)]
        if unsupported:
            raise ValueError(f"`X` has column(s) the scorecard cannot bin: {unsupported}; "
                             "encode them as numbers or categories.")
        excluded = {}
        for column in X.columns:
            distinct = X[column].nunique(dropna=True)
            if distinct < 2:
                excluded[str(column)] = "entirely missing" if distinct == 0 else "constant"
        features = [str(c) for c in X.columns if str(c) not in excluded]
        if not features:
            raise ValueError(f"`X` has no usable feature: every column is constant or entirely missing "
                             f"({excluded}).")

        binning = BinningProcess(
            features, categorical_variables=[str(c) for c in categorical if str(c) in features] or None,
            max_n_bins=self.max_n_bins, min_bin_size=self.min_bin_size,
            binning_fit_params={name: {"monotonic_trend": self.monotonic_trend}
                                for name in features if name not in categorical})
        scorecard = Scorecard(
            binning, LogisticRegression(C=self.C, max_iter=1000), scaling_method="pdo_odds",
            scaling_method_params={"pdo": self.points_to_double_odds, "odds": self.base_odds,
                                   "scorecard_points": self.base_points})
        with _quiet_optbinning():
            scorecard.fit(_numeric_as_float(X[features]), y)

        table = scorecard.table(style="detailed")
        split = [name for name in features if _regular_bins(table, name).shape[0] > 1]
        if not split:
            raise ValueError("`X` has no usable feature: no feature separates defaults from non-defaults "
                             f"(each of {features} ended in a single bin); a scorecard would give every firm "
                             "the same points.")

        self.feature_names_in_ = np.array([str(c) for c in X.columns], dtype=object)
        self.features_ = features
        self.categorical_features_ = [str(c) for c in categorical if str(c) in features]
        self.excluded_features_ = excluded
        self.scorecard_ = scorecard
        self.factor_ = self.points_to_double_odds / math.log(2)
        self.offset_ = self.base_points - self.factor_ * math.log(self.base_odds)
        self.classes_ = np.array([0, 1])
        self.bin_points_ = {name: table.loc[table["Variable"] == name, "Points"].to_numpy(dtype=np.float64)
                            for name in features}
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities, shape (rows, 2): column 1 is the PD."""
        X = self._checked(X)
        with _quiet_optbinning():
            return self.scorecard_.predict_proba(X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def points(self, X: pd.DataFrame) -> np.ndarray:
        """Points of each row; higher is safer (``offset_ + factor_ * ln((1 - PD) / PD)``).

        Missing values, and categories not seen at fit, score the points of WoE 0. (``score(X,
        y)`` is scikit-learn's, the accuracy, so model selection treats the scorecard as any
        classifier.)
        """
        X = self._checked(X)
        with _quiet_optbinning():
            return self.scorecard_.score(X)

    def points_by_feature(self, X: pd.DataFrame) -> pd.DataFrame:
        """Points of each row from each feature (rows x :attr:`features_`); they add up to :meth:`points`."""
        X = self._checked(X)
        with _quiet_optbinning():
            bins = self.scorecard_.binning_process_.transform(X, metric="indices", metric_special="empirical",
                                                               metric_missing="empirical")
        columns = {}
        for name in self.features_:
            points = self.bin_points_[name]
            index = bins[name].to_numpy()
            # optbinning gives -1 for a category unseen at fit; points() then takes the last bin, Missing
            columns[name] = points[np.where(index < 0, len(points) - 1, index)]
        return pd.DataFrame(columns, index=X.index)

    def points_below_best(self, X: pd.DataFrame) -> pd.DataFrame:
        """Points each row loses against the best bin of each feature, for reason codes.

        Returns
        -------
        pandas.DataFrame
            Rows x :attr:`features_`, each >= 0 and 0 where the row is in the feature's
            best-scoring bin; input to :func:`credit.models.reasons.reason_codes_from_points`.
        """
        by_feature = self.points_by_feature(X)
        best = pd.Series({name: self.bin_points_[name].max() for name in self.features_})
        return (best - by_feature).clip(lower=0.0)

    def points_table(self) -> pd.DataFrame:
        """The scorecard for the finance team: one row per bin of every feature.

        Returns
        -------
        pandas.DataFrame
            Columns ``feature``, ``bin`` (an interval, or the list of categories, or
            ``Missing``: missing values and categories not seen at fit), ``woe`` (optbinning's
            weight of evidence: higher means fewer defaults than average) and ``points``.
        """
        self._check_fitted()
        table = self.scorecard_.table(style="detailed")
        table = table[table["Bin"].astype(str) != "Special"]  # no special codes are configured: always empty
        return pd.DataFrame({"feature": table["Variable"].astype(str).to_numpy(),
                             "bin": table["Bin"].astype(str).to_numpy(),
                             "woe": table["WoE"].to_numpy(dtype=np.float64),
                             "points": table["Points"].to_numpy(dtype=np.float64)})

    def _checked(self, X: pd.DataFrame) -> pd.DataFrame:
        self._check_fitted()
        missing = [c for c in self.features_ if c not in X.columns]
        if missing:
            raise ValueError(f"`X` lacks the scorecard's feature column(s) {missing}.")
        return _numeric_as_float(X[self.features_])

    def _check_fitted(self) -> None:
        if not hasattr(self, "scorecard_"):
            raise ValueError("this ScorecardPD is not fitted yet; call fit first.")

    def _check_parameters(self) -> None:
        if not _is_real(self.base_points):
            raise ValueError(f"`base_points` must be a finite number; got {self.base_points!r}.")
        if not _is_real(self.base_odds) or self.base_odds <= 0:
            raise ValueError(f"`base_odds` must be a number > 0; got {self.base_odds!r}.")
        if not _is_real(self.points_to_double_odds) or self.points_to_double_odds <= 0:
            raise ValueError(f"`points_to_double_odds` must be a number > 0; got {self.points_to_double_odds!r}.")
        if self.monotonic_trend not in MONOTONIC_TRENDS:
            raise ValueError(f"`monotonic_trend` must be one of {MONOTONIC_TRENDS}; got {self.monotonic_trend!r}.")
        if self.max_n_bins is not None and (isinstance(self.max_n_bins, bool)
                                            or not isinstance(self.max_n_bins, numbers.Integral)
                                            or self.max_n_bins < 2):
            raise ValueError(f"`max_n_bins` must be an integer >= 2 or None; got {self.max_n_bins!r}.")
        if not _is_real(self.min_bin_size) or not 0 < self.min_bin_size <= 0.5:
            raise ValueError(f"`min_bin_size` must be a number in (0, 0.5]; got {self.min_bin_size!r}.")
        if not _is_real(self.C) or self.C <= 0:
            raise ValueError(f"`C` must be a number > 0; got {self.C!r}.")


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_categorical(dtype: object) -> bool:
    return (isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype))


def _numeric_as_float(X: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as float64, so nullable integers and booleans reach optbinning with NaN, not pd.NA."""
    numeric = [c for c in X.columns if not _is_categorical(X[c].dtype)]
    return X.astype(dict.fromkeys(numeric, "float64")) if numeric else X


def _regular_bins(table: pd.DataFrame, feature: str) -> pd.DataFrame:
    rows = table[table["Variable"] == feature]
    return rows[~rows["Bin"].astype(str).isin(["Special", "Missing"])]


class _quiet_optbinning(warnings.catch_warnings):
    """optbinning 1.0 still uses pandas idioms that pandas 3 deprecates; those warnings are its to fix."""

    def __enter__(self) -> None:
        super().__enter__()
        warnings.filterwarnings("ignore", category=pd.errors.PandasDeprecationWarning, module=r"optbinning\.")
