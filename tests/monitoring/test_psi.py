"""The PSI and CSI against numbers worked out by hand (the formula is in credit/monitoring/psi.py).

PSI = sum over bins of (A - E) * ln(A / E), E and A the expected (training) and actual shares,
an empty share replaced by 1e-4, bins empty in both samples left out.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from credit.monitoring.psi import EPSILON, bins_of, csi, psi, psi_from_counts, status_of


def test_categories_are_their_own_bins():
    expected = pd.Series(["a"] * 50 + ["b"] * 30 + ["c"] * 20)
    actual = pd.Series(["a"] * 40 + ["b"] * 40 + ["c"] * 20)
    # E = (.5, .3, .2), A = (.4, .4, .2); no missing values in either, so no missing bin term:
    # (.4 - .5) ln(.4/.5) = -.1 x -0.2231435513 = 0.0223143551
    # (.4 - .3) ln(.4/.3) =  .1 x  0.2876820725 = 0.0287682072
    # (.2 - .2) ln(1)     =  0
    assert psi(expected, actual) == pytest.approx(0.0510825624, abs=1e-9)


def test_numeric_bins_are_the_training_deciles_and_an_empty_bin_gets_epsilon():
    expected = pd.Series(np.arange(1, 101, dtype=float))
    actual = pd.Series(np.r_[np.arange(1, 51), np.full(50, 95)].astype(float))
    # deciles of 1..100 (linear interpolation): 1 + 9.9k = 10.9, 20.8, ..., 90.1; right-closed bins
    # (-inf, 10.9], (10.9, 20.8], ..., (90.1, inf) each hold 10 of the 100 expected values: E = .1
    assert bins_of(expected).edges == pytest.approx([10.9, 20.8, 30.7, 40.6, 50.5, 60.4, 70.3, 80.2, 90.1])
    # actual: 1..50 fill bins 1-5 with .1 each (terms 0); bins 6-9 are empty (A = 1e-4);
    # bin 10 holds the fifty 95s (A = .5)
    # bins 6-9: 4 x (0.0001 - .1) ln(0.0001/.1) = 4 x -0.0999 x -6.9077552790 = 2.7603390095
    # bin 10:       (.5 - .1) ln(.5/.1)         = .4 x 1.6094379124           = 0.6437751650
    assert psi(expected, actual) == pytest.approx(3.4041141745, abs=1e-9)


def test_missing_values_are_a_bin_of_their_own():
    expected = pd.Series([0.0] * 60 + [1.0] * 20 + [np.nan] * 20)
    actual = pd.Series([0.0] * 50 + [1.0] * 20 + [np.nan] * 30)
    # deciles of the 80 non-missing values (60 zeros, 20 ones): 0 up to the 70th percentile
    # (position 79 x .7 = 55.3 < 60), then 1: edges 0 and 1, bins (-inf, 0], (0, 1], (1, inf)
    assert list(bins_of(expected).edges) == [0.0, 1.0]
    # E = (.6, .2, 0, .2 missing), A = (.5, .2, 0, .3); the third bin is empty in both: left out
    # (.5 - .6) ln(.5/.6) = -.1 x -0.1823215568 = 0.0182321557
    # (.3 - .2) ln(.3/.2) =  .1 x  0.4054651081 = 0.0405465108
    assert psi(expected, actual) == pytest.approx(0.0587786665, abs=1e-9)


def test_a_category_new_since_training_shows():
    expected = pd.Series(["a"] * 100)
    actual = pd.Series(["a"] * 90 + ["z"] * 10)
    # E = (1, 0 -> 1e-4), A = (.9, .1)
    # (.9 - 1) ln(.9)           = -.1 x -0.1053605157        = 0.0105360516
    # (.1 - .0001) ln(.1/.0001) = .0999 x 6.9077552790        = 0.6900847524
    assert psi(expected, actual) == pytest.approx(0.7006208040, abs=1e-9)


def test_pandas_categoricals_and_text_bin_alike():
    values = ["x", "y", "y", None, "x", "x"]
    as_text = psi(pd.Series(values[:4]), pd.Series(values[2:]))
    as_category = psi(pd.Series(values[:4], dtype="category"), pd.Series(values[2:], dtype="category"))
    assert as_text == pytest.approx(as_category) and as_text > 0


def test_values_beyond_the_training_range_count_in_the_open_outer_bins():
    # deciles of 1..10: 1 + 0.9k = 1.9, 2.8, ..., 9.1, one expected value per bin: E = .1 each
    # actual 0, 0 -> (-inf, 1.9]; 3..8 one each in bins 3-8; 11, 12 -> (9.1, inf); bins 2 and 9 empty
    # bins 1 and 10: 2 x (.2 - .1) ln(.2/.1)          = 2 x 0.0693147181  = 0.1386294361
    # bins 2 and 9:  2 x (0.0001 - .1) ln(0.0001/.1)  = 2 x 0.6900847524  = 1.3801695048
    expected = np.arange(1, 11, dtype=float)
    actual = np.array([0, 0, 3, 4, 5, 6, 7, 8, 11, 12], dtype=float)
    assert psi(expected, actual) == pytest.approx(1.5187989409, abs=1e-9)


def test_the_same_sample_has_psi_zero_and_the_index_is_symmetric_in_its_terms():
    sample = pd.Series(np.random.default_rng(0).normal(size=500))
    assert psi(sample, sample) == 0.0
    assert psi(sample.to_numpy(), sample.to_numpy()[::-1].copy()) == 0.0
    counts_e, counts_a = np.array([10, 20, 30, 40]), np.array([25, 25, 25, 25])
    assert psi_from_counts(counts_e, counts_a) == pytest.approx(psi_from_counts(counts_a, counts_e))


def test_epsilon_is_the_documented_one():
    # one empty actual bin of two: E = (.5, .5), A = (1, 1e-4)
    expected = (1 - .5) * math.log(1 / .5) + (EPSILON - .5) * math.log(EPSILON / .5)
    assert psi_from_counts(np.array([5, 5]), np.array([10, 0])) == pytest.approx(expected)
    assert EPSILON == 1e-4


@pytest.mark.parametrize(("value", "status"), [(0.0, "ok"), (0.0999, "ok"), (0.1, "watch"), (0.2499, "watch"),
                                               (0.25, "alarm"), (3.0, "alarm")])
def test_status_thresholds(value: float, status: str):
    assert status_of(value, 0.1, 0.25) == status


def test_an_empty_sample_is_refused():
    with pytest.raises(ValueError, match="both samples need at least one row"):
        psi(pd.Series([1.0, 2.0]), pd.Series([], dtype=float))
    with pytest.raises(ValueError, match="same bins"):
        psi_from_counts(np.array([1, 2]), np.array([1, 2, 3]))


def test_csi_is_the_psi_of_each_feature_column():
    # gmv_90d: the same values reordered -> 0
    # days_past_due: 1..10 then 0, 0, 3..8, 11, 12 -> 1.5187989409 (as in the open outer bins test)
    # region: N x 5, S x 5 then N x 2, S x 8: E = (.5, .5), A = (.2, .8)
    #   (.2 - .5) ln(.2/.5) + (.8 - .5) ln(.8/.5) = .3 (ln 2.5 + ln 1.6) = .3 ln 4 = 0.4158883083
    expected = pd.DataFrame({"gmv_90d": np.arange(10, 110, 10), "days_past_due": np.arange(1, 11),
                             "region": ["N"] * 5 + ["S"] * 5})
    actual = pd.DataFrame({"gmv_90d": np.arange(100, 0, -10), "days_past_due": [0, 0, 3, 4, 5, 6, 7, 8, 11, 12],
                           "region": ["N"] * 2 + ["S"] * 8})
    result = csi(expected, actual, ["gmv_90d", "days_past_due", "region"])
    assert result.name == "csi"
    assert result.index.tolist() == ["gmv_90d", "days_past_due", "region"]
    assert result.tolist() == pytest.approx([0.0, 1.5187989409, 0.4158883083], abs=1e-9)


def test_csi_counts_missing_feature_values_as_their_own_bin():
    # expected 1..10: E = .1 in each decile bin, missing 0 -> 1e-4
    # actual 1..5 then five NA: A = .1 in bins 1-5, 0 -> 1e-4 in bins 6-10, .5 missing
    # bins 6-10: 5 x (0.0001 - .1) ln(0.0001/.1) = 5 x 0.6900847524 = 3.4504237619
    # missing:   (.5 - 0.0001) ln(.5/0.0001)    = .4999 x 8.5171931914 = 4.2577448764
    # (dropping the NAs instead would give A = .2 in bins 1-5: a different number)
    expected = pd.DataFrame({"overdue_days": pd.array(range(1, 11), dtype="Float64")})
    actual = pd.DataFrame({"overdue_days": pd.array([1, 2, 3, 4, 5] + [pd.NA] * 5, dtype="Float64")})
    assert csi(expected, actual, ["overdue_days"])["overdue_days"] == pytest.approx(7.7081686382, abs=1e-9)


def test_infinite_values_are_refused():
    with pytest.raises(ValueError, match=re.escape("`actual` must not contain infinite values: an infinite value "
                                                   "has no decile; got 1.")):
        psi([1.0, 2.0, 3.0], [1.0, np.inf, 3.0])


def test_a_sample_of_more_than_one_dimension_is_refused():
    with pytest.raises(ValueError, match=re.escape("`expected` must be one-dimensional; got shape (2, 2).")):
        psi([[1.0, 2.0], [3.0, 4.0]], [1.0, 2.0])


def test_csi_refuses_a_frame_without_the_column():
    frame = pd.DataFrame({"gmv_90d": [1, 2]})
    with pytest.raises(ValueError, match=re.escape("`actual_frame` lacks column(s) ['region'].")):
        csi(frame.assign(region=["N", "S"]), frame, ["gmv_90d", "region"])
