"""Model evaluation metrics on inputs small enough to work out by hand.

The comment above each assertion shows the arithmetic; no expected value was copied from the
code's output. Conventions (credit/models/metrics.py): y = 1 is a default (a "bad"), and a
higher score means riskier, as a PD does.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.metrics import log_loss as sklearn_log_loss

from credit.models import metrics
from credit.models.metrics import (
    auc,
    bootstrap_auc_difference,
    bootstrap_interval,
    bootstrap_intervals,
    brier,
    calibration_by_grade,
    calibration_in_the_large,
    calibration_table,
    gini,
    hosmer_lemeshow,
    ks,
    log_loss,
    rank_order_verdict,
    rank_ordering,
)


def raises(message: str):
    return pytest.raises(ValueError, match=re.escape(message))


def scored_firms(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Firms whose default odds rise with a latent risk the score measures."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=rows)
    defaulted = rng.random(rows) < 1 / (1 + np.exp(-(1.5 * risk - 2)))
    return defaulted.astype(int), risk


# ---------------------------------------------------------------------------------------------
# AUC and Gini
# ---------------------------------------------------------------------------------------------


def test_auc_is_the_share_of_bad_good_pairs_the_score_orders_correctly() -> None:
    # bads score 0.35 and 0.8, goods 0.1 and 0.4; (bad, good) pairs:
    # (0.35, 0.1) right, (0.35, 0.4) wrong, (0.8, 0.1) right, (0.8, 0.4) right -> 3/4
    y, score = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    assert auc(y, score) == pytest.approx(3 / 4)
    # Gini = 2 * 3/4 - 1
    assert gini(y, score) == pytest.approx(1 / 2)


def test_a_tie_between_a_bad_and_a_good_counts_one_half() -> None:
    # goods 0.3, 0.5; bads 0.5, 0.5, 0.9. Each bad at 0.5: beats 0.3 (1) + ties 0.5 (1/2);
    # the bad at 0.9 beats both (2). (1.5 + 1.5 + 2) / (3 * 2) = 5/6
    y, score = [0, 0, 1, 1, 1], [0.3, 0.5, 0.5, 0.5, 0.9]
    assert auc(y, score) == pytest.approx(5 / 6)
    assert gini(y, score) == pytest.approx(2 * 5 / 6 - 1)


def test_a_score_that_ties_everyone_is_no_better_than_chance() -> None:
    # every (bad, good) pair ties: 1/2 each
    assert auc([0, 1, 0, 1, 1], [0.2] * 5) == pytest.approx(0.5)
    assert gini([0, 1, 0, 1, 1], [0.2] * 5) == pytest.approx(0.0)


def test_a_score_that_ranks_backwards_has_auc_0_and_gini_minus_1() -> None:
    # the single bad scores below both goods: 0 of 2 pairs right
    assert auc([0, 1, 0], [0.9, 0.1, 0.5]) == 0.0
    assert gini([0, 1, 0], [0.9, 0.1, 0.5]) == -1.0


# ---------------------------------------------------------------------------------------------
# KS
# ---------------------------------------------------------------------------------------------


def test_ks_is_the_largest_gap_between_the_goods_and_bads_score_distributions() -> None:
    # goods 0.1, 0.2, 0.6; bads 0.3, 0.5, 0.9. Share of goods G(t) and bads B(t) at or below t:
    #   t    0.1  0.2  0.3  0.5  0.6  0.9
    #   G    1/3  2/3  2/3  2/3   1    1
    #   B     0    0   1/3  2/3  2/3   1
    #  gap   1/3  2/3  1/3   0   1/3   0   -> 2/3 at t = 0.2
    y = [1, 0, 1, 0, 0, 1]
    score = [0.5, 0.2, 0.9, 0.1, 0.6, 0.3]
    statistic, threshold = ks(y, score)
    assert statistic == pytest.approx(2 / 3)
    assert threshold == 0.2


def test_ks_counts_tied_scores_together_and_reports_the_lowest_best_threshold() -> None:
    # goods 0.1, 0.4; bads 0.4, 0.8. The good and the bad at 0.4 pass the threshold together:
    #   t    0.1  0.4  0.8
    #   G    1/2   1    1
    #   B     0   1/2   1
    #  gap   1/2  1/2   0   -> 1/2, first reached at 0.1
    # (counting the good at 0.4 before the bad would wrongly give a gap of 1)
    result = ks([0, 1, 0, 1], [0.4, 0.4, 0.1, 0.8])
    assert result.statistic == pytest.approx(1 / 2)
    assert result.threshold == 0.1


def test_ks_agrees_with_scipys_two_sample_statistic() -> None:
    y, score = scored_firms(500, seed=3)
    expected = ks_2samp(score[y == 0], score[y == 1]).statistic
    assert ks(y, score).statistic == pytest.approx(expected, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# Brier and log loss
# ---------------------------------------------------------------------------------------------


def test_brier_is_the_mean_squared_gap_between_pd_and_outcome() -> None:
    # (0.1 - 0)^2 + (0.8 - 1)^2 + (0.6 - 1)^2 + (0.3 - 0)^2 = 0.01 + 0.04 + 0.16 + 0.09 = 0.30
    # 0.30 / 4 = 0.075
    assert brier([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.3]) == pytest.approx(0.075)


def test_log_loss_is_the_mean_minus_log_of_the_probability_given_to_what_happened() -> None:
    # probabilities given to the outcomes: 0.9, 0.8, 0.6, 0.7; product 0.3024
    # -ln(0.3024) / 4 = 1.196005 / 4 = 0.299001
    assert log_loss([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.3]) == pytest.approx(0.299001, abs=1e-6)


def test_log_loss_clips_certain_wrong_pds_to_the_machine_epsilon() -> None:
    # each row gave probability 0 to what happened, clipped (as scikit-learn does) to the
    # float64 epsilon 2**-52: -ln(2**-52) = 52 ln 2 = 36.043653 per row, and so on average
    assert log_loss([1, 0], [0.0, 1.0]) == pytest.approx(36.043653, abs=1e-6)
    # certain and right: -ln(1) = 0
    assert log_loss([1, 0], [1.0, 0.0]) == pytest.approx(0.0, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------------------------


def test_calibration_table_groups_rows_by_quantile_of_predicted_pd() -> None:
    # 10 rows, 5 bins of 2 rows by PD rank, whatever the row order:
    #   bin 1: 0.02 (0), 0.04 (0)  mean 0.03, 0 defaults, rate 0
    #   bin 2: 0.06 (1), 0.08 (0)  mean 0.07, 1 default,  rate 1/2
    #   bin 3: 0.10 (0), 0.12 (0)  mean 0.11, 0 defaults, rate 0
    #   bin 4: 0.14 (0), 0.16 (1)  mean 0.15, 1 default,  rate 1/2
    #   bin 5: 0.18 (1), 0.20 (1)  mean 0.19, 2 defaults, rate 1
    p = [0.16, 0.02, 0.10, 0.20, 0.06, 0.14, 0.04, 0.18, 0.12, 0.08]
    y = [1, 0, 0, 1, 1, 0, 0, 1, 0, 0]
    table = calibration_table(y, p, bins=5)
    assert list(table.columns) == ["bin", "rows", "predicted_mean", "observed_rate", "defaults"]
    assert table["bin"].tolist() == [1, 2, 3, 4, 5]
    assert table["rows"].tolist() == [2, 2, 2, 2, 2]
    assert table["predicted_mean"].tolist() == pytest.approx([0.03, 0.07, 0.11, 0.15, 0.19])
    assert table["observed_rate"].tolist() == pytest.approx([0, 0.5, 0, 0.5, 1])
    assert table["defaults"].tolist() == [0, 1, 0, 1, 2]


def test_calibration_table_makes_deciles_by_default() -> None:
    # 20 rows, PDs 0.01 .. 0.20: decile k holds the PDs 0.02k - 0.01 and 0.02k
    p = np.arange(1, 21) / 100
    y = np.zeros(20, dtype=int)
    table = calibration_table(y, p)
    assert table["bin"].tolist() == list(range(1, 11))
    assert table["rows"].tolist() == [2] * 10
    assert table["predicted_mean"].tolist() == pytest.approx([0.015 + 0.02 * k for k in range(10)])


def test_calibration_table_keeps_tied_pds_in_one_bin_whatever_the_row_order() -> None:
    # PDs 0.1, 0.1, 0.1, 0.2 in 2 bins: ranks 0..3 would go to bins 1, 1, 2, 2, but the third
    # 0.1 takes the rank of the first 0.1 (0) and stays in bin 1.
    #   bin 1: three rows at 0.1, defaults 1 -> rate 1/3;  bin 2: one row at 0.2, 1 default
    table = calibration_table([1, 0, 0, 1], [0.1, 0.1, 0.1, 0.2], bins=2)
    assert table["rows"].tolist() == [3, 1]
    assert table["predicted_mean"].tolist() == pytest.approx([0.1, 0.2])
    assert table["observed_rate"].tolist() == pytest.approx([1 / 3, 1])
    reordered = calibration_table([0, 1, 0, 1], [0.1, 0.2, 0.1, 0.1], bins=2)
    pd.testing.assert_frame_equal(reordered, table)


def test_calibration_table_drops_bins_that_ties_leave_empty() -> None:
    # all four PDs equal: every row has rank 0 and goes to bin 1; bins 2 to 4 are empty
    table = calibration_table([0, 1, 0, 0], [0.3] * 4, bins=4)
    assert table["bin"].tolist() == [1]
    assert table["rows"].tolist() == [4]
    assert table["observed_rate"].tolist() == pytest.approx([1 / 4])


def test_calibration_by_grade_lists_every_grade_of_the_scale_in_its_order() -> None:
    #   A: PDs 0.01, 0.03 -> mean 0.02, no default
    #   B: PDs 0.05, 0.07 -> mean 0.06, 1 default of 2
    #   C: PD 0.20        -> 1 default of 1
    #   D: no rows        -> NaN rates
    table = calibration_by_grade(
        y=[0, 0, 1, 1, 0],
        p=[0.05, 0.01, 0.07, 0.20, 0.03],
        grades=["B", "A", "B", "C", "A"],
        order=["A", "B", "C", "D"],
    )
    assert list(table.columns) == ["grade", "rows", "predicted_mean", "observed_rate", "defaults"]
    assert table["grade"].tolist() == ["A", "B", "C", "D"]
    assert table["rows"].tolist() == [2, 2, 1, 0]
    assert table["defaults"].tolist() == [0, 1, 1, 0]
    assert table["predicted_mean"].tolist()[:3] == pytest.approx([0.02, 0.06, 0.20])
    assert table["observed_rate"].tolist()[:3] == pytest.approx([0, 0.5, 1])
    assert table[["predicted_mean", "observed_rate"]].iloc[3].isna().all()


# ---------------------------------------------------------------------------------------------
# Rank ordering
# ---------------------------------------------------------------------------------------------


def test_rank_ordering_gives_the_bad_rate_per_band_and_holds_when_it_never_falls_with_score() -> None:
    # bands [0, 0.1], (0.1, 0.2], (0.2, 1]; each edge score belongs to the band it closes,
    # and 0 to the first band:
    #   [0, 0.1]:   0.0 (0), 0.1 (0), 0.05 (1)  -> 1/3
    #   (0.1, 0.2]: 0.15 (0), 0.2 (1), 0.12 (1) -> 2/3
    #   (0.2, 1]:   0.5 (1), 1.0 (1), 0.3 (0)   -> 2/3, equal to the band below: still monotone
    score = [0.0, 0.1, 0.05, 0.15, 0.2, 0.12, 0.5, 1.0, 0.3]
    y = [0, 0, 1, 0, 1, 1, 1, 1, 0]
    table, monotone = rank_ordering(y, score, bands=[0, 0.1, 0.2, 1])
    assert table["band"].tolist() == ["[0, 0.1]", "(0.1, 0.2]", "(0.2, 1]"]
    assert table["rows"].tolist() == [3, 3, 3]
    assert table["defaults"].tolist() == [1, 2, 2]
    assert table["bad_rate"].tolist() == pytest.approx([1 / 3, 2 / 3, 2 / 3])
    assert monotone is True


def test_rank_ordering_breaks_when_a_better_band_defaults_more() -> None:
    #   [0, 0.1]: 2 of 3 default;  (0.1, 0.2]: 1 of 3;  (0.2, 1]: 3 of 3
    # the middle band is riskier by score but defaults less than the best band
    score = [0.02, 0.05, 0.08, 0.12, 0.15, 0.18, 0.3, 0.6, 0.9]
    y = [1, 1, 0, 1, 0, 0, 1, 1, 1]
    result = rank_ordering(y, score, bands=[0, 0.1, 0.2, 1])
    assert result.table["bad_rate"].tolist() == pytest.approx([2 / 3, 1 / 3, 1])
    assert result.monotone is False


def test_rank_ordering_lists_empty_bands_but_skips_them_in_the_check() -> None:
    #   [0, 0.1]: 0 of 2;  (0.1, 0.2]: 1 of 2;  (0.2, 0.3]: empty;  (0.3, 1]: 2 of 2
    table, monotone = rank_ordering(
        [0, 0, 0, 1, 1, 1], [0.05, 0.05, 0.15, 0.15, 0.5, 0.5], bands=[0, 0.1, 0.2, 0.3, 1]
    )
    assert table["rows"].tolist() == [2, 2, 0, 2]
    assert table["bad_rate"].iloc[[0, 1, 3]].tolist() == pytest.approx([0, 0.5, 1])
    assert math.isnan(table["bad_rate"].iloc[2])
    assert monotone is True


def _one_sided_fisher(safer_defaults: int, safer_rows: int, riskier_defaults: int, riskier_rows: int) -> float:
    """P(the safer band holds at least its defaults | all defaults and both bands' rows), hypergeometric."""
    rows, defaults = safer_rows + riskier_rows, safer_defaults + riskier_defaults
    return sum(math.comb(defaults, k) * math.comb(rows - defaults, safer_rows - k)
               for k in range(safer_defaults, min(defaults, safer_rows) + 1)) / math.comb(rows, safer_rows)


def _bands(*bands: tuple[int, int]) -> tuple[list[int], list[float]]:
    """Labels and scores with the given (rows, defaults) in bands [0, 0.1], (0.1, 0.2], (0.2, 1]."""
    y, score = [], []
    for (rows, defaults), middle in zip(bands, (0.05, 0.15, 0.5), strict=False):
        y += [1] * defaults + [0] * (rows - defaults)
        score += [middle] * rows
    return y, score


def test_rank_order_falling_on_four_defaults_in_107_rows_is_too_few_to_tell() -> None:
    # 3 of 50 default in the safer band, 1 of 57 in the riskier: a fall, but chance gives one
    # this large with p = 0.261 (one-sided Fisher exact, worked out from the hypergeometric)
    y, score = _bands((50, 3), (57, 1))
    ordering = rank_ordering(y, score, bands=[0, 0.1, 0.2, 1])
    assert ordering.monotone is False
    verdict = rank_order_verdict(ordering.table)
    assert verdict.verdict == "too few defaults to tell"
    assert verdict.falls == [("[0, 0.1]", "(0.1, 0.2]", pytest.approx(_one_sided_fisher(3, 50, 1, 57)))]
    assert _one_sided_fisher(3, 50, 1, 57) == pytest.approx(0.2611, abs=1e-4)


def test_rank_order_breaks_when_a_fall_is_more_than_chance() -> None:
    # 10 of 20 default in the safer band, 1 of 20 in the riskier: p = 0.0016
    y, score = _bands((20, 10), (20, 1), (10, 9))
    verdict = rank_order_verdict(rank_ordering(y, score, bands=[0, 0.1, 0.2, 1]).table)
    assert verdict.verdict == "breaks"
    assert verdict.falls == [("[0, 0.1]", "(0.1, 0.2]", pytest.approx(_one_sided_fisher(10, 20, 1, 20)))]
    assert _one_sided_fisher(10, 20, 1, 20) < 0.01


def test_rank_order_that_never_falls_holds() -> None:
    y, score = _bands((20, 1), (20, 1), (10, 5))
    assert rank_order_verdict(rank_ordering(y, score, bands=[0, 0.1, 0.2, 1]).table) == ("holds", [])


# ---------------------------------------------------------------------------------------------
# Bootstrap intervals
# ---------------------------------------------------------------------------------------------


class ScriptedRows(np.random.RandomState):
    """A generator that hands out the given resamples of row numbers, in turn."""

    def __init__(self, resamples: list[list[int]]) -> None:
        super().__init__(0)
        self.resamples = iter(resamples)

    def randint(self, low, high=None, size=None, dtype=int):  # RandomState.randint signature
        # a block of (resamples, rows): that many of the scripted resamples
        return np.array([next(self.resamples) for _ in range(size[0])])


def test_bootstrap_interval_contains_the_point_estimate_and_narrows_with_more_rows() -> None:
    small = bootstrap_interval(auc, *scored_firms(200, seed=11), n=200)
    large = bootstrap_interval(auc, *scored_firms(5000, seed=11), n=200)
    for interval in (small, large):
        assert interval.low < interval.point < interval.high
    # the width shrinks like 1 / sqrt(rows): 25 times the rows, about a fifth of the width
    assert (large.high - large.low) < (small.high - small.low) / 2


def test_bootstrap_interval_skips_and_counts_resamples_with_one_class() -> None:
    # y = 0, 0, 1 and PDs 0.2, 0.4, 0.9; point Brier: (0.04 + 0.16 + 0.01) / 3 = 0.07
    # resamples of rows:
    #   0, 0, 0 -> y all 0: skipped
    #   0, 2, 2 -> y 0, 1, 1, PDs 0.2, 0.9, 0.9: (0.04 + 0.01 + 0.01) / 3 = 0.02
    #   2, 2, 2 -> y all 1: skipped
    #   1, 2, 0 -> y 0, 1, 0, PDs 0.4, 0.9, 0.2: (0.16 + 0.01 + 0.04) / 3 = 0.07
    # a 50% interval of (0.02, 0.07): quantiles 1/4 and 3/4 = 0.0325 and 0.0575
    rows = ScriptedRows([[0, 0, 0], [0, 2, 2], [2, 2, 2], [1, 2, 0]])
    point, low, high, skipped = bootstrap_interval(
        brier, [0, 0, 1], [0.2, 0.4, 0.9], n=4, level=0.5, random_state=rows
    )
    assert point == pytest.approx(0.07)
    assert low == pytest.approx(0.0325)
    assert high == pytest.approx(0.0575)
    assert skipped == 2


def _resampled_by_loop(metric, y: np.ndarray, p: np.ndarray, n: int, seed: int) -> tuple[list[float], int]:
    """The bootstrap written out: one resample of the rows at a time, one-class resamples skipped."""
    generator = np.random.RandomState(seed)
    values, skipped = [], 0
    for _ in range(n):
        rows = generator.randint(0, len(y), size=len(y))
        if y[rows].min() == y[rows].max():
            skipped += 1
        else:
            values.append(metric(y[rows], p[rows]))
    return values, skipped


def tied_scores(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`scored_firms` with scores squeezed into PDs and rounded to 2 decimals: many ties."""
    y, risk = scored_firms(rows, seed)
    return y, np.round(1 / (1 + np.exp(-(risk - 2))), 2)


def _by_sklearn_ks(y: np.ndarray, p: np.ndarray) -> float:
    return ks_2samp(p[y == 1], p[y == 0]).statistic


@pytest.mark.parametrize(("metric", "by_loop"), [
    (auc, roc_auc_score),
    (gini, lambda y, p: 2 * roc_auc_score(y, p) - 1),
    (ks, _by_sklearn_ks),
    (brier, brier_score_loss),
    (log_loss, lambda y, p: sklearn_log_loss(y, p, labels=[0, 1])),
], ids=["auc", "gini", "ks", "brier", "log_loss"])
@pytest.mark.parametrize("rows", [1500, 40], ids=["1500 rows", "40 rows with 2 bads"])
def test_the_bootstrap_equals_the_loop_over_resamples_scored_by_scikit_learn(metric, by_loop, rows: int,
                                                                            monkeypatch) -> None:  # noqa: ANN001
    # blocks of 7 resamples (and a last one of 4) instead of one block: the rows drawn must not depend on it
    monkeypatch.setattr(metrics, "_BLOCK_COUNTS", 7 * rows)
    y, p = tied_scores(rows, seed=21)
    if rows == 40:  # 2 bads in 40 rows: a resample has none with odds (38/40)^40, about 1 in 8
        y = (np.arange(rows) % 20 == 3).astype(int)
    values, skipped = _resampled_by_loop(by_loop, y, p, n=130, seed=3)
    low, high = np.quantile(values, [0.05, 0.95])
    interval = bootstrap_interval(metric, y, p, n=130, level=0.9, random_state=3)
    assert interval.skipped == skipped
    assert interval.low == pytest.approx(low, abs=1e-12)
    assert interval.high == pytest.approx(high, abs=1e-12)
    if rows == 40:
        assert skipped > 0  # the case it is there for: those resamples are skipped, as the loop skips them


def test_the_paired_auc_difference_is_bootstrapped_on_the_same_rows_for_both_scores() -> None:
    y, p = tied_scores(800, seed=4)
    other = np.round(p + np.random.default_rng(1).normal(scale=0.05, size=len(p)), 2)
    values, skipped = _resampled_by_loop(lambda y, rows: roc_auc_score(y, p[rows]) - roc_auc_score(y, other[rows]),
                                         y, np.arange(len(y)), n=200, seed=9)
    low, high = np.quantile(values, [0.025, 0.975])
    point, interval_low, interval_high, interval_skipped = bootstrap_auc_difference(y, p, other, n=200,
                                                                                    random_state=9)
    assert point == pytest.approx(roc_auc_score(y, p) - roc_auc_score(y, other), abs=1e-12)
    assert (interval_low, interval_high) == pytest.approx((low, high), abs=1e-12)
    assert interval_skipped == skipped


def test_several_metrics_share_the_resamples_one_metric_would_draw() -> None:
    y, p = tied_scores(500, seed=6)
    together = bootstrap_intervals([auc, brier, ks], y, p, n=150, random_state=2)
    assert together == [bootstrap_interval(metric, y, p, n=150, random_state=2) for metric in (auc, brier, ks)]


def test_the_bootstrap_refuses_a_metric_it_cannot_resample() -> None:
    with raises("`metrics` must be among auc, gini, ks, brier, log_loss; got <lambda>."):
        bootstrap_interval(lambda y, p: 0.0, [0, 1], [0.1, 0.2])


def test_bootstrap_interval_is_repeatable_with_the_same_random_state() -> None:
    y, score = scored_firms(300, seed=5)
    first = bootstrap_interval(gini, y, score, n=100, random_state=42)
    assert bootstrap_interval(gini, y, score, n=100, random_state=42) == first
    assert bootstrap_interval(gini, y, score, n=100, random_state=43) != first


def test_a_higher_level_gives_a_wider_bootstrap_interval() -> None:
    y, score = scored_firms(300, seed=5)
    narrow = bootstrap_interval(auc, y, score, n=200, level=0.5)
    wide = bootstrap_interval(auc, y, score, n=200, level=0.99)
    assert wide.low < narrow.low and narrow.high < wide.high


# ---------------------------------------------------------------------------------------------
# Refused inputs
# ---------------------------------------------------------------------------------------------

SCORE_METRICS = [auc, gini, ks]
PD_METRICS = [brier, log_loss]


@pytest.mark.parametrize("metric", SCORE_METRICS + PD_METRICS)
def test_labels_other_than_0_and_1_are_refused(metric) -> None:
    with raises("`y` must contain only 0 and 1; got values [2]."):
        metric([0, 1, 2, 1], [0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize("metric", SCORE_METRICS + PD_METRICS)
def test_missing_labels_are_refused(metric) -> None:
    with raises("`y` must contain only 0 and 1; got values [nan]."):
        metric([0, 1, np.nan], [0.1, 0.2, 0.3])


def test_text_labels_are_refused() -> None:
    with raises("`y` must be numeric; got dtype <U4."):
        auc(["good", "bad"], [0.1, 0.2])


@pytest.mark.parametrize("metric", SCORE_METRICS)
def test_scores_of_another_length_are_refused(metric) -> None:
    with raises("`y` and `score` must have the same length; got 5 and 4."):
        metric([0, 1, 0, 1, 0], [0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize("metric", PD_METRICS)
def test_pds_of_another_length_are_refused(metric) -> None:
    with raises("`y` and `p` must have the same length; got 3 and 4."):
        metric([0, 1, 0], [0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize(("metric", "name"), [(auc, "AUC"), (gini, "Gini"), (ks, "KS")])
def test_ranking_metrics_refuse_labels_of_one_class(metric, name) -> None:
    with raises(f"`y` has one class only (all 0): {name} is undefined."):
        metric([0, 0, 0], [0.1, 0.2, 0.3])
    with raises(f"`y` has one class only (all 1): {name} is undefined."):
        metric([1, 1], [0.1, 0.2])


def test_brier_and_log_loss_accept_labels_of_one_class() -> None:
    # (0.1^2 + 0.3^2) / 2 = 0.05;  -(ln 0.9 + ln 0.7) / 2 = -ln(0.63) / 2 = 0.231018
    assert brier([0, 0], [0.1, 0.3]) == pytest.approx(0.05)
    assert log_loss([0, 0], [0.1, 0.3]) == pytest.approx(0.231018, abs=1e-6)


@pytest.mark.parametrize("metric", SCORE_METRICS)
def test_scores_that_are_not_finite_are_refused(metric) -> None:
    with raises("`score` must be finite; got values [nan, inf]."):
        metric([0, 1, 0, 1], [0.1, np.nan, np.inf, np.nan])


@pytest.mark.parametrize("metric", PD_METRICS + [calibration_table])
def test_pds_outside_0_and_1_are_refused(metric) -> None:
    with raises("`p` must be probabilities in [0, 1]; got values [1.5, -0.1, nan]."):
        metric([0, 1, 0, 1], [1.5, -0.1, np.nan, 0.5])


@pytest.mark.parametrize("metric", SCORE_METRICS + PD_METRICS)
def test_empty_inputs_are_refused(metric) -> None:
    with raises("`y` must not be empty."):
        metric([], [])


def test_two_dimensional_inputs_are_refused() -> None:
    with raises("`y` must be one-dimensional; got shape (2, 2)."):
        auc([[0, 1], [1, 0]], [[0.1, 0.2], [0.3, 0.4]])


@pytest.mark.parametrize("bins", [0, 2.5, True])
def test_calibration_table_refuses_a_bin_count_that_is_not_a_positive_integer(bins) -> None:
    with raises(f"`bins` must be an integer >= 1; got {bins!r}."):
        calibration_table([0, 1], [0.1, 0.2], bins=bins)


def test_calibration_by_grade_refuses_a_grade_missing_from_the_scale() -> None:
    with raises("`grades` has labels not in `order`: ['E', 'X']."):
        calibration_by_grade([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], ["A", "X", "E", "E"], order=["A", "B"])


def test_calibration_by_grade_refuses_a_scale_that_repeats_a_grade() -> None:
    with raises("`order` has repeated labels: ['B']."):
        calibration_by_grade([0, 1], [0.1, 0.2], ["A", "B"], order=["A", "B", "B"])


def test_calibration_by_grade_refuses_grades_of_another_length() -> None:
    with raises("`y` and `grades` must have the same length; got 2 and 3."):
        calibration_by_grade([0, 1], [0.1, 0.2], ["A", "B", "A"], order=["A", "B"])


@pytest.mark.parametrize(("bands", "shown"), [([0.5], "[0.5]"), ([0, 0.5, 0.5, 1], "[0, 0.5, 1]"), ([1, 0], "[1, 0]")])
def test_rank_ordering_refuses_bands_that_are_not_increasing_edges(bands, shown) -> None:
    with raises(f"`bands` must be at least two increasing edges; got {shown}."):
        rank_ordering([0, 1], [0.1, 0.2], bands=bands)


def test_rank_ordering_refuses_scores_outside_the_bands() -> None:
    # the first band includes 0.1 but not 0.05; the last ends at 0.5
    with raises("`score` has values outside the bands [0.1, 0.5]; got values [0.05, 0.7]."):
        rank_ordering([0, 1, 0, 1], [0.05, 0.1, 0.5, 0.7], bands=[0.1, 0.3, 0.5])


def test_bootstrap_interval_refuses_labels_of_one_class() -> None:
    with raises("`y` has one class only (all 0): a bootstrap interval is undefined."):
        bootstrap_interval(brier, [0, 0, 0], [0.1, 0.2, 0.3])


@pytest.mark.parametrize("n", [0, 10.0])
def test_bootstrap_interval_refuses_a_resample_count_that_is_not_a_positive_integer(n) -> None:
    with raises(f"`n` must be an integer >= 1; got {n!r}."):
        bootstrap_interval(brier, [0, 1], [0.1, 0.2], n=n)


@pytest.mark.parametrize("level", [0, 1, 1.5])
def test_bootstrap_interval_refuses_a_level_outside_0_and_1(level) -> None:
    with raises(f"`level` must be strictly between 0 and 1; got {level}."):
        bootstrap_interval(brier, [0, 1], [0.1, 0.2], level=level)


def test_bootstrap_interval_fails_when_every_resample_has_one_class() -> None:
    rows = ScriptedRows([[0, 0], [1, 1]])
    with raises("all 2 resamples had one class only; draw more resamples or use more rows."):
        bootstrap_interval(auc, [0, 1], [0.1, 0.2], n=2, random_state=rows)


# ---------------------------------------------------------------------------------------------
# Calibration tests (the promotion gate's checks)
# ---------------------------------------------------------------------------------------------


def test_calibration_in_the_large_counts_defaults_against_the_pds():
    y = [1, 1, 0, 0, 0]
    p = [0.5, 0.5, 0.2, 0.2, 0.2]
    # observed 2, expected 0.5+0.5+0.2*3 = 1.6; variance 2*0.25 + 3*0.16 = 0.98
    # z = 0.4 / sqrt(0.98) = 0.40406; two-sided p = 2 * (1 - Phi(0.40406)) = 0.68617
    test = calibration_in_the_large(y, p)
    assert test.statistic == pytest.approx(0.4 / math.sqrt(0.98), abs=1e-12)
    assert test.p_value == pytest.approx(0.68617, abs=1e-4)


def test_calibration_in_the_large_needs_uncertain_pds():
    with raises("every PD in `p` is 0 or 1"):
        calibration_in_the_large([0, 1], [0.0, 1.0])


def test_hosmer_lemeshow_by_hand_on_two_bins():
    y = [0, 0, 0, 1, 1, 0]
    p = [0.1, 0.1, 0.2, 0.4, 0.6, 0.6]
    # ranks 0..5 -> bins k*2//6: rows 0-2 in bin 1, rows 3-5 in bin 2
    # bin 1: n 3, O 0, E 0.4, H term 0.16 / (0.4 * (1 - 0.4/3)) = 0.16 / 0.346667 = 0.461538
    # bin 2: n 3, O 2, E 1.6, H term 0.16 / (1.6 * (1 - 1.6/3)) = 0.16 / 0.746667 = 0.214286
    # H = 0.675824, chi-squared with 2 degrees of freedom: p = exp(-H/2) = 0.713298
    test = hosmer_lemeshow(y, p, bins=2)
    assert test.statistic == pytest.approx(0.675824, abs=1e-6)
    assert test.p_value == pytest.approx(math.exp(-0.675824 / 2), abs=1e-6)


def test_hosmer_lemeshow_rejects_pds_that_are_twice_too_high():
    rng = np.random.default_rng(3)
    true_pd = rng.uniform(0.01, 0.2, 20_000)
    y = (rng.random(20_000) < true_pd).astype(int)
    assert hosmer_lemeshow(y, true_pd).p_value > 0.001
    assert hosmer_lemeshow(y, np.minimum(2 * true_pd, 1)).p_value < 1e-6
    assert calibration_in_the_large(y, np.minimum(2 * true_pd, 1)).statistic < -20
