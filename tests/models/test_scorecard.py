"""The scorecard challenger: it ranks, its points follow the PDO formula, and it explains itself in points."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

from credit.models.reasons import reason_codes_from_points
from credit.models.scorecard import ScorecardPD

DPD = "debtor_days_past_due"  # strong, monotone: more days past due, more defaults
INDUSTRY = "industry"  # categorical, some industries riskier
NOISE = "buyer_gmv_volatility_90d"  # unrelated to default (named as a real feature so it has a reason code)
INDUSTRY_RISK = {"retail": 0.0, "food": 0.9, "construction": 1.4, "software": -0.8}


def borrowers(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        DPD: rng.integers(0, 91, n).astype(float),
        INDUSTRY: pd.Categorical(rng.choice(list(INDUSTRY_RISK), n)),
        NOISE: rng.normal(size=n),
    })
    logit = -3.8 + 0.045 * frame[DPD] + frame[INDUSTRY].map(INDUSTRY_RISK).astype(float)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, y


@pytest.fixture(scope="module")
def fitted() -> ScorecardPD:
    X, y = borrowers(4000, seed=1)
    return ScorecardPD().fit(X, y)


@pytest.fixture(scope="module")
def holdout() -> tuple[pd.DataFrame, np.ndarray]:
    return borrowers(3000, seed=2)


def test_the_scorecard_ranks_defaults_and_its_points_fall_as_the_pd_rises(fitted, holdout) -> None:
    X, y = holdout
    pd_ = fitted.predict_proba(X)[:, 1]
    assert roc_auc_score(y, pd_) > 0.75
    rho = spearmanr(fitted.points(X), pd_).statistic
    assert rho < -0.999


def test_the_score_is_the_pdo_formula_applied_to_the_models_own_odds(fitted, holdout) -> None:
    # factor = PDO / ln 2 = 20 / 0.693147 = 28.853901
    # offset = base_points - factor * ln(base_odds) = 600 - 28.853901 * ln 50
    #        = 600 - 28.853901 * 3.912023 = 600 - 112.876.. = 487.123..
    # so odds 50:1 score 600, odds 100:1 score 620, odds 25:1 score 580
    factor = 20 / math.log(2)
    offset = 600 - factor * math.log(50)
    assert fitted.factor_ == pytest.approx(28.853901, abs=1e-6)
    assert fitted.offset_ == pytest.approx(487.123, abs=1e-3)
    assert offset + factor * math.log(100) == pytest.approx(620)
    X, _ = holdout
    pd_ = fitted.predict_proba(X)[:, 1]
    odds = (1 - pd_) / pd_  # good:bad
    np.testing.assert_allclose(fitted.points(X), offset + factor * np.log(odds), rtol=0, atol=1e-6)


def test_the_points_of_the_features_add_up_to_the_score(fitted, holdout) -> None:
    X, _ = holdout
    np.testing.assert_allclose(fitted.points_by_feature(X).sum(axis=1), fitted.points(X), rtol=0, atol=1e-9)


def test_a_firm_in_every_features_best_bin_loses_no_points_and_nobody_loses_negative_points(fitted, holdout) -> None:
    X, _ = holdout
    lost = fitted.points_below_best(X)
    assert list(lost.columns) == [DPD, INDUSTRY, NOISE]
    assert (lost.to_numpy() >= 0).all()
    assert (lost.to_numpy() > 0).any()
    # assemble a firm from, for each feature, the value of a row that scores that feature's most points
    by_feature = fitted.points_by_feature(X)
    best = X.head(1).copy()
    for feature in lost.columns:
        best[feature] = X[feature].loc[[by_feature[feature].idxmax()]].to_numpy()
    assert (fitted.points_below_best(best).to_numpy() == 0).all()
    # and the loss of every row is its distance from that firm's score
    np.testing.assert_allclose(fitted.points(best)[0] - lost.sum(axis=1), fitted.points(X), rtol=0, atol=1e-9)


def test_days_past_due_is_the_first_reason_of_a_firm_ninety_days_late(fitted) -> None:
    firm = pd.DataFrame({DPD: [90.0], INDUSTRY: pd.Categorical(["software"], categories=list(INDUSTRY_RISK)),
                         NOISE: [0.0]})
    assert reason_codes_from_points(fitted.points_below_best(firm))[0][0] == "R01"


def test_the_points_table_has_every_bin_of_every_feature_and_monotone_dpd_points(fitted) -> None:
    table = fitted.points_table()
    assert list(table.columns) == ["feature", "bin", "woe", "points"]
    assert set(table["feature"]) == {DPD, INDUSTRY, NOISE}
    assert (table.groupby("feature")["bin"].apply(lambda bins: "Missing" in set(bins))).all()
    assert "Special" not in set(table["bin"])
    dpd = table[(table["feature"] == DPD) & (table["bin"] != "Missing")]
    assert len(dpd) >= 3
    assert (np.diff(dpd["points"].to_numpy()) < 0).all()  # bins run from few to many days past due
    # the riskiest industry scores fewest points
    industry = table[(table["feature"] == INDUSTRY) & (table["bin"] != "Missing")]
    assert "construction" in industry.loc[industry["points"].idxmin(), "bin"]


def test_missing_values_and_unseen_categories_score_the_missing_bin(fitted) -> None:
    firms = pd.DataFrame({DPD: [np.nan, 10.0], INDUSTRY: pd.Categorical(["retail", "mining"]), NOISE: [0.0, 0.0]})
    table = fitted.points_table()
    missing = table[table["bin"] == "Missing"].set_index("feature")["points"]
    by_feature = fitted.points_by_feature(firms)
    assert by_feature.loc[0, DPD] == pytest.approx(missing[DPD])
    assert by_feature.loc[1, INDUSTRY] == pytest.approx(missing[INDUSTRY])
    pd_ = fitted.predict_proba(firms)[:, 1]
    np.testing.assert_allclose(fitted.points(firms), fitted.offset_ + fitted.factor_ * np.log((1 - pd_) / pd_),
                               rtol=0, atol=1e-6)


def test_a_constant_column_is_left_out_and_named(holdout) -> None:
    X, y = holdout
    model = ScorecardPD().fit(X.assign(country="DE", flag=np.nan), y)
    assert model.features_ == [DPD, INDUSTRY, NOISE]
    assert model.excluded_features_ == {"country": "constant", "flag": "entirely missing"}
    assert model.categorical_features_ == [INDUSTRY]


def test_the_target_must_be_zero_or_one_with_both_classes(holdout) -> None:
    X, y = holdout
    with pytest.raises(ValueError, match=r"`y` must contain only 0 and 1; got values \[2\]\."):
        ScorecardPD().fit(X, np.where(y == 1, 2, 0))
    with pytest.raises(ValueError, match="`y` has one class only"):
        ScorecardPD().fit(X, np.zeros(len(X), dtype=int))


@pytest.mark.parametrize(("params", "message"), [
    ({"points_to_double_odds": 0}, "`points_to_double_odds` must be a number > 0; got 0."),
    ({"points_to_double_odds": -20}, "`points_to_double_odds` must be a number > 0; got -20."),
    ({"base_odds": 0.0}, "`base_odds` must be a number > 0; got 0.0."),
    ({"max_n_bins": 1}, "`max_n_bins` must be an integer >= 2 or None; got 1."),
    ({"min_bin_size": 0.6}, "`min_bin_size` must be a number in (0, 0.5]; got 0.6."),
    ({"monotonic_trend": "up"}, "`monotonic_trend` must be one of"),
])
def test_parameters_out_of_range_are_refused_at_fit(holdout, params, message) -> None:
    X, y = holdout
    with pytest.raises(ValueError, match=re.escape(message)):
        ScorecardPD(**params).fit(X, y)


def test_a_table_without_a_usable_feature_is_refused(holdout) -> None:
    X, y = holdout
    with pytest.raises(ValueError, match="`X` has no usable feature: every column is constant or entirely missing"):
        ScorecardPD().fit(pd.DataFrame({"country": "DE", "flag": np.nan}, index=X.index), y)
    with pytest.raises(ValueError, match=r"cannot bin: \['as_of \(datetime64"):
        ScorecardPD().fit(X.assign(as_of=pd.Timestamp("2026-01-01")), y)


def test_a_feature_that_does_not_separate_defaults_is_no_usable_feature() -> None:
    # both values of the flag default exactly half the time: optbinning keeps one bin, every firm the same points
    X = pd.DataFrame({"flag": np.tile([0.0, 0.0, 1.0, 1.0], 500)})
    y = np.tile([0, 1, 0, 1], 500)
    with pytest.raises(ValueError, match=r"no feature separates defaults from non-defaults \(each of \['flag'\]"):
        ScorecardPD().fit(X, y)


def test_an_unfitted_scorecard_says_so(holdout) -> None:
    with pytest.raises(ValueError, match="not fitted yet"):
        ScorecardPD().points(holdout[0])


def test_model_selection_cross_validates_the_scorecard_as_any_classifier() -> None:
    # scikit-learn's cross_val_score and GridSearchCV clone, fit and score the scorecard by its
    # PD; each fold's AUC must be what fitting and scoring that fold by hand gives
    X, y = borrowers(3000, seed=3)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    by_sklearn = cross_val_score(ScorecardPD(), X, y, cv=folds, scoring="roc_auc")
    by_hand = []
    for train, test in folds.split(X, y):
        model = clone(ScorecardPD()).fit(X.iloc[train], y[train])
        by_hand.append(roc_auc_score(y[test], model.predict_proba(X.iloc[test])[:, 1]))
    np.testing.assert_allclose(by_sklearn, by_hand, rtol=0, atol=1e-12)
    assert 0.75 < by_sklearn.mean() < 0.95  # days past due and industry drive the simulated defaults

    search = GridSearchCV(ScorecardPD(), {"max_n_bins": [2, 8]}, cv=folds, scoring="roc_auc").fit(X, y)
    assert search.cv_results_["mean_test_score"][1] == pytest.approx(by_sklearn.mean(), abs=1e-12)
    assert search.best_params_ == {"max_n_bins": 8} and search.best_estimator_.points(X).shape == (3000,)


def test_score_is_scikit_learns_accuracy_so_default_model_selection_runs(fitted, holdout) -> None:
    # score(X, y) is ClassifierMixin's: the share of rows whose predicted class (PD >= 0.5) is right
    X, y = holdout
    assert fitted.score(X, y) == accuracy_score(y, (fitted.predict_proba(X)[:, 1] >= 0.5).astype(int))
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    by_hand = [accuracy_score(y[test], clone(ScorecardPD()).fit(X.iloc[train], y[train]).predict(X.iloc[test]))
               for train, test in folds.split(X, y)]
    np.testing.assert_allclose(cross_val_score(ScorecardPD(), X, y, cv=folds), by_hand, rtol=0, atol=1e-12)
