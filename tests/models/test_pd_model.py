"""The LightGBM PD model: monotone where risk direction is known, early stopping, calibration, bad input."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from credit.models.pd_model import LightGBMPD
from credit.models.splits import out_of_time_split

DPD = "debtor_days_past_due"
FAST = {"learning_rate": 0.1}  # tests need the behaviour, not the last decimal of AUC


def borrowers(n: int, seed: int, dip: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows whose default odds rise with days past due (optionally with a dip at 30-60 days) and with x1."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({DPD: rng.integers(0, 91, n).astype(float), "x1": rng.normal(size=n),
                          "noise": rng.normal(size=n)})
    logit = -3.5 + 0.035 * frame[DPD] + 0.8 * frame["x1"]
    if dip:
        logit = logit - 2.5 * frame[DPD].between(30, 60)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, y


def curve(model: LightGBMPD, rows: pd.DataFrame) -> np.ndarray:
    """PD of each row as days past due runs over 0..90, shape (rows, 91)."""
    grid = []
    for days in range(91):
        varied = rows.copy()
        varied[DPD] = float(days)
        grid.append(model.predict_raw(varied))
    return np.column_stack(grid)


def test_more_days_past_due_never_lowers_the_pd_even_where_the_data_dips() -> None:
    X, y = borrowers(8000, seed=1, dip=True)
    Xv, yv = borrowers(3000, seed=2, dip=True)
    constrained = LightGBMPD(params=FAST, calibration=None).fit(X, y, X_valid=Xv, y_valid=yv)
    free = LightGBMPD(params=FAST, calibration=None, risk_directions={}).fit(X, y, X_valid=Xv, y_valid=yv)
    rows = Xv.head(40)
    assert (np.diff(curve(constrained, rows), axis=1) >= -1e-12).all()
    # the fixture really dips: without the constraint the model follows it down somewhere
    assert (np.diff(curve(free, rows), axis=1) < -1e-6).any()
    assert constrained.monotone_constraints_ == [1, 0, 0]


def test_calibration_on_a_held_out_window_repairs_inflated_probabilities() -> None:
    X, y = borrowers(8000, seed=3)
    Xv, yv = borrowers(3000, seed=4)
    Xc, yc = borrowers(4000, seed=5)
    Xt, yt = borrowers(6000, seed=6)
    # weighting defaults 15x (stopping on AUC, which the weights do not distort) makes the PDs far too high
    model = LightGBMPD(params={"scale_pos_weight": 15.0, "metric": "auc"}).fit(X, y, X_valid=Xv, y_valid=yv, X_calibrate=Xc,
                                                             y_calibrate=yc)
    raw, calibrated = model.predict_raw(Xt), model.predict_proba(Xt)[:, 1]
    assert raw.mean() > 2 * yt.mean()
    assert np.mean((calibrated - yt) ** 2) < np.mean((raw - yt) ** 2)
    assert abs(calibrated.mean() - yt.mean()) < 0.015
    sigmoid = LightGBMPD(params={"scale_pos_weight": 15.0, "metric": "auc"}, calibration="sigmoid").fit(
        X, y, X_valid=Xv, y_valid=yv, X_calibrate=Xc, y_calibrate=yc)
    assert np.mean((sigmoid.predict_proba(Xt)[:, 1] - yt) ** 2) < np.mean((raw - yt) ** 2)


def test_early_stopping_on_the_validation_window_stops_a_model_of_pure_noise() -> None:
    rng = np.random.default_rng(7)
    X = pd.DataFrame({"noise": rng.normal(size=4000)})
    y = (rng.random(4000) < 0.1).astype(int)
    Xv = pd.DataFrame({"noise": rng.normal(size=2000)})
    yv = (rng.random(2000) < 0.1).astype(int)
    model = LightGBMPD(calibration=None, num_boost_round=1000, early_stopping_rounds=20).fit(X, y, X_valid=Xv, y_valid=yv)
    assert model.best_iteration_ < 100


def test_contributions_add_up_to_the_log_odds() -> None:
    X, y = borrowers(4000, seed=8)
    Xv, yv = borrowers(2000, seed=9)
    model = LightGBMPD(params=FAST, calibration=None).fit(X, y, X_valid=Xv, y_valid=yv)
    rows = Xv.head(5)
    contributions = model.contributions(rows)
    bias = model.booster_.predict(rows, num_iteration=model.best_iteration_, pred_contrib=True)[:, -1]
    log_odds = np.log(model.predict_raw(rows) / (1 - model.predict_raw(rows)))
    assert np.allclose(contributions.sum(axis=1) + bias, log_odds)
    assert list(contributions.columns) == [DPD, "x1", "noise"]


@pytest.mark.parametrize(("change", "message"), [
    ({"num_boost_round": 0}, "`num_boost_round` must be an integer >= 1; got 0."),
    ({"early_stopping_rounds": 2.5}, "`early_stopping_rounds` must be an integer >= 1 or None; got 2.5."),
    ({"calibration": "platt"}, "`calibration` must be one of ('isotonic', 'sigmoid', None); got 'platt'."),
    ({"risk_directions": {DPD: 2}}, "`risk_directions` must map to -1 or +1; got 2 for 'debtor_days_past_due'."),
])
def test_parameters_out_of_range_are_refused_at_fit(change: dict, message: str) -> None:
    X, y = borrowers(500, seed=10)
    with pytest.raises(ValueError, match=__import__("re").escape(message)):
        LightGBMPD(**{"calibration": None, **change}).fit(X, y, X_valid=X, y_valid=y)


def test_targets_that_are_not_binary_or_have_one_class_are_refused() -> None:
    X, y = borrowers(500, seed=11)
    with pytest.raises(ValueError, match=r"`y` must contain only 0 and 1; got values \[2\]"):
        LightGBMPD(calibration=None).fit(X, np.where(y == 1, 2, 0), X_valid=X, y_valid=y)
    with pytest.raises(ValueError, match="`y_valid` has one class only"):
        LightGBMPD(calibration=None).fit(X, y, X_valid=X, y_valid=np.zeros(len(y)))


def test_validation_columns_must_match_training_columns() -> None:
    X, y = borrowers(500, seed=12)
    with pytest.raises(ValueError, match=r"missing \['noise'\], unexpected \['other'\]"):
        LightGBMPD(calibration=None).fit(X, y, X_valid=X.rename(columns={"noise": "other"}), y_valid=y)
    with pytest.raises(ValueError, match="calibration needs `X_calibrate`"):
        LightGBMPD().fit(X, y, X_valid=X, y_valid=y)


def test_out_of_time_windows_follow_the_as_of_dates() -> None:
    as_of = pd.Series(pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01",
                                      "2024-06-01", "2024-07-01"]))
    split = out_of_time_split(as_of, train_end=date(2024, 3, 1), valid_end=date(2024, 4, 1),
                              calibrate_end=date(2024, 5, 1), test_start=date(2024, 6, 1))
    assert split.train.tolist() == [True, True, False, False, False, False, False]
    assert split.valid.tolist() == [False, False, True, False, False, False, False]
    assert split.calibrate.tolist() == [False, False, False, True, False, False, False]
    assert split.test.tolist() == [False, False, False, False, False, True, True]  # 2024-05-01 falls in the gap
    with pytest.raises(ValueError, match=r"`valid_end` \(2024-03-01\) must come before `calibrate_end` \(2024-02-01\)"):
        out_of_time_split(as_of, date(2024, 2, 1), date(2024, 3, 1), date(2024, 2, 1), date(2024, 6, 1))
    with pytest.raises(ValueError, match="the test window holds no row"):
        out_of_time_split(as_of, date(2024, 3, 1), date(2024, 4, 1), date(2024, 5, 1), date(2025, 1, 1))
