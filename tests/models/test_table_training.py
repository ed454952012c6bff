"""Bring your own table: the candidates trained and judged out of time, or cross-validated without a time column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from credit.models import pd_model, table_training
from credit.models.metrics import auc
from credit.models.pd_model import PD_CLIP
from credit.models.report import evaluation_report
from credit.models.table_training import AveragePD, small_table_lightgbm_params, train_on_table
from credit.models.tables import LabelledTable, read_labelled_table

REGION_EFFECT = {"north": 1.6, "south": -1.2, "east": 0.0}
FAST = {"num_boost_round": 150, "lightgbm_params": {"learning_rate": 0.1}, "tuning_trials": 2}
CANDIDATES = ["champion", "logistic", "scorecard", "lightgbm", "blend"]


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
    assert [m.name for m in trained.evaluated] == CANDIDATES
    for model in trained.evaluated:
        pooled = auc(model.y_test, model.pd_test)
        assert number_alone + 0.03 < pooled <= best_possible + 0.02, (model.name, pooled)
    assert "stratified 3-fold cross-validation: no time column was given" in trained.split_description
    assert trained.fold_auc()["folds"].tolist() == [3] * 5


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

    class SpiedLightGBM(table_training.CrossFittedLightGBMPD):
        def fit(self, X, y):  # noqa: ANN001, ANN202
            seen["lightgbm"].append(set(X.index))
            return super().fit(X, y)

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

    monkeypatch.setattr(table_training, "CrossFittedLightGBMPD", SpiedLightGBM)
    monkeypatch.setattr(table_training, "ScorecardPD", SpiedScorecard)
    monkeypatch.setattr(table_training, "logistic_baseline", spied_logistic)
    trained = train_on_table(table, folds=4, inner_folds=3, **FAST)

    assert np.bincount(trained.fold_of_row).tolist() == [75, 75, 75, 75]
    for model in trained.evaluated:
        assert model.y_test.tolist() == frame["bad"].tolist() and not np.isnan(model.pd_test).any()
    everything = set(range(len(frame)))
    training_sets = [everything - set(np.flatnonzero(trained.fold_of_row == fold)) for fold in range(4)]
    training_sets.append(everything)  # the final models
    # LightGBM is fitted once per training set (its inner folds are inside that fit) ...
    assert seen["lightgbm"] == training_sets
    # ... the others three times on inner folds (two thirds of the training set each) and once on all of it
    for name in ("scorecard", "logistic"):
        fits = seen[name]
        assert len(fits) == 4 * len(training_sets), name
        for number, rows in enumerate(training_sets):
            inner, whole = fits[4 * number:4 * number + 3], fits[4 * number + 3]
            assert whole == rows and all(fit < rows for fit in inner), name
            assert set.union(*(rows - fit for fit in inner)) == rows  # each row held out by one inner fold


def test_with_a_time_column_every_test_row_comes_after_every_training_row(tmp_path: Path) -> None:
    frame, _ = make_loans(rows=500)
    # three loans a day: a date's rows must stay in one window
    frame["granted"] = (pd.Timestamp("2021-01-01") + pd.to_timedelta(np.arange(500) // 3, unit="D")).astype(str)
    table = read(tmp_path, frame.sample(frac=1.0, random_state=3), time_column="granted")

    trained = train_on_table(table, **FAST)

    split, days = trained.split, pd.to_datetime(table.times).to_numpy()
    assert trained.validation == "out-of-time"
    windows = [days[mask] for mask in (split.train, split.test)]
    for earlier, later in zip(windows, windows[1:], strict=False):
        assert earlier.max() < later.min()
    # the test window starts on the first day with 80% of the rows (400) dated before it: day 134
    # has 402 before it, so days 0-133 train (402 rows) and days 134-166 test (the last 98)
    assert [len(w) for w in windows] == [402, 98]
    assert all(len(m.pd_test) == 98 for m in trained.evaluated)
    assert trained.split_description["test"] == "2021-05-15 to 2021-06-16: 98 rows, " + f"{frame['bad'][402:].sum()} bad"
    assert trained.fold_metrics["fold"].unique().tolist() == ["test"]


def test_the_result_feeds_the_evaluation_report_with_intervals(cross_validated) -> None:  # noqa: ANN001
    _, _, trained = cross_validated

    report = evaluation_report(trained.evaluated, title="loans.csv", split_description=trained.split_description,
                               note=trained.note, bootstrap_rows=50)

    assert report.summary["rows"].tolist() == [600] * 5
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
    with pytest.raises(ValueError, match=r"with 2 folds a fold's training rows hold only 2, fewer than the 3 inner"):
        train_on_table(table, folds=2)


def test_a_time_window_without_defaults_is_refused() -> None:
    frame, _ = make_loans(rows=200)
    frame["bad"] = (np.arange(200) < 100) & (np.arange(200) % 4 == 0)  # no default after the first half
    times = pd.Series(pd.date_range("2022-01-01", periods=200, freq="D"), name="granted")
    table = LabelledTable(frame[["overdraft"]], frame["bad"].astype(int), times=times)
    with pytest.raises(ValueError, match=r"the test window of 'granted' \(2022-06-10 to 2022-07-19\) holds 40 rows "
                                         r"of which 0 bad"):
        train_on_table(table)


@pytest.mark.parametrize("folds", [1, 2.5, True])
def test_folds_must_be_an_integer_of_two_or_more(folds: object) -> None:
    frame, _ = make_loans(rows=50)
    with pytest.raises(ValueError, match=r"`folds` must be an integer >= 2"):
        train_on_table(LabelledTable(frame[["overdraft"]], frame["bad"]), folds=folds)


def test_small_tables_get_smaller_leaves_and_one_thread() -> None:
    assert small_table_lightgbm_params(188) == {"min_child_samples": 9, "min_data_per_group": 9, "num_threads": 1}
    assert small_table_lightgbm_params(40)["min_child_samples"] == 5
    assert small_table_lightgbm_params(200_000)["min_child_samples"] == 50


def test_the_callers_lightgbm_parameters_are_used_untuned_with_no_trials() -> None:
    frame, _ = make_loans(rows=300)
    trained = train_on_table(LabelledTable(frame[["overdraft"]], frame["bad"]), folds=3, with_scorecard=False,
                             num_boost_round=50, tuning_trials=0, calibration=None,
                             lightgbm_params={"min_child_samples": 30})
    assert trained.lightgbm_params["min_child_samples"] == 30
    assert trained.models["lightgbm"].calibrator_ is None


def tempting_isotonic(rows: int = 800, seed: int = 5) -> LabelledTable:
    """A table where ``score`` below 0 never defaults and above 1.2 always does: isotonic steps of 0 and 1."""
    rng = np.random.default_rng(seed)
    score = rng.uniform(-2, 2, size=rows)
    bad = np.where(score < 0, 0, np.where(score > 1.2, 1, (rng.random(rows) < 0.3).astype(int)))
    return LabelledTable(pd.DataFrame({"score": score, "noise": rng.normal(size=rows)}), pd.Series(bad, name="bad"))


def test_isotonic_calibration_never_gives_a_pd_of_exactly_0_or_1() -> None:
    table = tempting_isotonic()
    trained = train_on_table(table, folds=3, calibration="isotonic", **FAST)

    pds = trained.out_of_fold[CANDIDATES].to_numpy()
    assert ((pds > 0) & (pds < 1)).all()
    # below 0 every row is good, so the isotonic step there is its lower bound, PD_CLIP, not 0;
    # above 1.2 every row is bad, so the top step is 1 - PD_CLIP, not 1
    final = trained.models["lightgbm"]
    assert isinstance(final.calibrator_, IsotonicRegression)
    registered = final.predict_proba(table.features)[:, 1]
    assert registered.min() == PD_CLIP and registered.max() == 1 - PD_CLIP
    assert trained.out_of_fold["lightgbm"].min() == PD_CLIP
    for model in trained.models.values():
        pd_ = model.predict_proba(table.features)[:, 1]
        assert ((pd_ >= PD_CLIP) & (pd_ <= 1 - PD_CLIP)).all()


def test_the_configured_calibration_is_the_one_of_every_fold_model_and_of_the_final_model(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calibrators = []

    class SpiedLightGBM(table_training.CrossFittedLightGBMPD):
        def fit(self, X, y):  # noqa: ANN001, ANN202
            fitted = super().fit(X, y)
            calibrators.append(type(fitted.calibrator_))
            return fitted

    monkeypatch.setattr(table_training, "CrossFittedLightGBMPD", SpiedLightGBM)
    trained = train_on_table(tempting_isotonic(rows=400), folds=3, calibration="sigmoid", with_scorecard=False, **FAST)

    assert calibrators == [LogisticRegression] * 4  # 3 outer folds and the final model
    assert isinstance(trained.models["lightgbm"].calibrator_, LogisticRegression)
    assert trained.lightgbm_params["calibration"] == "sigmoid"


def test_the_final_booster_learns_from_every_row(monkeypatch: pytest.MonkeyPatch) -> None:
    frame, _ = make_loans(rows=300)
    table = LabelledTable(frame[["overdraft", "noise"]], frame["bad"])
    boosted_rows = []
    train = pd_model.lgb.train

    def spied_train(params, data, **options):  # noqa: ANN001, ANN003, ANN202
        booster = train(params, data, **options)
        boosted_rows.append(data.num_data())
        return booster

    monkeypatch.setattr(pd_model.lgb, "train", spied_train)
    trained = train_on_table(table, folds=3, with_scorecard=False, **FAST)

    # lgb.train is the final booster of each training set (the inner folds boost in lgb.cv): the
    # three outer training sets hold 200 rows each, the final model all 300
    assert boosted_rows == [200, 200, 200, 300]
    assert trained.models["lightgbm"].best_iteration_ >= 1


def test_the_same_seed_gives_the_same_pds_and_champion() -> None:
    frame, _ = make_loans(rows=300)
    table = LabelledTable(frame[["overdraft", "region", "noise"]].astype({"region": "category"}), frame["bad"])
    first, second = (train_on_table(table, folds=3, random_state=11, **FAST) for _ in range(2))

    pd.testing.assert_frame_equal(first.out_of_fold, second.out_of_fold)
    assert first.champion == second.champion
    assert first.lightgbm_params == second.lightgbm_params


def test_the_out_of_fold_table_holds_each_folds_champion_and_every_candidate(cross_validated) -> None:  # noqa: ANN001
    frame, _, trained = cross_validated

    table = trained.out_of_fold
    assert table.columns.tolist() == ["row", "fold", "target"] + CANDIDATES
    assert table["row"].tolist() == list(range(600)) and table["target"].tolist() == frame["bad"].tolist()
    chosen = trained.inner_auc[trained.inner_auc["champion"]].set_index("fold")["model"]
    for fold in range(3):
        rows = table[table["fold"] == fold]
        assert rows["champion"].tolist() == rows[chosen[fold]].tolist()
    final = trained.inner_auc[trained.inner_auc["fold"] == "final"].set_index("model")
    beyond_noise = final[final["margin_low"] > 0]
    assert trained.champion == (beyond_noise["inner_auc"].idxmax() if len(beyond_noise) else "blend")
    assert f"The champion is {trained.champion}: " in trained.note


def linear_table(rows: int = 2000, seed: int = 1) -> tuple[LabelledTable, np.ndarray]:
    """Ten standard normal features adding up linearly in the log-odds: a logistic regression is the true model."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, 10)), columns=[f"x{i}" for i in range(10)])
    log_odds = -1.5 + 0.45 * X.sum(axis=1).to_numpy()
    bad = (rng.random(rows) < 1 / (1 + np.exp(-log_odds))).astype(int)
    return LabelledTable(X, pd.Series(bad, name="bad")), log_odds


def interaction_table(rows: int = 2000, seed: int = 1) -> tuple[LabelledTable, np.ndarray]:
    """The log-odds turn on the product of two features: no straight line, nor bins of one feature, can follow it."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, 3)), columns=["x0", "x1", "x2"])
    log_odds = -1 + X["x0"].to_numpy() + 3 * (X["x0"] * X["x1"]).to_numpy()
    bad = (rng.random(rows) < 1 / (1 + np.exp(-log_odds))).astype(int)
    return LabelledTable(X, pd.Series(bad, name="bad")), log_odds


def test_the_champion_is_the_logistic_regression_when_the_truth_is_linear() -> None:
    table, log_odds = linear_table()
    trained = train_on_table(table, folds=2, tuning_trials=0, lightgbm_params={"learning_rate": 0.1})

    final = trained.inner_auc[trained.inner_auc["fold"] == "final"].set_index("model")["inner_auc"]
    assert trained.champion == "logistic"
    # the well-specified model comes within 0.01 of the true log-odds' AUC on rows it did not see
    assert auc(table.target.to_numpy(), log_odds) - final["logistic"] < 0.01
    assert final.drop("logistic").max() < final["logistic"]


def test_the_champion_is_lightgbm_when_the_truth_is_an_interaction() -> None:
    table, log_odds = interaction_table()
    trained = train_on_table(table, folds=2, tuning_trials=0, lightgbm_params={"learning_rate": 0.1})

    final = trained.inner_auc[trained.inner_auc["fold"] == "final"].set_index("model")["inner_auc"]
    assert trained.champion == "lightgbm"
    # x0 alone carries the only straight-line signal; the product is out of the linear models' reach
    y = table.target.to_numpy()
    assert final["logistic"] < auc(y, table.features["x0"].to_numpy()) + 0.02 < final["lightgbm"] - 0.1
    assert isinstance(trained.champion_model, table_training.CrossFittedLightGBMPD)


def test_a_scorecard_or_logistic_champion_is_registered_with_its_pds_clipped() -> None:
    table, _ = linear_table(rows=600)
    trained = train_on_table(table, folds=2, tuning_trials=0, with_scorecard=False,
                             lightgbm_params={"learning_rate": 0.1})
    assert trained.champion == "logistic"
    registered = trained.champion_model
    assert isinstance(registered, AveragePD) and list(registered.members) == ["logistic"]
    np.testing.assert_array_equal(registered.predict_proba(table.features)[:, 1],
                                  np.clip(trained.models["logistic"].predict_proba(table.features)[:, 1],
                                          PD_CLIP, 1 - PD_CLIP))


def test_the_blend_stays_champion_unless_a_single_model_beats_it_beyond_noise() -> None:
    order = ["logistic", "scorecard", "lightgbm", "blend"]
    inner = {"logistic": 0.80, "scorecard": 0.79, "lightgbm": 0.83, "blend": 0.81}
    # lightgbm has the highest inner AUC, but its margin over the blend is within the noise
    assert table_training.choose_champion(inner, {"logistic": -0.02, "scorecard": -0.03, "lightgbm": -0.001},
                                          order) == "blend"
    # two beat the blend beyond noise: the higher inner AUC of the two wins, not the larger low end
    assert table_training.choose_champion(inner, {"logistic": 0.004, "scorecard": -0.03, "lightgbm": 0.002},
                                          order) == "lightgbm"
    # an exact tie of inner AUC among those goes to the simpler
    tied = {**inner, "logistic": 0.83}
    assert table_training.choose_champion(tied, {"logistic": 0.001, "scorecard": -0.03, "lightgbm": 0.002},
                                          order) == "logistic"
