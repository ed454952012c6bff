"""Observable behaviour carries the latent credit signal; truth ranks the realised defaults."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from tests.simulate.runs import SimulatedRun


def realised_12m_events(run: SimulatedRun) -> pd.DataFrame:
    """Truth firm-months with a full 12-month horizon and whether a credit event followed."""
    truth = run.truth("firm_month")
    horizon_end = truth.month_end + pd.DateOffset(months=12)
    truth = truth[horizon_end <= run.end].copy()
    first_at = run.first_events().reindex(truth.firm_id).to_numpy()
    truth["defaulted_12m"] = (first_at > truth.month_end.to_numpy()) & (
        first_at <= (truth.month_end + pd.DateOffset(months=12)).to_numpy())
    return truth


def days_late_prior_90d(run: SimulatedRun, month_ends) -> pd.DataFrame:
    """Mean days past due, as known at each month end, of a buyer's invoices due in the prior 90 days."""
    invoices = run.table("invoices")
    paid = run.table("payments").groupby("invoice_id").agg(paid=("amount_minor", "sum"), settled_at=("paid_at", "max"))
    invoices = invoices.join(paid, on="invoice_id")
    invoices.loc[invoices.paid != invoices.amount_minor, "settled_at"] = pd.NaT
    frames = []
    for month_end in month_ends:
        due = invoices[(invoices.due_at > month_end - pd.Timedelta(days=90)) & (invoices.due_at <= month_end)]
        known_settled = due.settled_at.where(due.settled_at <= month_end, month_end)
        days_late = ((known_settled - due.due_at).dt.total_seconds() / 86400).clip(lower=0)
        frame = days_late.groupby(due.buyer_id).mean().rename("days_late").rename_axis("firm_id").reset_index()
        frame["month_end"] = month_end
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def firm_months(large_run):
    truth = large_run.truth("firm_month")
    return truth.merge(days_late_prior_90d(large_run, truth.month_end.unique()), on=["firm_id", "month_end"])


def test_true_pd_ranks_realised_12_month_defaults(large_run):
    truth = realised_12m_events(large_run)
    assert truth.defaulted_12m.sum() >= 50
    assert roc_auc_score(truth.defaulted_12m, truth.pd_12m) >= 0.75


def test_true_pd_ranks_defaults_of_firms_not_yet_distressed(large_run):
    truth = realised_12m_events(large_run)
    healthy = truth[~truth.distressed]
    assert roc_auc_score(healthy.defaulted_12m, healthy.pd_12m) >= 0.7


def test_true_pd_is_calibrated_on_average(large_run):
    truth = realised_12m_events(large_run)
    assert truth.pd_12m.mean() == pytest.approx(truth.defaulted_12m.mean(), rel=0.35)


def test_late_payers_have_higher_true_pd(firm_months):
    correlation = spearmanr(firm_months.days_late, firm_months.pd_12m).statistic
    assert correlation > 0.2


def test_observable_behaviour_is_not_a_function_of_truth(firm_months):
    correlation = spearmanr(firm_months.days_late, firm_months.pd_12m).statistic
    assert correlation < 0.9
    punctual = firm_months[firm_months.days_late == 0]
    assert len(punctual) > 100
    assert punctual.pd_12m.quantile(0.9) > 3 * punctual.pd_12m.quantile(0.1)


def test_credit_index_drives_payment_behaviour_beyond_verification(large_run):
    firms = large_run.table("firms").set_index("firm_id")
    quality = large_run.truth("firms").set_index("firm_id").long_run_quality
    # Verification is a weak signal: better firms are verified more often, but not always.
    verified = firms.verified.reindex(quality.index)
    assert quality[verified].mean() > quality[~verified].mean()
    assert 0.2 < verified.mean() < 0.9
    assert np.corrcoef(quality, verified)[0, 1] < 0.5
