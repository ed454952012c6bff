"""The promotion gate: does a challenger replace the champion?

Both models are judged on the same rows: the latest out-of-time window, which neither was
fitted or calibrated on. The challenger must rank better by a margin, not be less accurate
(Brier), and be calibrated on its own: its defaults match the number its PDs expect
(calibration in the large) and the PD deciles do not reject (Hosmer-Lemeshow). Without a
champion only the calibration checks apply. Every check is kept, passed or not, so the
decision can say exactly why.

A test window holds several as-of dates, and a firm's rows at consecutive dates share most
of their 12-month outcome: a default in month 5 labels all three rows of a quarter. Pooled,
those rows look like three times the independent evidence, and both calibration tests reject
a well-calibrated model far too often (on the demo, Hosmer-Lemeshow gave p 0.58, 0.21 and
0.10 on the three dates alone, and 0.008 pooled). So the calibration checks are run date by
date, where each firm counts once, and every date must pass at the Bonferroni level: the
policy's test level divided by the number of dates, valid whatever the dependence between
dates. The check reports the worst date.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import norm

from credit.models.config import PromotionPolicy
from credit.models.metrics import auc, bootstrap_auc_difference, brier, calibration_in_the_large, hosmer_lemeshow


@dataclass(frozen=True)
class GateCheck:
    """One condition of the gate, with the measured value and the threshold it was held to."""

    name: str
    passed: bool
    value: float
    threshold: float
    detail: str


@dataclass(frozen=True)
class PromotionDecision:
    """The gate's verdict and every check behind it.

    Attributes
    ----------
    promote : bool
        True when every check passed.
    checks : list of GateCheck
    auc_gain_interval : tuple of float or None
        Paired bootstrap 95% interval of challenger AUC minus champion AUC (None without a
        champion): how sure the gain is, shown beside the point estimate the gate uses.
    """

    promote: bool
    checks: list[GateCheck]
    auc_gain_interval: tuple[float, float] | None

    def reasons(self) -> list[str]:
        """One line per check: ``pass`` or ``FAIL``, then what was measured against what."""
        return [f"{'pass' if c.passed else 'FAIL'}  {c.name}: {c.detail}" for c in self.checks]

    def as_dict(self) -> dict:
        return {"promote": self.promote, "checks": [asdict(c) for c in self.checks],
                "auc_gain_interval": self.auc_gain_interval}


def promotion_decision(y, pd_challenger, pd_champion=None, *, policy: PromotionPolicy, groups=None,
                       resamples: int = 500, random_state: int = 0) -> PromotionDecision:
    """Judge a challenger against the champion (if any) on the same labelled rows.

    Parameters
    ----------
    y : array-like of shape (n,)
        Default labels of the test rows, 0 or 1, both classes present.
    pd_challenger, pd_champion : array-like of shape (n,)
        Each model's PDs on those rows; ``pd_champion`` None when there is no champion yet.
    policy : PromotionPolicy
        The thresholds (``[promotion]`` of the model configuration).
    groups : array-like of shape (n,), optional
        The as-of date of each row. The calibration checks then run within each date at the
        policy's level divided by the number of dates (see the module's docstring); without
        it, all rows are taken as independent.
    resamples, random_state
        The paired bootstrap of the AUC gain (reported, not gated on).

    Returns
    -------
    PromotionDecision

    Raises
    ------
    ValueError
        If the labels are not 0/1 with both classes, a PD is outside [0, 1], or lengths differ.
    """
    y = np.asarray(y, dtype=float)
    challenger = np.asarray(pd_challenger, dtype=float)
    checks = _calibration_checks(y, challenger, policy, groups)
    interval = None
    if pd_champion is not None:
        champion = np.asarray(pd_champion, dtype=float)
        auc_challenger, auc_champion = auc(y, challenger), auc(y, champion)
        gain = auc_challenger - auc_champion
        checks.insert(0, GateCheck(
            "auc_gain", gain >= policy.min_auc_gain, gain, policy.min_auc_gain,
            f"AUC {auc_challenger:.4f} vs champion {auc_champion:.4f}: gain {gain:+.4f}, "
            f"needs >= {policy.min_auc_gain:+.4f}"))
        brier_challenger, brier_champion = brier(y, challenger), brier(y, champion)
        increase = brier_challenger - brier_champion
        checks.insert(1, GateCheck(
            "brier_increase", increase <= policy.max_brier_increase, increase, policy.max_brier_increase,
            f"Brier {brier_challenger:.5f} vs champion {brier_champion:.5f}: change {increase:+.5f}, "
            f"needs <= {policy.max_brier_increase:+.5f}"))
        result = bootstrap_auc_difference(y, challenger, champion, n=resamples, random_state=random_state)
        interval = (result.low, result.high)
    return PromotionDecision(all(c.passed for c in checks), checks, interval)


def _calibration_checks(y: np.ndarray, pd_: np.ndarray, policy: PromotionPolicy, groups) -> list[GateCheck]:  # noqa: ANN001
    if groups is None:
        keys, codes = np.array(["all rows"]), np.zeros(len(y), dtype=int)
    else:
        keys, codes = np.unique(np.asarray(groups), return_inverse=True)
    dates = len(keys)
    # the policy's two-sided level for z, then each date tested at level / dates
    z_level = 2 * norm.sf(policy.max_calibration_z)
    max_z = float(norm.isf(z_level / (2 * dates)))
    min_p = policy.min_hosmer_lemeshow_p / dates
    worst_z = worst_h = None
    for group in range(dates):
        rows = codes == group
        large = calibration_in_the_large(y[rows], pd_[rows])
        deciles = hosmer_lemeshow(y[rows], pd_[rows])
        if worst_z is None or abs(large.statistic) > abs(worst_z[1].statistic):
            worst_z = (group, large, int(y[rows].sum()), float(pd_[rows].sum()))
        if worst_h is None or deciles.p_value < worst_h[1].p_value:
            worst_h = (group, deciles)
    where = (lambda group: "" if groups is None else
             f"worst of {dates} as-of date{'s' if dates > 1 else ''}, {_label(keys[group])}: ")
    group, large, observed, expected = worst_z
    group_h, deciles = worst_h
    return [
        GateCheck("calibration_in_the_large", abs(large.statistic) <= max_z, large.statistic, max_z,
                  f"{where(group)}{observed} defaults observed, {expected:.1f} expected by the PDs: "
                  f"z {large.statistic:+.2f}, needs |z| <= {max_z:.2f}"),
        GateCheck("hosmer_lemeshow", deciles.p_value >= min_p, deciles.p_value, min_p,
                  f"{where(group_h)}H {deciles.statistic:.2f} over PD deciles, p-value {deciles.p_value:.3g}, "
                  f"needs >= {min_p:.3g}"),
    ]


def _label(key) -> str:  # noqa: ANN001
    return str(key)[:10]  # an as-of date (numpy datetime64 or Timestamp) as YYYY-MM-DD
