"""A scheduled industry shock raises the true PD and the lateness of that industry only."""

import pandas as pd
import pytest

from tests.simulate.conftest import settled_invoices

BEFORE = ("2023-07-01", "2024-03-01")
DURING = ("2024-05-01", "2025-01-01")  # the shock runs from March to November 2024


def _period(times: pd.Series) -> pd.Series:
    period = pd.Series(None, index=times.index, dtype="object")
    period[times.between(*map(pd.Timestamp, BEFORE))] = "before"
    period[times.between(*map(pd.Timestamp, DURING))] = "during"
    return period


@pytest.fixture(scope="module")
def industry_of(shocked_run):
    return shocked_run.table("firms").set_index("firm_id").industry


@pytest.fixture(scope="module")
def mean_pd(shocked_run, industry_of):
    truth = shocked_run.truth("firm_month")
    truth["shocked"] = industry_of.reindex(truth.firm_id).to_numpy() == "construction"
    truth["period"] = _period(truth.month_end)
    return truth.groupby(["shocked", "period"]).pd_12m.mean()


@pytest.fixture(scope="module")
def late_share(shocked_run, industry_of):
    invoices = settled_invoices(shocked_run)
    invoices["shocked"] = industry_of.reindex(invoices.buyer_id).to_numpy() == "construction"
    invoices["period"] = _period(invoices.due_at)
    return (invoices.days_past_due > 1).groupby([invoices.shocked, invoices.period]).mean()


def test_shocked_industry_has_higher_true_pd_during_the_shock(mean_pd):
    assert mean_pd[(True, "during")] > 1.3 * mean_pd[(True, "before")]


def test_other_industries_true_pd_hardly_moves(mean_pd):
    assert 0.8 < mean_pd[(False, "during")] / mean_pd[(False, "before")] < 1.25


def test_shocked_industry_pays_late_more_often_during_the_shock(late_share):
    assert late_share[(True, "during")] > late_share[(True, "before")] + 0.03


def test_other_industries_lateness_hardly_moves(late_share):
    assert abs(late_share[(False, "during")] - late_share[(False, "before")]) < 0.03
