"""Bring your own table: the candidates trained and judged out of time, or cross-validated without a time column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from credit.models import table_training
from credit.models.metrics import auc
from credit.models.report import evaluation_report
from credit.models.table_training import small_table_lightgbm_params, train_on_table
from credit.models.tables import LabelledTable, read_labelled_table

REGION_EFFECT = {"north": 1.6, "south": -1.2, "east": 0.0}
FAST = {"num_boost_round": 150, "lightgbm_params": {"learning_rate": 0.1}}


def make_loans(rows: int = 600, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """Loans whose default depends on a number and a region (some regions missing); also their true log-odds."""
    rng = np.random.default_rng(seed)
    overdraft = rng.normal(size=rows)
    region = rng.choice(["north", "south", "east", None], size=rows, p=[0.3, 0.3, 0.3, 0.1])
    log_odds = -1.8 + 1.2 * overdraft + np.array([REGION_EFFECT.get(r, 0.0) for r in region])
    bad = (rng.random(rows) < 1 / (1 + np.exp(-log_odds))).astype(int)
    frame = pd.DataFrame({"loan_id": np.arange(1000, 1000 + rows), "overdraft": overdraft, "region": region,
                          "noise": rng.normal(size=rows), "bad": bad})
    return frame, log_odds


def read(tmp_path: Path, frame: pd.DataFrame, **columns: str) -> LabelledTable:
    path = tmp_path / "loans.csv"
    frame.to_csv(path, index=False)
    return read_labelled_table(path, target="bad", id_column="loan_id", **columns)


@pytest.fixture(scope="module")
def cross_validated(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    frame, log_odds = make_loans()
    table = read(tmp_path_factory.mktemp("loans"), frame)
    assert str(table.features["region"].dtype) == "category" and table.features["region"].isna().any()
    return frame, log_odds, train_on_table(table, folds=3, **FAST)


def test_without_a_time_column_each_candidate_ranks_defaults_using_the_number_and_the_region(
        cross_validated) -> None:  # noqa: ANN001
    frame, log_odds, trained = cross_validated

    y = frame["bad"].to_numpy()
    best_possible, number_alone = auc(y, log_odds), auc(y, frame["overdraft"].to_numpy())
    assert best_possible - number_alone > 0.04  # the region carries signal a model must pick up
    assert trained.validation == "cross-validation"
    assert [m.name for m in trained.evaluated] == ["lightgbm", "scorecard", "logistic"]
    for model in trained.evaluated:
        pooled = auc(model.y_test, model.pd_test)
        assert number_alone + 0.03 < pooled <= best_possible + 0.02, (model.name, pooled)
    assert "stratified 3-fold cross-validation: no time column was given" in trained.split_description
    assert trained.fold_auc()["folds"].tolist() == [3, 3, 3]


def test_a_categorical_column_is_a_category_in_every_candidate(cross_validated) -> None:  # noqa: ANN001
    frame, _, trained = cross_validated

    champion, scorecard, logistic = (trained.models[name] for name in ("lightgbm", "scorecard", "logistic"))
    region = list(trained.feature_columns).index("region")
    assert champion.booster_.dump_model()["pandas_categorical"] == [["east", "north", "south"]]
    assert champion.booster_.feature_importance("gain")[region] > 0
    assert scorecard.categorical_features_ == ["region"]
    one_hot = logistic.named_steps["columns"].named_transformers_["categories"][-1]
    assert [str(c) for c in one_hot.categories_[0]] == ["east", "north", "south", "nan"]
    # a region never seen at fit still gets a PD from every model
    unseen = frame.drop(columns=["loan_id", "bad"]).head(2).assign(region=pd.Categorical(["west", None]))
    for model in trained.models.values():
        assert np.isfinite(model.predict_proba(unseen)[:, 1]).all()


def test_every_row_is_scored_once_by_models_that_never_saw_it(monkeypatch: pytest.MonkeyPatch) -> None:
    frame, _ = make_loans(rows=300)
    table = LabelledTable(frame[["overdraft", "region", "noise"]].astype({"region": "category"}), frame["bad"])
    seen: dict[str, list[set[int]]] = {"lightgbm": [], "scorecard": [], "logistic": []}

    class SpiedLightGBM(table_training.LightGBMPD):
        def fit(self, X, y, *, X_valid, y_valid, X_calibrate=None, y_calibrate=None):  # noqa: ANN001, ANN202
            seen["lightgbm"].append(set(X.index) | set(X_valid.index) | set(X_calibrate.index))
            return super().fit(X, y, X_valid=X_valid, y_valid=y_valid, X_calibrate=X_calibrate,
                               y_calibrate=y_calibrate)

    class SpiedScorecard(table_training.ScorecardPD):
        def fit(self, X, y):  # noqa: ANN001, ANN202
            seen["scorecard"].append(set(X.index))
            return super().fit(X, y)

    logistic = table_training.logistic_baseline

    def spied_logistic(*args):  # noqa: ANN002, ANN202
        pipeline = logistic(*args)
        fit = pipeline.fit
        pipeline.fit = lambda X, y: (seen["logistic"].append(set(X.index)), fit(X, y))[1]
        return pipeline

    monkeypatch.setattr(table_training, "LightGBMPD", SpiedLightGBM)
    monkeypatch.setattr(table_training, "ScorecardPD", SpiedScorecard)
    monkeypatch.setattr(table_training, "logistic_baseline", spied_logistic)
    trained = train_on_table(table, folds=4, **FAST)

    assert np.bincount(trained.fold_of_row).tolist() == [75, 75, 75, 75]
    for model in trained.evaluated:
        assert model.y_test.tolist() == frame["bad"].tolist() and not np.isnan(model.pd_test).any()
    everything = set(range(len(frame)))
    held_out = [set(np.flatnonzero(trained.fold_of_row == fold)) for fold in range(4)]
    for name, fits in seen.items():
        assert fits == [everything - rows for rows in held_out] + [everything], name


def test_with_a_time_column_every_test_row_comes_after_every_training_row(tmp_path: Path) -> None:
    frame, _ = make_loans(rows=500)
    # three loans a day: a date's rows must stay in one window
    frame["granted"] = (pd.Timestamp("2021-01-01") + pd.to_timedelta(np.arange(500) // 3, unit="D")).astype(str)
    table = read(tmp_path, frame.sample(frac=1.0, random_state=3), time_column="granted")

    trained = train_on_table(table, **FAST)

    split, days = trained.split, pd.to_datetime(table.times).to_numpy()
    assert trained.validation == "out-of-time"
    windows = [days[mask] for mask in (split.train, split.valid, split.calibrate, split.test)]
    for earlier, later in zip(windows, windows[1:], strict=False):
        assert earlier.max() < later.min()
    # a day goes to the window in which the share of rows dated before it falls: days 0-99 hold the
    # first 300 rows (60%), 100-116 the next 51, 117-133 the next 51, and days 134-166 the last 98
    assert [len(w) for w in windows] == [300, 51, 51, 98]
    assert all(len(m.pd_test) == 98 for m in trained.evaluated)
    assert trained.split_description["test"] == "2021-05-15 to 2021-06-16: 98 rows, " + f"{frame['bad'][402:].sum()} bad"
    assert trained.fold_metrics["fold"].unique().tolist() == ["test"]


def test_the_result_feeds_the_evaluation_report_with_intervals(cross_validated) -> None:  # noqa: ANN001
    _, _, trained = cross_validated

    report = evaluation_report(trained.evaluated, title="loans.csv", split_description=trained.split_description,
                               note=trained.note, bootstrap_rows=50)

    assert report.summary["rows"].tolist() == [600, 600, 600]
    assert (report.summary["auc_low"] < report.summary["auc"]).all()
    assert "no time column was given" in report.html and "Per-fold AUC" in report.html


def test_fewer_bad_rows_than_folds_is_refused_with_the_counts() -> None:
    frame, _ = make_loans(rows=200)
    bad = np.flatnonzero(frame["bad"].to_numpy())
    frame.loc[bad[4:], "bad"] = 0
    table = LabelledTable(frame[["overdraft"]], frame["bad"])
    with pytest.raises(ValueError, match=r"the table has 4 bad row\(s\), fewer than the 5 folds"):
        train_on_table(table, folds=5)


def test_too_few_bad_rows_to_stop_early_and_calibrate_in_each_fold_is_refused() -> None:
    frame, _ = make_loans(rows=200)
    bad = np.flatnonzero(frame["bad"].to_numpy())
    frame.loc[bad[5:], "bad"] = 0
    table = LabelledTable(frame[["overdraft"]], frame["bad"])
    with pytest.raises(ValueError, match=r"with 2 folds a fold's training rows hold only 2"):
        train_on_table(table, folds=2)


def test_a_time_window_without_defaults_is_refused() -> None:
    frame, _ = make_loans(rows=200)
    frame["bad"] = (np.arange(200) < 100) & (np.arange(200) % 4 == 0)  # no default after the first half
    times = pd.Series(pd.date_range("2022-01-01", periods=200, freq="D"), name="granted")
    table = LabelledTable(frame[["overdraft"]], frame["bad"].astype(int), times=times)
    with pytest.raises(ValueError, match=r"the valid window of 'granted' \(2022-05-01 to 2022-05-20\) holds 20 rows "
                                         r"of which 0 bad"):
        train_on_table(table)


@pytest.mark.parametrize("folds", [1, 2.5, True])
def test_folds_must_be_an_integer_of_two_or_more(folds: object) -> None:
    frame, _ = make_loans(rows=50)
    with pytest.raises(ValueError, match=r"`folds` must be an integer >= 2"):
        train_on_table(LabelledTable(frame[["overdraft"]], frame["bad"]), folds=folds)


def test_small_tables_get_smaller_leaves_one_thread_and_a_sigmoid_calibrator() -> None:
    assert small_table_lightgbm_params(188, calibration_defaults=4) == {
        "min_child_samples": 9, "min_data_per_group": 9, "num_threads": 1, "calibration": "sigmoid"}
    assert small_table_lightgbm_params(40, calibration_defaults=1)["min_child_samples"] == 5
    assert small_table_lightgbm_params(200_000, calibration_defaults=900) == {
        "min_child_samples": 50, "min_data_per_group": 50, "calibration": "isotonic"}


def test_the_callers_lightgbm_parameters_override_the_small_table_rule() -> None:
    frame, _ = make_loans(rows=300)
    trained = train_on_table(LabelledTable(frame[["overdraft"]], frame["bad"]), folds=3, with_scorecard=False,
                             num_boost_round=50, lightgbm_params={"min_child_samples": 30, "calibration": None})
    assert trained.lightgbm_params["min_child_samples"] == 30
    assert trained.models["lightgbm"].calibrator_ is None
