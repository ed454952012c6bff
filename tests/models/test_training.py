"""Training the candidates on a simulated panel out of time, and the oracle beside them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from credit.features.asof import monthly
from credit.features.history import History
from credit.features.panel import build_panel
from credit.models.report import Oracle, evaluation_report
from credit.models.splits import out_of_time_split
from credit.models.training import oracle_pd, train_on_panel
from credit.simulate import SimulationConfig, simulate


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    folder = tmp_path_factory.mktemp("simulated")
    simulate(SimulationConfig(firms=800, years=3, seed=21, start=date(2023, 1, 1)), folder)
    built = build_panel(History.from_parquet(folder), monthly(date(2023, 7, 1), date(2025, 1, 1)))
    return built.frame, built.manifest, folder


def split_of(frame: pd.DataFrame):  # noqa: ANN201
    return out_of_time_split(frame["as_of"], train_end=date(2024, 3, 1), valid_end=date(2024, 6, 1),
                             calibrate_end=date(2024, 9, 1), test_start=date(2024, 10, 1))


def test_the_candidates_learn_from_earlier_dates_and_rank_later_defaults(panel) -> None:  # noqa: ANN001
    frame, manifest, folder = panel
    features = manifest["feature_columns"]
    split = split_of(frame)
    trained = train_on_panel(frame, features, "default_12m", split, lightgbm_params={"learning_rate": 0.1},
                             with_scorecard=False)
    assert [m.name for m in trained.evaluated] == ["lightgbm", "logistic"]
    test_rows = int(split.test.sum())
    for model in trained.evaluated:
        assert len(model.pd_test) == test_rows and ((model.pd_test >= 0) & (model.pd_test <= 1)).all()
        assert roc_auc_score(model.y_test, model.pd_test) > 0.65, model.name
    # the oracle knows the latent state, so it ranks better than chance by a wide margin
    truth = oracle_pd(frame[split.test], Path(folder) / "truth")
    assert roc_auc_score(trained.evaluated[0].y_test, truth) > 0.75
    report = evaluation_report(trained.evaluated, oracle=Oracle("simulator's true PD", truth),
                               title="simulated", split_description="train < 2024-03-01 ...", bootstrap_rows=50)
    assert set(report.summary["model"]) == {"lightgbm", "logistic"}
    assert report.summary["auc_gap_to_oracle"].notna().all()


def test_the_oracle_is_the_true_pd_of_the_same_firm_and_month(panel) -> None:  # noqa: ANN001
    frame, _, folder = panel
    truth = pd.read_parquet(Path(folder) / "truth" / "firm_month.parquet")
    row = frame.iloc[[123]]
    expected = truth[(truth.firm_id == row.firm_id.iloc[0]) & (truth.month_end == row.as_of.iloc[0])]["pd_12m"]
    assert oracle_pd(row, Path(folder) / "truth")[0] == expected.iloc[0]
    stray = row.assign(as_of=pd.Timestamp("2024-03-15"))
    with pytest.raises(ValueError, match="1 panel row\\(s\\) have no true PD"):
        oracle_pd(stray, Path(folder) / "truth")


def test_rows_whose_outcome_is_not_known_yet_cannot_be_in_a_window(panel) -> None:  # noqa: ANN001
    frame, manifest, _ = panel
    unknown = frame.copy()
    unknown.loc[unknown.index[:3], "default_12m"] = np.nan
    with pytest.raises(ValueError, match="3 row\\(s\\) of the split windows have no 'default_12m'"):
        train_on_panel(unknown, manifest["feature_columns"], "default_12m", split_of(unknown), with_scorecard=False)


def test_held_out_firms_are_a_fixed_fifth_of_firms_with_all_their_rows() -> None:
    from credit.models.training import held_out_firms

    firm_ids = pd.Series(np.repeat(np.arange(1, 10_001), 3))  # three as-of rows per firm
    held = held_out_firms(firm_ids, 0.2)
    assert held.sum() / len(held) == pytest.approx(0.2, abs=0.01)
    by_firm = pd.Series(held).groupby(firm_ids.to_numpy()).agg(["min", "max"])
    assert (by_firm["min"] == by_firm["max"]).all()  # a firm never both fits and stops the booster
    assert (held_out_firms(firm_ids.sample(frac=1, random_state=3), 0.2).sum() == held.sum())
