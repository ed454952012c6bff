"""Clopper-Pearson intervals against closed forms and published values; calibration by grade and vintage."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from credit.monitoring.calibration import by_grade, by_vintage, calibration_status, clopper_pearson


def _binomial_cdf(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def test_no_default_in_ten_has_the_closed_form_upper_end():
    # P(X = 0 | p) = (1 - p)^10 = 0.025  ->  p = 1 - 0.025^(1/10) = 0.3084971078
    assert clopper_pearson(0, 10) == (0.0, pytest.approx(0.3084971078, abs=1e-9))


def test_all_defaulted_has_the_mirror_image():
    # P(X = 10 | p) = p^10 = 0.025  ->  p = 0.025^(1/10) = 0.6915028922
    assert clopper_pearson(10, 10) == (pytest.approx(0.6915028922, abs=1e-9), 1.0)


def test_one_default_in_ten_lower_end_closed_form_and_upper_end_as_published():
    # P(X >= 1 | p) = 1 - (1 - p)^10 = 0.025  ->  p = 1 - 0.975^(1/10) = 0.0025285785
    # upper end 0.4450 (Clopper & Pearson tables; also R's binom.test(1, 10))
    low, high = clopper_pearson(1, 10)
    assert low == pytest.approx(0.0025285785, abs=1e-9)
    assert high == pytest.approx(0.4450161, abs=1e-6)


def test_five_in_ten_as_published():
    # binom.test(5, 10) in R: 0.1870860 0.8129140
    assert clopper_pearson(5, 10) == (pytest.approx(0.1870860, abs=1e-6), pytest.approx(0.8129140, abs=1e-6))


@pytest.mark.parametrize(("k", "n", "confidence"), [(2, 200, 0.95), (17, 480, 0.95), (3, 1000, 0.999)])
def test_the_ends_solve_the_binomial_tail_equations(k: int, n: int, confidence: float):
    alpha = 1 - confidence
    low, high = clopper_pearson(k, n, confidence)
    assert _binomial_cdf(k, n, high) == pytest.approx(alpha / 2, abs=1e-9)  # P(X <= k | high) = alpha/2
    assert 1 - _binomial_cdf(k - 1, n, low) == pytest.approx(alpha / 2, abs=1e-9)  # P(X >= k | low) = alpha/2


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="`firms` must be an integer >= 1"):
        clopper_pearson(0, 0)
    with pytest.raises(ValueError, match=r"`defaults` must be an integer in \[0, firms=5\]"):
        clopper_pearson(6, 5)
    with pytest.raises(ValueError, match="`confidence` must be in"):
        clopper_pearson(1, 5, 1.0)


def test_status_is_ok_inside_95_watch_between_and_alarm_outside_999():
    # 2 defaults in 200: the 95% interval is about [0.0012, 0.0357], the 99.9% one reaches about 0.0588
    low95, high95 = clopper_pearson(2, 200, 0.95)
    _, high999 = clopper_pearson(2, 200, 0.999)
    assert high95 < 0.04 < high999 < 0.1
    assert calibration_status(0.01, 2, 200, 0.95, 0.999) == "ok"
    assert calibration_status(0.04, 2, 200, 0.95, 0.999) == "watch"
    assert calibration_status(0.10, 2, 200, 0.95, 0.999) == "alarm"


def test_by_grade_counts_each_grade_in_scale_order_and_flags_the_miscalibrated_one():
    grades = np.array(["C"] * 100 + ["A"] * 200)
    pd_ = np.array([0.30] * 100 + [0.002] * 200)  # C predicts 30%, A 0.2%
    defaulted = np.array([1] * 5 + [0] * 95 + [0] * 200)  # C realises 5%: far below its 30%
    rows = by_grade(grades, pd_, defaulted, ("A", "B", "C"))
    assert [r.grade for r in rows] == ["A", "C"]  # best first; B holds no firm
    a, c = rows
    assert (a.firms, a.defaults, a.realised_rate, a.status) == (200, 0, 0.0, "ok")
    assert (c.firms, c.defaults, c.realised_rate, c.predicted_rate) == (100, 5, 0.05, pytest.approx(0.30))
    assert (c.ci_low, c.ci_high) == clopper_pearson(5, 100) and c.status == "alarm"


def test_by_vintage_groups_as_of_months_and_marks_the_training_ones():
    vintages = np.array(["2024-01-01"] * 4 + ["2024-02-01"] * 2, dtype="datetime64[us]")
    rows = by_vintage(vintages, np.array([0.1, 0.1, 0.3, 0.3, 0.5, 0.5]), np.array([0, 1, 0, 0, 1, 1]),
                      (date(2023, 6, 1), date(2024, 1, 1)))
    assert [(r.vintage, r.firms, r.defaults, r.in_training) for r in rows] == [
        (date(2024, 1, 1), 4, 1, True), (date(2024, 2, 1), 2, 2, False)]
    assert rows[0].predicted_rate == pytest.approx(0.2) and rows[0].realised_rate == 0.25
