"""The PD model trained on Dask, partitioned by firm, is the single-process model; and its round rule is LightGBM's."""

from __future__ import annotations

from datetime import date

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from credit.features.asof import monthly
from credit.features.history import History
from credit.features.panel import build_panel, read_panel_dask, write_panel
from credit.models.config import load_model_config
from credit.models.distributed import (
    _per_worker, early_stopping_round, leaf_values, round_loss_sums, train_lightgbm_dask,
)
from credit.models.pd_model import LightGBMPD
from credit.models.splits import HELD_OUT_FIRM_SHARE, out_of_time_split
from credit.models.training import train_lightgbm, train_on_panel
from credit.simulate import SimulationConfig, simulate

LABEL = "default_12m"


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """300 firms over 2023-2025 (seed 5): 13 labelled monthly as-of dates, 2024-01 to 2025-01."""
    folder = tmp_path_factory.mktemp("dask_training")
    simulate(SimulationConfig(firms=300, years=3, seed=5, start=date(2023, 1, 1)), folder)
    built = build_panel(History.from_parquet(folder), monthly(date(2024, 1, 1), date(2025, 1, 1)))
    write_panel(built, folder / "panel")
    return built.observed().frame, built.feature_columns, folder / "panel"


def _split(frame: pd.DataFrame):  # noqa: ANN202
    return out_of_time_split(frame["as_of"], train_end=date(2024, 7, 1), valid_end=date(2024, 9, 1),
                             calibrate_end=date(2024, 11, 1), test_start=date(2024, 11, 1))


def _configured() -> dict:
    config = load_model_config()  # the configured parameters; fewer rounds, so the test is quick
    return {"lightgbm_params": {**config.lightgbm, "learning_rate": 0.1},
            "lightgbm_options": {"num_boost_round": 300, "early_stopping_rounds": 30, "calibration": "sigmoid"}}


def test_one_dask_worker_trains_the_single_process_model_exactly(panel, dask_client) -> None:  # noqa: ANN001
    frame, features, _ = panel
    split = _split(frame)
    kwargs = {**_configured(), "with_scorecard": False}
    assert frame[LABEL].sum() > 50 and len(frame) > 3000
    local = train_on_panel(frame, features, LABEL, split, **kwargs)
    on_dask = train_on_panel(frame, features, LABEL, split, dask_client=dask_client(1), **kwargs)
    # one single-threaded worker: LightGBM then trains with its serial tree learner

    single, distributed = local.models["lightgbm"], on_dask.models["lightgbm"]
    assert isinstance(distributed, LightGBMPD)
    # the held-out firms stopped the boosting at the same round (not at the 300 allowed), so the same rounds
    assert distributed.best_iteration_ == single.best_iteration_ < 300
    # tolerance 0: one worker runs LightGBM's serial learner on the same rows, in the same order, with the
    # same seeds, so every split and leaf value is the same double; the calibrator sees the same raw PDs
    trees = [model.booster_.model_to_string().split("end of trees")[0] for model in (single, distributed)]
    assert trees[0] == trees[1]
    assert distributed.calibrator_.coef_.tolist() == single.calibrator_.coef_.tolist()
    assert distributed.calibrator_.intercept_.tolist() == single.calibrator_.intercept_.tolist()
    assert np.array_equal(on_dask.evaluated[0].pd_test, local.evaluated[0].pd_test)
    assert len(on_dask.evaluated[0].pd_test) == int(split.test.sum())


def test_one_dask_worker_reading_the_panel_file_trains_the_single_process_model(panel, dask_client) -> None:  # noqa: ANN001
    frame, features, folder = panel
    split = _split(frame)
    single = train_lightgbm(frame, features, LABEL, split, **_configured())
    # the worker's tasks read the panel file in 3 row ranges (a firm may straddle two); nothing is read here
    _, rows = read_panel_dask(folder, LABEL, features, observed=True, partitions=3)
    assert rows.npartitions == 3
    on_dask = train_lightgbm_dask(rows, features, LABEL, split, client=dask_client(1), **_configured())
    # tolerance 0, as above: the same rows in the same order reach LightGBM's serial learner
    assert on_dask.best_iteration_ == single.best_iteration_ < 300
    trees = [model.booster_.model_to_string().split("end of trees")[0] for model in (single, on_dask)]
    assert trees[0] == trees[1]
    assert on_dask.calibrator_.coef_.tolist() == single.calibrator_.coef_.tolist()
    assert on_dask.calibrator_.intercept_.tolist() == single.calibrator_.intercept_.tolist()
    test = frame[split.test]
    assert np.array_equal(on_dask.predict_proba(test[features])[:, 1], single.predict_proba(test[features])[:, 1])


def test_two_dask_workers_reading_the_panel_files_train_on_a_worker_each(panel, dask_client) -> None:  # noqa: ANN001
    frame, features, folder = panel
    split = _split(frame)
    client = dask_client(2)
    _, rows = read_panel_dask(folder, LABEL, features, observed=True, partitions=3)
    on_dask = train_lightgbm_dask(rows, features, LABEL, split, client=client, **_configured())
    # data-parallel: trees differ from one process by each worker's bagging, not in kind; the rounds are the
    # held-out curve's, and every worker took part (LightGBM names each machine in its network)
    single = train_lightgbm(frame, features, LABEL, split, **_configured())
    assert 1 <= on_dask.best_iteration_ <= 300 / (1 - HELD_OUT_FIRM_SHARE) + 1
    test = frame[split.test]
    auc = [roc_auc_score(test[LABEL].astype(int), model.predict_proba(test[features])[:, 1])
           for model in (single, on_dask)]
    assert abs(auc[0] - auc[1]) < 0.05 and auc[1] > 0.6


def test_each_worker_computes_and_keeps_its_own_rows_in_panel_order(panel, dask_client) -> None:  # noqa: ANN001
    frame, features, folder = panel
    client = dask_client(2)
    _, rows = read_panel_dask(folder, LABEL, features, observed=True, partitions=3)
    X, y = _per_worker(rows, features, LABEL, client)
    assert len(X) == len(frame)  # waits for the partitions
    held = client.run(lambda dask_worker: [v for v in dask_worker.data.values()
                                           if isinstance(v, pd.DataFrame) and list(v.columns) == features])
    # one partition on each worker (the 3 row ranges joined into 2), together the panel's rows in its order
    assert sorted(len(parts) for parts in held.values()) == [1, 1]
    joined = pd.concat([held[address][0] for address in sorted(held)])
    assert 0 < len(held[sorted(held)[0]][0]) < len(frame)
    pd.testing.assert_frame_equal(joined.reset_index(drop=True), frame[features].reset_index(drop=True),
                                  check_exact=True)
    assert y.compute().tolist() == frame[LABEL].astype(int).tolist()
    del X, y


def test_the_round_rule_is_lightgbms_early_stopping() -> None:
    # worked out by hand, patience 2: lowest 0.39 at round 4; rounds 5 and 6 do not beat it -> stop, keep 4
    assert early_stopping_round(np.array([0.5, 0.4, 0.41, 0.39, 0.395, 0.396, 0.38]), 2) == 4
    # an equal loss is no improvement: the first of equal lows is kept
    assert early_stopping_round(np.array([0.5, 0.4, 0.4, 0.4]), 5) == 2
    # still improving at the last round: the last round
    assert early_stopping_round(np.array([0.5, 0.4, 0.3]), 5) == 3


def test_the_held_out_loss_curve_is_the_one_lightgbm_stops_on(panel) -> None:  # noqa: ANN001
    frame, features, _ = panel
    held_out = frame["firm_id"] % 5 == 0
    train, valid = frame[~held_out], frame[held_out]
    params = LightGBMPD(params={"learning_rate": 0.1})._booster_params(train[features])
    recorded: dict = {}
    booster = lgb.train(params, lgb.Dataset(train[features], train[LABEL]), num_boost_round=120,
                        valid_sets=[lgb.Dataset(valid[features], valid[LABEL])], valid_names=["valid"],
                        callbacks=[lgb.record_evaluation(recorded)])
    sums = round_loss_sums(valid, booster, leaf_values(booster), features, LABEL)
    ours = sums[:-1] / sums[-1]
    theirs = np.array(recorded["valid"]["binary_logloss"])
    assert sums[-1] == len(valid) and len(ours) == len(theirs) == 120
    # the same doubles summed in another order: equal to the last few bits
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
    expected = lgb.train(params, lgb.Dataset(train[features], train[LABEL]), num_boost_round=120,
                         valid_sets=[lgb.Dataset(valid[features], valid[LABEL])],
                         callbacks=[lgb.early_stopping(10, verbose=False)]).best_iteration
    assert early_stopping_round(ours, 10) == expected
