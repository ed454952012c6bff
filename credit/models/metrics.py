"""How good a credit-risk model is: discrimination, calibration, rank order, uncertainty.

Pure functions over arrays, for the evaluation step of SPEC 3.5 and the promotion gate.
AUC, Brier score and log loss are scikit-learn's (``sklearn.metrics``), behind the checks and
conventions below; what scikit-learn lacks is computed here: the KS threshold, calibration
tables and tests (Hosmer-Lemeshow), rank ordering and bootstrap intervals. The population and
characteristic stability indices (PSI, CSI) are in :mod:`credit.monitoring.psi`.

Conventions used throughout:

- ``y`` is the default label: 1 = the firm defaulted (a "bad"), 0 = it did not (a "good").
- A ``score`` is a risk score: **higher means more likely to default**, as a PD is. To
  evaluate scorecard points, where more points mean a better firm, pass minus the points.
- ``p`` is a predicted probability of default (PD) in [0, 1].

Inputs are validated, and refused with a :class:`ValueError` that names the argument, says
what it must be and shows what it got.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.stats import chi2, fisher_exact, norm, rankdata
from sklearn import metrics as sklearn_metrics
from sklearn.utils import check_random_state

_LABELS = [0, 1]  # told to scikit-learn, so a sample of one class is still scored as 0/1


class KS(NamedTuple):
    """Kolmogorov-Smirnov statistic and the score at which it is reached."""

    statistic: float
    threshold: float


class RankOrdering(NamedTuple):
    """Bad rate per score band, and whether it never rises as the score gets better."""

    table: pd.DataFrame
    monotone: bool


class BootstrapInterval(NamedTuple):
    """A metric on the full sample, its percentile interval, and the resamples skipped."""

    point: float
    low: float
    high: float
    skipped: int


# ---------------------------------------------------------------------------------------------
# Discrimination and accuracy
# ---------------------------------------------------------------------------------------------


def auc(y, score) -> float:
    """Area under the ROC curve: the chance a random bad scores riskier than a random good.

    scikit-learn's ``roc_auc_score``: a (bad, good) pair counts 1 when the bad has the higher
    score, 1/2 when their scores tie and 0 otherwise (the Mann-Whitney U over all pairs).

    Parameters
    ----------
    y : array-like of shape (n,)
        Default labels, 0 or 1.
    score : array-like of shape (n,)
        Risk scores, higher = more likely to default.

    Returns
    -------
    float
        AUC in [0, 1]; 0.5 is no better than chance.

    Raises
    ------
    ValueError
        If ``y`` is not 0/1, ``score`` is not finite, the lengths differ, or ``y`` has one
        class only.
    """
    y, score = _labels_and_scores(y, score, "score")
    _require_both_classes(y, "AUC")
    return float(sklearn_metrics.roc_auc_score(y, score))


def gini(y, score) -> float:
    """Gini coefficient (accuracy ratio), ``2 * AUC - 1``.

    Parameters
    ----------
    y : array-like of shape (n,)
        Default labels, 0 or 1.
    score : array-like of shape (n,)
        Risk scores, higher = more likely to default.

    Returns
    -------
    float
        Gini in [-1, 1]; 0 is no better than chance.

    Raises
    ------
    ValueError
        As :func:`auc`.
    """
    y, score = _labels_and_scores(y, score, "score")
    _require_both_classes(y, "Gini")
    return 2.0 * float(sklearn_metrics.roc_auc_score(y, score)) - 1.0


def ks(y, score) -> KS:
    """Kolmogorov-Smirnov statistic: the largest gap between the score CDFs of goods and bads.

    With ``G(t)`` and ``B(t)`` the shares of goods and of bads scoring ``<= t``, the statistic
    is ``max |G(t) - B(t)|`` over the observed scores. Tied scores move together: the CDFs
    are only compared after every row at a score has been counted.

    Parameters
    ----------
    y : array-like of shape (n,)
        Default labels, 0 or 1.
    score : array-like of shape (n,)
        Risk scores, higher = more likely to default.

    Returns
    -------
    KS
        ``statistic`` in [0, 1], and ``threshold``: the score ``t`` where the gap is
        largest, i.e. the cut "score <= t" against "score > t" that separates goods from
        bads best. When several scores reach the maximum, the lowest is returned.

    Raises
    ------
    ValueError
        As :func:`auc`.
    """
    y, score = _labels_and_scores(y, score, "score")
    _require_both_classes(y, "KS")
    order = np.argsort(score, kind="stable")
    sorted_score, sorted_y = score[order], y[order].astype(np.int64)
    bads_below = np.cumsum(sorted_y)
    goods_below = np.arange(1, len(y) + 1) - bads_below
    last_of_each_score = np.r_[sorted_score[1:] != sorted_score[:-1], True]
    n_bad = int(sorted_y.sum())
    n_good = len(y) - n_bad
    # |G - B| scaled by n_good * n_bad is an exact integer, so equal gaps compare equal and
    # the lowest threshold wins ties reliably
    scaled_gap = np.abs(goods_below * n_bad - bads_below * n_good)[last_of_each_score]
    best = int(np.argmax(scaled_gap))
    return KS(float(scaled_gap[best] / (n_good * n_bad)), float(sorted_score[last_of_each_score][best]))


def brier(y, p) -> float:
    """Brier score: the mean squared difference between the PD and the outcome (scikit-learn's).

    Parameters
    ----------
    y : array-like of shape (n,)
        Default labels, 0 or 1.
    p : array-like of shape (n,)
        Predicted probabilities of default.

    Returns
    -------
    float
        Brier score in [0, 1]; lower is better.

    Raises
    ------
    ValueError
        If ``y`` is not 0/1, ``p`` is not in [0, 1], or the lengths differ.
    """
    y, p = _labels_and_probabilities(y, p)
    return float(sklearn_metrics.brier_score_loss(y, p, labels=_LABELS))


def log_loss(y, p) -> float:
    """Log loss: the mean of ``-ln`` of the probability the model gave to what happened.

    scikit-learn's ``log_loss``: ``p`` is clipped to [eps, 1 - eps] with eps the float64
    machine epsilon (2**-52), so a certain but wrong PD costs ``-ln(2**-52) = 36.04``
    instead of infinity.

    Parameters
    ----------
    y : array-like of shape (n,)
        Default labels, 0 or 1.
    p : array-like of shape (n,)
        Predicted probabilities of default.

    Returns
    -------
    float
        Log loss, >= 0; lower is better.

    Raises
    ------
    ValueError
        If ``y`` is not 0/1, ``p`` is not in [0, 1], or the lengths differ.
    """
    y, p = _labels_and_probabilities(y, p)
    return float(sklearn_metrics.log_loss(y, p, labels=_LABELS))


# ---------------------------------------------------------------------------------------------
# Calibration and rank order
# ---------------------------------------------------------------------------------------------


def calibration_table(y, p, bins: int = 10) -> pd.DataFrame:
    """Predicted PD against the observed default rate, by quantile bin of predicted PD.

    Rows are ranked by PD and cut into ``bins`` groups of near-equal size: the row ranked
    ``k`` (from 0) of ``n`` goes to bin ``floor(k * bins / n) + 1``. Rows with equal PDs all
    take the rank of the first of them, so a PD value is never split between bins and the
    table does not depend on row order; bins that ties leave empty are dropped.

    Parameters
    ----------
    y : array-like of shape (n,)
        Default labels, 0 or 1.
    p : array-like of shape (n,)
        Predicted probabilities of default.
    bins : int, default 10
        Number of quantile bins (10 gives deciles).

    Returns
    -------
    pandas.DataFrame
        One row per non-empty bin, lowest PD first, with columns ``bin`` (1 to ``bins``),
        ``rows``, ``predicted_mean`` (mean PD), ``observed_rate`` (defaults / rows) and
        ``defaults``.

    Raises
    ------
    ValueError
        If ``y`` is not 0/1, ``p`` is not in [0, 1], the lengths differ, or ``bins`` is not
        an integer >= 1.
    """
    y, p = _labels_and_probabilities(y, p)
    _require_integer(bins, "bins", minimum=1)
    first_rank = rankdata(p, method="min").astype(np.int64) - 1
    bin_index = first_rank * bins // len(p)
    table = _outcome_table(y, p, bin_index, bins)
    table.insert(0, "bin", np.arange(1, bins + 1))
    return table[table["rows"] > 0].reset_index(drop=True)



class CalibrationTest(NamedTuple):
    """A statistical test of calibration: its statistic and p-value (small: miscalibrated)."""

    statistic: float
    p_value: float


def calibration_in_the_large(y, p) -> CalibrationTest:
    """Observed against expected defaults over all rows, as a z statistic.

    ``z = (sum(y) - sum(p)) / sqrt(sum(p * (1 - p)))``: the number of defaults minus the
    number the PDs expect, in standard deviations of that number if the PDs are right
    (the supervisor's binomial test, with the normal approximation). The p-value is
    two-sided.

    Parameters
    ----------
    y : array-like of shape (n,)
        Default labels, 0 or 1.
    p : array-like of shape (n,)
        Predicted probabilities of default.

    Returns
    -------
    CalibrationTest
        ``statistic`` is z (positive: more defaults than predicted).

    Raises
    ------
    ValueError
        If ``y`` is not 0/1, ``p`` is not in [0, 1], the lengths differ, or every PD is 0 or 1
        (the variance is zero).
    """
    y, p = _labels_and_probabilities(y, p)
    variance = float(np.sum(p * (1 - p)))
    if variance == 0:
        raise ValueError("every PD in `p` is 0 or 1: the number of defaults has no variance to test against.")
    z = (float(y.sum()) - float(p.sum())) / np.sqrt(variance)
    return CalibrationTest(float(z), float(2 * norm.sf(abs(z))))


def hosmer_lemeshow(y, p, bins: int = 10) -> CalibrationTest:
    """The Hosmer-Lemeshow test over quantile bins of the PD (the bins of :func:`calibration_table`).

    ``H = sum over bins of (O - E)^2 / (E * (1 - E / n))`` with ``O`` the defaults, ``E`` the
    sum of PDs and ``n`` the rows of a bin. The PDs are judged on rows they were not fitted
    on (a test window), so ``H`` is compared with a chi-squared of as many degrees of freedom
    as non-empty bins, not bins - 2 as for in-sample fits. Bins whose PDs are all 0 or all 1
    add nothing.

    Parameters
    ----------
    y : array-like of shape (n,)
        Default labels, 0 or 1.
    p : array-like of shape (n,)
        Predicted probabilities of default.
    bins : int, default 10
        Number of quantile bins.

    Returns
    -------
    CalibrationTest
        ``statistic`` is H.

    Raises
    ------
    ValueError
        As :func:`calibration_table`.
    """
    table = calibration_table(y, p, bins)
    expected = table["predicted_mean"] * table["rows"]
    variance = expected * (1 - table["predicted_mean"])
    used = variance > 0
    statistic = float((((table["defaults"] - expected) ** 2)[used] / variance[used]).sum())
    return CalibrationTest(statistic, float(chi2.sf(statistic, int(used.sum()))))


def calibration_by_grade(y, p, grades, order: Sequence) -> pd.DataFrame:
    """Predicted PD against the observed default rate, by risk grade.

    Parameters
    ----------
    y : array-like of shape (n,)
        Default labels, 0 or 1.
    p : array-like of shape (n,)
        Predicted probabilities of default.
    grades : array-like of shape (n,)
        Each row's grade label.
    order : sequence
        Every grade of the scale, in the order the table lists them (best grade first,
        usually). A grade with no rows is kept, with 0 rows and NaN rates.

    Returns
    -------
    pandas.DataFrame
        One row per grade of ``order``, with columns ``grade``, ``rows``,
        ``predicted_mean``, ``observed_rate`` and ``defaults``.

    Raises
    ------
    ValueError
        If ``y`` is not 0/1, ``p`` is not in [0, 1], the lengths differ, ``order`` repeats a
        label, or ``grades`` has a label that is not in ``order``.
    """
    y, p = _labels_and_probabilities(y, p)
    grades = _one_dimensional(grades, "grades")
    _require_same_length(y, grades, "grades")
    order = list(order)
    repeated = sorted({str(g) for g in order if order.count(g) > 1})
    if repeated:
        raise ValueError(f"`order` has repeated labels: {repeated}.")
    codes = pd.Index(order).get_indexer(grades).astype(np.int64)
    if (codes < 0).any():
        unknown = sorted({str(g) for g in grades[codes < 0]})
        raise ValueError(f"`grades` has labels not in `order`: {unknown}.")
    table = _outcome_table(y, p, codes, len(order))
    table.insert(0, "grade", order)
    return table


def rank_ordering(y, score, bands: Sequence[float]) -> RankOrdering:
    """Bad rate per score band, and whether it never rises as the score gets better.

    A better score is a lower one (higher = more likely to default), so the rank order
    holds (``monotone`` is True) when, going from the lowest band to the highest, the bad
    rate never falls. Equal bad rates in neighbouring bands keep it monotone; empty bands
    are listed but skipped in the check.

    Parameters
    ----------
    y : array-like of shape (n,)
        Default labels, 0 or 1.
    score : array-like of shape (n,)
        Risk scores, higher = more likely to default.
    bands : sequence of float
        Increasing band edges ``e0 < e1 < ... < ek``, giving the bands ``[e0, e1]``,
        ``(e1, e2]``, ..., ``(ek-1, ek]``. Use ``-inf`` and ``inf`` as outer edges to take
        every score.

    Returns
    -------
    RankOrdering
        ``table``: one row per band, lowest scores first, with columns ``band`` (the
        interval as text), ``score_low``, ``score_high``, ``rows``, ``defaults`` and
        ``bad_rate`` (defaults / rows, NaN when empty); and ``monotone``.

    Raises
    ------
    ValueError
        If ``y`` is not 0/1, ``score`` is not finite, the lengths differ, ``bands`` is not at
        least two increasing edges, or a score falls outside the bands.
    """
    y, score = _labels_and_scores(y, score, "score")
    edges = np.asarray(bands, dtype=float)
    if edges.ndim != 1 or len(edges) < 2 or np.isnan(edges).any() or (np.diff(edges) <= 0).any():
        raise ValueError(f"`bands` must be at least two increasing edges; got {_shown(edges.ravel())}.")
    band_index = np.searchsorted(edges, score, side="left") - 1
    band_index[score == edges[0]] = 0  # the first band includes its lower edge
    outside = (band_index < 0) | (band_index >= len(edges) - 1)
    if outside.any():
        raise ValueError(
            f"`score` has values outside the bands [{edges[0]:g}, {edges[-1]:g}]; got values {_shown(score[outside])}."
        )
    n_bands = len(edges) - 1
    rows = np.bincount(band_index, minlength=n_bands)
    defaults = np.bincount(band_index, weights=y, minlength=n_bands).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        bad_rate = defaults / rows
    labels = [f"{'[' if i == 0 else '('}{edges[i]:g}, {edges[i + 1]:g}]" for i in range(n_bands)]
    table = pd.DataFrame(
        {
            "band": labels,
            "score_low": edges[:-1],
            "score_high": edges[1:],
            "rows": rows,
            "defaults": defaults,
            "bad_rate": bad_rate,
        }
    )
    observed = bad_rate[rows > 0]
    return RankOrdering(table, bool((np.diff(observed) >= 0).all()))


RANK_ORDER_LEVEL = 0.05
"""A fall in bad rate between neighbouring bands counts as a break below this one-sided p-value."""


class RankOrderVerdict(NamedTuple):
    """Whether the rank order holds, breaks, or falls by no more than chance would.

    ``verdict`` is ``"holds"``, ``"breaks"`` or ``"too few defaults to tell"``; ``falls``
    lists each fall between neighbouring non-empty bands as (safer band, riskier band,
    one-sided p-value).
    """

    verdict: str
    falls: list[tuple[str, str, float]]


def rank_order_verdict(table: pd.DataFrame, level: float = RANK_ORDER_LEVEL) -> RankOrderVerdict:
    """Judge a :func:`rank_ordering` table, telling a real break from a few defaults' noise.

    Each neighbouring pair of non-empty bands whose bad rate falls as the score rises is
    tested with a one-sided Fisher exact test (scipy; is the safer band's default rate
    higher?). The rank order ``"breaks"`` when some fall has a p-value below ``level``; it is
    ``"too few defaults to tell"`` when it falls somewhere but never by more than chance
    would at that level; it ``"holds"`` when it never falls.
    """
    rows = table[table["rows"] > 0]
    falls = []
    for (_, safer), (_, riskier) in zip(rows.iterrows(), rows.iloc[1:].iterrows()):
        if riskier["bad_rate"] < safer["bad_rate"]:
            counts = [[int(safer["defaults"]), int(safer["rows"] - safer["defaults"])],
                      [int(riskier["defaults"]), int(riskier["rows"] - riskier["defaults"])]]
            falls.append((str(safer["band"]), str(riskier["band"]),
                          float(fisher_exact(counts, alternative="greater").pvalue)))
    if not falls:
        return RankOrderVerdict("holds", falls)
    if any(p < level for _, _, p in falls):
        return RankOrderVerdict("breaks", falls)
    return RankOrderVerdict("too few defaults to tell", falls)


# ---------------------------------------------------------------------------------------------
# Uncertainty
# ---------------------------------------------------------------------------------------------


def bootstrap_interval(
    metric: Callable,
    y,
    p,
    n: int = 1000,
    level: float = 0.95,
    random_state=0,
) -> BootstrapInterval:
    """Percentile bootstrap interval of one of this module's metrics.

    Draws ``n`` resamples of the rows with replacement, computes ``metric`` on each, and
    takes the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the results. A
    resample with one class only is skipped (AUC, Gini and KS are undefined there) and
    counted in ``skipped``; the interval comes from the others. The resamples are scored all
    at once from how often each row was drawn (see :func:`bootstrap_intervals`).

    Parameters
    ----------
    metric : callable
        :func:`auc`, :func:`gini`, :func:`ks` (its statistic), :func:`brier` or :func:`log_loss`.
    y : array-like of shape (n,)
        Default labels, 0 or 1; both classes must be present.
    p : array-like of shape (n,)
        Predicted PDs, or risk scores for AUC, Gini and KS.
    n : int, default 1000
        Number of resamples drawn.
    level : float, default 0.95
        Coverage of the interval, strictly between 0 and 1.
    random_state : int, numpy.random.RandomState or None, default 0
        Seed or generator for the resampling, as in scikit-learn.

    Returns
    -------
    BootstrapInterval
        ``point`` (the metric on all rows), ``low``, ``high`` and ``skipped``; unpacks as
        ``point, low, high, skipped``.

    Raises
    ------
    ValueError
        If ``metric`` is not one of the five, ``y`` is not 0/1 or has one class only, the
        lengths differ, ``p`` is not what the metric takes, ``n`` is not an integer >= 1,
        ``level`` is not strictly between 0 and 1, or every resample had one class only.
    """
    return bootstrap_intervals([metric], y, p, n=n, level=level, random_state=random_state)[0]


def bootstrap_intervals(
    metrics: Sequence[Callable],
    y,
    p,
    n: int = 1000,
    level: float = 0.95,
    random_state=0,
) -> list[BootstrapInterval]:
    """:func:`bootstrap_interval` of several metrics, on the same resamples of the rows.

    The same ``random_state`` draws the same resamples as one :func:`bootstrap_interval`
    call per metric would, so the intervals are the same as theirs; the rows are drawn and
    counted once.

    Parameters
    ----------
    metrics : sequence of callables
        Each one of :func:`auc`, :func:`gini`, :func:`ks`, :func:`brier`, :func:`log_loss`.
    y, p, n, level, random_state
        As :func:`bootstrap_interval`.

    Returns
    -------
    list of BootstrapInterval
        One per metric, in the order given.

    Raises
    ------
    ValueError
        As :func:`bootstrap_interval`.
    """
    unknown = [getattr(m, "__name__", repr(m)) for m in metrics if m not in _RESAMPLED_METRICS]
    if unknown:
        raise ValueError(f"`metrics` must be among {', '.join(f.__name__ for f in _RESAMPLED_METRICS)}; "
                         f"got {', '.join(unknown)}.")
    y, p = _bootstrapped(y, p, "p", level, n, probabilities=any(m in (brier, log_loss) for m in metrics))
    points = [_point(metric, y, p) for metric in metrics]
    values, skipped = _resampled([_on_resamples(metrics, y, p)], y, n, random_state)
    return [_interval(point, column, skipped, n, level) for point, column in zip(points, values.T, strict=True)]


def bootstrap_auc_difference(
    y,
    score,
    reference,
    n: int = 1000,
    level: float = 0.95,
    random_state=0,
) -> BootstrapInterval:
    """Paired percentile bootstrap interval of ``AUC(score) - AUC(reference)``.

    Both scores are judged on each resample of the rows (a challenger against the champion,
    the oracle against a model), so what the two share cancels out of the difference.
    Resamples are drawn as by :func:`bootstrap_interval` with the same ``random_state``.

    Parameters
    ----------
    y : array-like of shape (n,)
        Default labels, 0 or 1; both classes must be present.
    score, reference : array-like of shape (n,)
        Risk scores (or PDs) of the same rows, higher = more likely to default.
    n, level, random_state
        As :func:`bootstrap_interval`.

    Returns
    -------
    BootstrapInterval
        The difference on all rows, its interval and the resamples skipped.

    Raises
    ------
    ValueError
        As :func:`bootstrap_interval`, for either score.
    """
    y, score = _bootstrapped(y, score, "score", level, n, probabilities=False)
    reference = _labels_and_scores(y, reference, "reference")[1]
    point = auc(y, score) - auc(y, reference)
    values, skipped = _resampled([_on_resamples([auc], y, score), _on_resamples([auc], y, reference)], y, n,
                                 random_state)
    return _interval(point, values[:, 0] - values[:, 1], skipped, n, level)


# The bootstrap scores a block of resamples at once: a matrix of how often each row was drawn
# (resamples x rows, counts), from which the metrics are sums. A block holds at most this many
# counts (8 MB of int64), so the memory does not grow with the number of resamples.
_BLOCK_COUNTS = 1 << 20


def _bootstrapped(y, p, name: str, level: float, n: int, *, probabilities: bool) -> tuple[np.ndarray, np.ndarray]:
    y = _labels(y)
    p = _one_dimensional(p, name)
    _require_same_length(y, p, name)
    _require_both_classes(y, "a bootstrap interval")
    _require_integer(n, "n", minimum=1)
    if not 0 < level < 1:
        raise ValueError(f"`level` must be strictly between 0 and 1; got {level}.")
    return _labels_and_probabilities(y, p) if probabilities else _labels_and_scores(y, p, name)


def _point(metric: Callable, y: np.ndarray, p: np.ndarray) -> float:
    return float(metric(y, p).statistic if metric is ks else metric(y, p))


def _resampled(kernels: list[Callable[[np.ndarray], np.ndarray]], y: np.ndarray, n: int,
               random_state) -> tuple[np.ndarray, int]:
    """The kernels' columns on every resample with both classes (resamples x columns), and the resamples skipped."""
    generator = check_random_state(random_state)
    rows = len(y)
    block = max(1, _BLOCK_COUNTS // rows)
    values, skipped = [], 0
    for first in range(0, n, block):
        size = min(block, n - first)
        # one draw of size x rows gives the same rows, in the same order, as `size` draws of `rows`
        drawn = generator.randint(0, rows, size=(size, rows))
        counts = np.bincount((drawn + rows * np.arange(size)[:, None]).ravel(), minlength=size * rows)
        counts = counts.reshape(size, rows)
        bads = counts @ y.astype(np.int64)
        both = (bads > 0) & (bads < rows)
        skipped += int(size - both.sum())
        if both.any():
            counts = counts[both]
            values.append(np.hstack([kernel(counts) for kernel in kernels]))
    if not values:
        raise ValueError(f"all {n} resamples had one class only; draw more resamples or use more rows.")
    return np.vstack(values), skipped


def _interval(point: float, values: np.ndarray, skipped: int, n: int, level: float) -> BootstrapInterval:
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return BootstrapInterval(point, float(low), float(high), skipped)


def _by_score(y: np.ndarray, score: np.ndarray) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Counts of bads and of goods per distinct score (lowest first), for a block of resample counts."""
    order = np.argsort(score, kind="stable")
    sorted_score = score[order]
    first_of_each_score = np.flatnonzero(np.r_[True, sorted_score[1:] != sorted_score[:-1]])
    is_bad = y[order].astype(np.int64)

    def bads_and_goods(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        drawn = counts[:, order]
        bads = np.add.reduceat(drawn * is_bad, first_of_each_score, axis=1)
        return bads, np.add.reduceat(drawn, first_of_each_score, axis=1) - bads

    return bads_and_goods


def _auc_by_score(bads: np.ndarray, goods: np.ndarray) -> np.ndarray:
    # Mann-Whitney over the drawn rows: a bad beats the goods scored below it, and half of
    # those tied with it. Twice the count is an exact integer.
    goods_below = np.cumsum(goods, axis=1) - goods
    twice_wins = (bads * (2 * goods_below + goods)).sum(axis=1)
    return twice_wins / (2.0 * bads.sum(axis=1) * goods.sum(axis=1))


def _ks_by_score(bads: np.ndarray, goods: np.ndarray) -> np.ndarray:
    n_bad, n_good = bads.sum(axis=1, keepdims=True), goods.sum(axis=1, keepdims=True)
    # as in ks: |G - B| scaled by n_good * n_bad, an exact integer, after each distinct score
    scaled_gap = np.abs(np.cumsum(goods, axis=1) * n_bad - np.cumsum(bads, axis=1) * n_good)
    return scaled_gap.max(axis=1) / (n_good * n_bad)[:, 0]


def _brier_terms(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    return (p - y) ** 2


def _log_loss_terms(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    # scikit-learn's clipping (see log_loss): the probability given to the outcome, within [eps, 1 - eps]
    eps = np.finfo(np.float64).eps
    return -np.log(np.clip(np.where(y == 1, p, 1 - p), eps, 1 - eps))


# How each metric that can be bootstrapped is computed from a block of resample counts: the
# ranking metrics from the bads and goods per distinct score (counted once for all three), the
# others as the mean over the drawn rows of a term per row.
_BY_SCORE: dict[Callable, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    auc: _auc_by_score, gini: lambda bads, goods: 2.0 * _auc_by_score(bads, goods) - 1.0, ks: _ks_by_score,
}
_MEAN_OF_TERMS: dict[Callable, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    brier: _brier_terms, log_loss: _log_loss_terms,
}
_RESAMPLED_METRICS = (auc, gini, ks, brier, log_loss)


def _on_resamples(metrics: Sequence[Callable], y: np.ndarray, p: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The metrics on each resample of a block of counts (resamples x metrics)."""
    bads_and_goods = _by_score(y, p) if any(metric in _BY_SCORE for metric in metrics) else None
    terms = {metric: _MEAN_OF_TERMS[metric](y, p) for metric in metrics if metric in _MEAN_OF_TERMS}

    def kernel(counts: np.ndarray) -> np.ndarray:
        ranked = bads_and_goods(counts) if bads_and_goods else None
        return np.column_stack([_BY_SCORE[metric](*ranked) if metric in _BY_SCORE else counts @ terms[metric] / len(y)
                                for metric in metrics])

    return kernel


# ---------------------------------------------------------------------------------------------
# Private helpers
# ---------------------------------------------------------------------------------------------


def _outcome_table(y: np.ndarray, p: np.ndarray, group: np.ndarray, groups: int) -> pd.DataFrame:
    rows = np.bincount(group, minlength=groups)
    defaults = np.bincount(group, weights=y, minlength=groups).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        predicted_mean = np.bincount(group, weights=p, minlength=groups) / rows
        observed_rate = defaults / rows
    return pd.DataFrame(
        {"rows": rows, "predicted_mean": predicted_mean, "observed_rate": observed_rate, "defaults": defaults}
    )


def _one_dimensional(values, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional; got shape {array.shape}.")
    if len(array) == 0:
        raise ValueError(f"`{name}` must not be empty.")
    return array


def _numeric(values, name: str) -> np.ndarray:
    array = _one_dimensional(values, name)
    try:
        return array.astype(float)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be numeric; got dtype {array.dtype}.") from None


def _labels(y) -> np.ndarray:
    y = _numeric(y, "y")
    wrong = (y != 0) & (y != 1)
    if wrong.any():
        raise ValueError(f"`y` must contain only 0 and 1; got values {_shown(y[wrong])}.")
    return y


def _labels_and_scores(y, score, name: str) -> tuple[np.ndarray, np.ndarray]:
    y = _labels(y)
    score = _numeric(score, name)
    _require_same_length(y, score, name)
    wrong = ~np.isfinite(score)
    if wrong.any():
        raise ValueError(f"`{name}` must be finite; got values {_shown(score[wrong])}.")
    return y, score


def _labels_and_probabilities(y, p) -> tuple[np.ndarray, np.ndarray]:
    y = _labels(y)
    p = _numeric(p, "p")
    _require_same_length(y, p, "p")
    wrong = ~((p >= 0) & (p <= 1))  # also catches NaN
    if wrong.any():
        raise ValueError(f"`p` must be probabilities in [0, 1]; got values {_shown(p[wrong])}.")
    return y, p


def _require_same_length(y: np.ndarray, other: np.ndarray, name: str) -> None:
    if len(y) != len(other):
        raise ValueError(f"`y` and `{name}` must have the same length; got {len(y)} and {len(other)}.")


def _require_both_classes(y: np.ndarray, what: str) -> None:
    if y.min() == y.max():
        raise ValueError(f"`y` has one class only (all {y[0]:g}): {what} is undefined.")


def _require_integer(value, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}; got {value}.")


def _shown(values: np.ndarray, limit: int = 5) -> str:
    # distinct offending values, a few of them, as plain numbers: [2, 0.5, nan]
    distinct = pd.unique(values)
    shown = ", ".join(f"{v:g}" for v in distinct[:limit])
    return f"[{shown}{', ...' if len(distinct) > limit else ''}]"
