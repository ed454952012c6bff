"""A scheduled industry shock raises the true PD and the lateness of that industry only.

The same seed without the shock is the counterfactual: the industry and macro factors have
their own random stream, so both runs share one economy apart from the shock.
"""

import pandas as pd
import pytest

from tests.simulate.runs import SimulatedRun, settled_invoices

BEFORE = ("2023-07-01", "2024-03-01")
DURING = ("2024-05-01", "2025-01-01")  # the shock runs from March to November 2024


def _period(times: pd.Series) -> pd.Series:
    period = pd.Series(None, index=times.index, dtype="object")
    period[times.between(*map(pd.Timestamp, BEFORE))] = "before"
    period[times.between(*map(pd.Timestamp, DURING))] = "during"
    return period


def _by_industry_and_period(run: SimulatedRun) -> tuple[pd.Series, pd.Series]:
    """Mean true PD (by month end) and late share (by due date) of the shocked industry and the rest."""
    industry = run.table("firms").set_index("firm_id").industry
    truth = run.truth("firm_month")
    truth["shocked"] = industry.reindex(truth.firm_id).to_numpy() == "construction"
    truth["period"] = _period(truth.month_end)
    invoices = settled_invoices(run)
    invoices["shocked"] = industry.reindex(invoices.buyer_id).to_numpy() == "construction"
    invoices["period"] = _period(invoices.due_at)
    late = (invoices.days_past_due > 1).groupby([invoices.shocked, invoices.period]).mean()
    return truth.groupby(["shocked", "period"]).pd_12m.mean(), late


@pytest.fixture(scope="module")
def shocked(shocked_run):
    return _by_industry_and_period(shocked_run)


@pytest.fixture(scope="module")
def counterfactual(unshocked_run):
    return _by_industry_and_period(unshocked_run)


def test_shocked_industry_true_pd_rises_during_the_shock(shocked, counterfactual):
    mean_pd, _ = shocked
    assert mean_pd[(True, "during")] > 1.2 * mean_pd[(True, "before")]
    assert mean_pd[(True, "during")] > 1.5 * counterfactual[0][(True, "during")]


def test_other_industries_true_pd_hardly_moves(shocked, counterfactual):
    mean_pd, _ = shocked
    assert 0.85 < mean_pd[(False, "during")] / mean_pd[(False, "before")] < 1.2
    assert 0.9 < mean_pd[(False, "during")] / counterfactual[0][(False, "during")] < 1.15


def test_shocked_industry_pays_late_more_often_during_the_shock(shocked, counterfactual):
    _, late = shocked
    assert late[(True, "during")] > late[(True, "before")] + 0.04
    assert late[(True, "during")] > counterfactual[1][(True, "during")] + 0.04


def test_other_industries_lateness_hardly_moves(shocked, counterfactual):
    _, late = shocked
    assert abs(late[(False, "during")] - late[(False, "before")]) < 0.04
    assert abs(late[(False, "during")] - counterfactual[1][(False, "during")]) < 0.03


def test_shock_leaves_the_months_before_it_untouched(shocked_run, unshocked_run):
    truth = shocked_run.truth("firm_month")
    baseline = unshocked_run.truth("firm_month")
    # The truth does not anticipate a shock: until it starts both runs are the same world.
    before = pd.Timestamp("2024-03-01")
    assert truth.month_end.min() < before
    same = truth[truth.month_end <= before].reset_index(drop=True)
    assert same.equals(baseline[baseline.month_end <= before].reset_index(drop=True))
