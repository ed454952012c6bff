"""The promotion gate on PDs whose quality is known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from credit.models.config import PromotionPolicy
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
