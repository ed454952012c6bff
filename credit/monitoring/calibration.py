"""Realised against predicted default rates, with Clopper-Pearson intervals, by grade and by vintage.

A *vintage* is an as-of month: the firms scored then form a cohort whose 12-month outcome is
known once the history runs 12 months past it (the label has *matured*). For each matured
vintage the realised default rate (defaults / firms) is compared with the predicted rate
(the mean PD the model gives those firms).

By grade, one cohort is used: the latest matured vintage. Each firm then counts once, so the
number of defaults in a grade is (close to) binomial and its interval means what it says;
pooling overlapping monthly cohorts would count one default up to 12 times and make the
intervals far too narrow. Defaults within a grade are still correlated through industry and
macro cycles, which a binomial interval ignores: in a downturn many grades fall outside it
together, which is the point of looking.

Interval: **Clopper-Pearson** (the "exact" binomial interval, from the beta distribution),
chosen over Wilson because its coverage is never below the nominal level, including for the
few defaults of the best grades, so a calm book does not raise false alarms by construction:

    lower = B(alpha/2; k, n - k + 1)      (0 when k = 0)
    upper = B(1 - alpha/2; k + 1, n - k)  (1 when k = n)

with ``B(q; a, b)`` the q-quantile of the Beta(a, b) distribution, ``k`` defaults among ``n``
firms and ``alpha = 1 - confidence``.

Status of a grade: ``ok`` when its predicted rate lies inside the ``confidence`` interval
(95%), ``alarm`` when it lies outside the ``alarm_confidence`` interval (99.9%), ``watch``
in between: the green, red and yellow zones of the Basel traffic-light test.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from scipy.stats import beta

from credit.monitoring.results import GradeCalibration, VintageCalibration


def clopper_pearson(defaults: int, firms: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Clopper-Pearson (exact) interval of a binomial proportion.

    Parameters
    ----------
    defaults
        Successes ``k`` (defaults), 0 <= k <= n.
    firms
        Trials ``n`` (firms), >= 1.
    confidence
        Two-sided level in (0, 1), e.g. 0.95.

    Returns
    -------
    low, high
        The interval; ``low`` is 0 when ``k = 0`` and ``high`` is 1 when ``k = n``.

    Raises
    ------
    ValueError
        If the counts or the level are out of range.
    """
    if isinstance(firms, bool) or not isinstance(firms, int | np.integer) or firms < 1:
        raise ValueError(f"`firms` must be an integer >= 1; got {firms!r}.")
    if isinstance(defaults, bool) or not isinstance(defaults, int | np.integer) or not 0 <= defaults <= firms:
        raise ValueError(f"`defaults` must be an integer in [0, firms={firms}]; got {defaults!r}.")
    if not 0 < confidence < 1:
        raise ValueError(f"`confidence` must be in (0, 1); got {confidence!r}.")
    alpha = 1 - confidence
    low = 0.0 if defaults == 0 else float(beta.ppf(alpha / 2, defaults, firms - defaults + 1))
    high = 1.0 if defaults == firms else float(beta.ppf(1 - alpha / 2, defaults + 1, firms - defaults))
    return low, high


def calibration_status(predicted: float, defaults: int, firms: int, confidence: float,
                       alarm_confidence: float) -> str:
    """``ok`` inside the ``confidence`` interval, ``alarm`` outside the ``alarm_confidence`` one, else ``watch``."""
    low, high = clopper_pearson(defaults, firms, confidence)
    if low <= predicted <= high:
        return "ok"
    low, high = clopper_pearson(defaults, firms, alarm_confidence)
    return "watch" if low <= predicted <= high else "alarm"


def by_grade(grades: np.ndarray, pd_: np.ndarray, defaulted: np.ndarray, grade_order: tuple[str, ...], *,
             confidence: float = 0.95, alarm_confidence: float = 0.999) -> tuple[GradeCalibration, ...]:
    """Realised against predicted default rate of each grade that holds firms, best grade first.

    Parameters
    ----------
    grades
        Each firm's grade (the policy's master scale of its PD).
    pd_
        Each firm's PD.
    defaulted
        Each firm's matured outcome, 0 or 1.
    grade_order
        The master scale's grades, best first.
    confidence, alarm_confidence
        Levels of the watch and alarm intervals.

    Returns
    -------
    tuple of GradeCalibration
    """
    frame = pd.DataFrame({"grade": grades, "pd": np.asarray(pd_, float), "defaulted": np.asarray(defaulted, int)})
    rows = []
    for grade in grade_order:
        group = frame[frame.grade == grade]
        if group.empty:
            continue
        firms, defaults, predicted = len(group), int(group.defaulted.sum()), float(group.pd.mean())
        low, high = clopper_pearson(defaults, firms, confidence)
        rows.append(GradeCalibration(grade=grade, firms=firms, defaults=defaults, predicted_rate=predicted,
                                     realised_rate=defaults / firms, ci_low=low, ci_high=high,
                                     status=calibration_status(predicted, defaults, firms, confidence,
                                                               alarm_confidence)))
    return tuple(rows)


def by_vintage(vintages: np.ndarray, pd_: np.ndarray, defaulted: np.ndarray, training: tuple[date, date], *,
               confidence: float = 0.95) -> tuple[VintageCalibration, ...]:
    """Realised against predicted default rate of each vintage (as-of month), oldest first.

    Parameters
    ----------
    vintages
        Each row's as-of date (rows of matured vintages only).
    pd_, defaulted
        Each row's PD and matured outcome.
    training
        The model's training window (first and last as-of date), to mark the vintages it was fitted on.
    confidence
        Level of the interval.
    """
    frame = pd.DataFrame({"vintage": pd.to_datetime(vintages).date, "pd": np.asarray(pd_, float),
                          "defaulted": np.asarray(defaulted, int)})
    rows = []
    for vintage, group in frame.groupby("vintage", sort=True):
        firms, defaults = len(group), int(group.defaulted.sum())
        low, high = clopper_pearson(defaults, firms, confidence)
        rows.append(VintageCalibration(vintage=vintage, firms=firms, defaults=defaults,
                                       predicted_rate=float(group.pd.mean()), realised_rate=defaults / firms,
                                       ci_low=low, ci_high=high, in_training=training[0] <= vintage <= training[1]))
    return tuple(rows)
