"""Market statistics do not depend on the number of firms and lie in their target bands.

Shared macro and industry factors make each seed a different economy, so each size is
summarised over two seeds; the tolerances cover that seed-to-seed spread.
"""

import pytest

from tests.simulate.runs import make_config, market_statistics

SEEDS = (11, 12)
# statistic: (target band, tolerance between 400 and 1,600 firms)
TARGETS = {
    "annual_default_rate": ((0.02, 0.08), 0.02),
    "median_days_past_due": ((-5.0, 0.0), 1.0),
    "p90_days_past_due": ((3.0, 15.0), 3.5),
    "late_share": ((0.10, 0.30), 0.05),
    "top_decile_supplier_share": ((0.35, 0.70), 0.10),
    "top3_supplier_share_median": ((0.50, 0.85), 0.10),
}


@pytest.fixture(scope="module")
def statistics_by_size(simulated):
    by_size = {}
    for firms in (400, 1600):
        runs = [market_statistics(simulated(make_config(firms, seed=seed))) for seed in SEEDS]
        by_size[firms] = {name: sum(r[name] for r in runs) / len(runs) for name in TARGETS}
    return by_size


@pytest.mark.parametrize("statistic", list(TARGETS))
def test_statistic_lies_in_its_target_band_at_both_sizes(statistics_by_size, statistic):
    (low, high), _ = TARGETS[statistic]
    for firms, values in statistics_by_size.items():
        assert low <= values[statistic] <= high, (firms, values[statistic])


@pytest.mark.parametrize("statistic", list(TARGETS))
def test_statistic_agrees_between_small_and_large_markets(statistics_by_size, statistic):
    _, tolerance = TARGETS[statistic]
    small, large = statistics_by_size[400][statistic], statistics_by_size[1600][statistic]
    assert abs(small - large) <= tolerance, (small, large)


def test_default_rate_of_the_summary_matches_the_files(simulated):
    from tests.simulate.runs import annual_default_rate

    run = simulated(make_config(1600, seed=11))
    assert run.summary.annual_default_rate == pytest.approx(annual_default_rate(run), rel=0.1)
    assert run.summary.defaulted_firms == len(run.first_events())
