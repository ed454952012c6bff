"""The promotion gate on PDs whose quality is known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from credit.models.config import PromotionPolicy
from credit.models.metrics import hosmer_lemeshow
from credit.models.promotion import promotion_decision

POLICY = PromotionPolicy(min_auc_gain=0.005, max_brier_increase=0.0, max_calibration_z=2.58,
                         min_hosmer_lemeshow_p=0.01)


@pytest.fixture(scope="module")
def book() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcomes drawn from a known PD; a 'blurred' PD ranks worse but is as well calibrated on average."""
    rng = np.random.default_rng(11)
    risk = rng.normal(size=20_000)
    true_pd = 1 / (1 + np.exp(-(-3.5 + 1.2 * risk)))
    y = (rng.random(len(risk)) < true_pd).astype(int)
    blurred_risk = risk + rng.normal(scale=1.0, size=len(risk))
    # the blurred score keeps the mean PD: slope 1.2 / sqrt(2) roughly preserves the spread it can justify
    blurred_pd = 1 / (1 + np.exp(-(-3.3 + 0.85 * blurred_risk)))
    return y, true_pd, blurred_pd


def test_a_worse_challenger_is_refused_on_auc_and_brier(book) -> None:  # noqa: ANN001
    y, true_pd, blurred_pd = book
    decision = promotion_decision(y, blurred_pd, true_pd, policy=POLICY, resamples=100)
    checks = {c.name: c for c in decision.checks}
    assert not decision.promote
    assert not checks["auc_gain"].passed and checks["auc_gain"].value < -0.03
    assert not checks["brier_increase"].passed
    low, high = decision.auc_gain_interval
    assert high < 0  # the bootstrap is sure it is worse
    assert any(line.startswith("FAIL  auc_gain") for line in decision.reasons())


def test_a_better_calibrated_challenger_is_promoted(book) -> None:  # noqa: ANN001
    y, true_pd, blurred_pd = book
    decision = promotion_decision(y, true_pd, blurred_pd, policy=POLICY, resamples=100)
    assert decision.promote, decision.reasons()
    assert [c.name for c in decision.checks] == ["auc_gain", "brier_increase", "calibration_in_the_large",
                                                 "hosmer_lemeshow"]


def test_a_better_ranking_but_miscalibrated_challenger_is_refused(book) -> None:  # noqa: ANN001
    y, true_pd, blurred_pd = book
    doubled = np.minimum(2 * true_pd, 1.0)  # same ranking as the truth, PDs twice too high
    decision = promotion_decision(y, doubled, blurred_pd, policy=POLICY.__class__(
        min_auc_gain=0.005, max_brier_increase=1.0, max_calibration_z=2.58, min_hosmer_lemeshow_p=0.01), resamples=50)
    checks = {c.name: c.passed for c in decision.checks}
    assert checks == {"auc_gain": True, "brier_increase": True, "calibration_in_the_large": False,
                      "hosmer_lemeshow": False}
    assert not decision.promote


def test_equal_models_do_not_clear_the_margin(book) -> None:  # noqa: ANN001
    y, true_pd, _ = book
    decision = promotion_decision(y, true_pd, true_pd.copy(), policy=POLICY, resamples=20)
    gain = next(c for c in decision.checks if c.name == "auc_gain")
    assert gain.value == 0 and not gain.passed and not decision.promote


def test_without_a_champion_only_calibration_is_judged(book) -> None:  # noqa: ANN001
    y, true_pd, _ = book
    decision = promotion_decision(y, true_pd, None, policy=POLICY)
    assert decision.promote and decision.auc_gain_interval is None
    assert [c.name for c in decision.checks] == ["calibration_in_the_large", "hosmer_lemeshow"]


def test_calibration_is_judged_date_by_date_so_repeated_firms_are_not_counted_as_new_evidence() -> None:
    # One book of 3,000 firms observed at three as-of dates with the same outcome at each (a
    # firm's 12-month label barely changes from one month to the next). The PDs are the true
    # ones, perturbed so H is 21.5 on one date: p 0.018 with 10 degrees of freedom, a pass at
    # 0.01. Pooled, every bin's (O - E) triples but its variance only triples, so H triples to
    # 64.6 and p collapses to 5e-10: the same evidence, counted three times.
    rng = np.random.default_rng(5)
    true_pd = 1 / (1 + np.exp(-(-3.2 + rng.normal(size=3_000))))
    y = (rng.random(3_000) < true_pd).astype(int)
    pd_ = np.clip(true_pd * np.exp(rng.normal(scale=0.25, size=3_000)), 1e-4, 1 - 1e-4)
    one_date = promotion_decision(y, pd_, None, policy=POLICY)
    h_one = next(c for c in one_date.checks if c.name == "hosmer_lemeshow")
    assert h_one.passed
    y3, pd3 = np.tile(y, 3), np.tile(pd_, 3)
    dates = np.repeat(np.array(["2025-10-01", "2025-11-01", "2025-12-01"], dtype="datetime64[D]"), 3_000)
    pooled = {c.name: c for c in promotion_decision(y3, pd3, None, policy=POLICY).checks}
    assert hosmer_lemeshow(y3, pd3).statistic == pytest.approx(3 * hosmer_lemeshow(y, pd_).statistic)
    assert not pooled["hosmer_lemeshow"].passed and pooled["hosmer_lemeshow"].value < 1e-8
    by_date = {c.name: c for c in promotion_decision(y3, pd3, None, policy=POLICY, groups=dates).checks}
    assert by_date["hosmer_lemeshow"].passed and by_date["calibration_in_the_large"].passed
    # each of the 3 dates at the Bonferroni level: p >= 0.01 / 3, |z| <= z(0.00988 / 6 = 0.001647) = 2.939 (tables: 1 - Phi(2.939) = 0.001646)
    assert by_date["hosmer_lemeshow"].threshold == pytest.approx(0.01 / 3)
    assert by_date["calibration_in_the_large"].threshold == pytest.approx(2.939, abs=0.001)
    assert by_date["hosmer_lemeshow"].value == pytest.approx(h_one.value)
    assert "worst of 3 as-of dates, 2025-10-01" in by_date["hosmer_lemeshow"].detail


def test_a_miscalibrated_model_still_fails_date_by_date(book) -> None:  # noqa: ANN001
    y, true_pd, _ = book
    doubled = np.minimum(2 * true_pd, 1.0)
    dates = np.repeat(np.array(["2025-10-01", "2025-11-01"], dtype="datetime64[D]"), len(y) // 2)
    checks = {c.name: c.passed for c in promotion_decision(y, doubled, None, policy=POLICY, groups=dates).checks}
    assert checks == {"calibration_in_the_large": False, "hosmer_lemeshow": False}
