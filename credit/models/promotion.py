"""The promotion gate: does a challenger replace the champion?

Both models are judged on the same rows: the latest out-of-time window, which neither was
fitted or calibrated on. The challenger must rank better by a margin, not be less accurate
(Brier), and be calibrated on its own: its defaults match the number its PDs expect
(calibration in the large) and the PD deciles do not reject (Hosmer-Lemeshow). Without a
champion only the calibration checks apply. Every check is kept, passed or not, so the
decision can say exactly why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from credit.models.config import PromotionPolicy
from credit.models.metrics import auc, bootstrap_interval, brier, calibration_in_the_large, hosmer_lemeshow


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


def promotion_decision(y, pd_challenger, pd_champion=None, *, policy: PromotionPolicy,
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
    checks = _calibration_checks(y, challenger, policy)
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
        # the "scores" resampled are row numbers, so both models are scored on the same resample
        result = bootstrap_interval(
            lambda labels, rows: auc(labels, challenger[rows.astype(int)]) - auc(labels, champion[rows.astype(int)]),
            y, np.arange(len(y)), n=resamples, random_state=random_state)
        interval = (result.low, result.high)
    return PromotionDecision(all(c.passed for c in checks), checks, interval)


def _calibration_checks(y: np.ndarray, pd_: np.ndarray, policy: PromotionPolicy) -> list[GateCheck]:
    large = calibration_in_the_large(y, pd_)
    deciles = hosmer_lemeshow(y, pd_)
    return [
        GateCheck("calibration_in_the_large", abs(large.statistic) <= policy.max_calibration_z, large.statistic,
                  policy.max_calibration_z,
                  f"{int(y.sum())} defaults observed, {pd_.sum():.1f} expected by the PDs: z {large.statistic:+.2f}, "
                  f"needs |z| <= {policy.max_calibration_z:g}"),
        GateCheck("hosmer_lemeshow", deciles.p_value >= policy.min_hosmer_lemeshow_p, deciles.p_value,
                  policy.min_hosmer_lemeshow_p,
                  f"H {deciles.statistic:.2f} over PD deciles, p-value {deciles.p_value:.3g}, "
                  f"needs >= {policy.min_hosmer_lemeshow_p:g}"),
    ]
