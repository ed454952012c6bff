"""A model evaluation report as one self-contained HTML file (SPEC 3.5).

:func:`evaluation_report` puts several models evaluated on the same test rows side by side:
discrimination and accuracy with bootstrap intervals, calibration by decile and by grade,
rank order by PD band, stability of the score and of each feature (CSI) from train to test,
and the charts a credit committee reads (ROC, KS, calibration, score distributions, bad rate
by grade). Every number comes from :mod:`credit.models.metrics`, the PSI and CSI and their
``ok`` / ``watch`` / ``alarm`` status from the monitoring's (:mod:`credit.monitoring.psi`);
this module only arranges them.

The page is rendered from the Jinja2 template ``templates/report.html`` with autoescaping, so
a model or feature name from data cannot inject markup. It has no external assets and no
JavaScript: the charts are inline SVG drawn by :mod:`credit.charts.svg` (the console's charts,
with exact values in their tooltips), styles are inline, so the report can be mailed or
archived as it is.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from credit.charts import svg
from credit.models.metrics import (
    RANK_ORDER_LEVEL,
    auc,
    bootstrap_auc_difference,
    bootstrap_intervals,
    brier,
    calibration_by_grade,
    calibration_table,
    gini,
    ks,
    log_loss,
    rank_order_verdict,
    rank_ordering,
)
from credit.monitoring.config import PsiConfig, load_monitoring_config
from credit.monitoring.psi import csi, psi, status_of

SUMMARY_COLUMNS: tuple[str, ...] = (
    "model", "rows", "defaults",
    "auc", "auc_low", "auc_high",
    "gini", "gini_low", "gini_high",
    "ks", "ks_low", "ks_high",
    "brier", "brier_low", "brier_high",
    "log_loss", "log_loss_low", "log_loss_high",
    "oracle_auc", "auc_gap_to_oracle", "auc_gap_low", "auc_gap_high",
    "auc_train", "psi_train_test",
)
"""Columns of :attr:`Report.summary`, in order; see :func:`evaluation_report`."""

CSI_COLUMNS: tuple[str, ...] = ("feature", "csi", "status")
"""Columns of :attr:`Report.csi`, in order; see :func:`evaluation_report`."""

DEFAULT_PD_BANDS: tuple[float, ...] = (0.0, 0.01, 0.02, 0.03, 0.05, 0.10, 0.20, 0.50, 1.0)
"""PD band edges of the rank-ordering table: ``[0, 1%], (1%, 2%], ..., (50%, 100%]``."""

FEATURE_IMPORTANCE_TOP = 20

_HEADLINE_METRICS: dict[str, Callable] = {"auc": auc, "gini": gini, "ks": ks, "brier": brier, "log_loss": log_loss}
"""The summary's metrics, each with its bootstrap interval; KS by its statistic."""


@dataclass(frozen=True)
class EvaluatedModel:
    """One model's predictions on the test rows, and what else the report can show about it.

    Attributes
    ----------
    name : str
        How the report labels the model; unique within a report.
    y_test : array-like of shape (n,)
        Default labels of the test rows, 0 or 1; both classes must be present.
    pd_test : array-like of shape (n,)
        The model's PDs on the test rows.
    y_train, pd_train : array-like of shape (m,), optional
        Labels and PDs on the training rows. ``pd_train`` gives the PSI of the score from
        train to test; with ``y_train`` too, the training AUC (a large drop to the test AUC
        is overfitting or drift).
    feature_importance : pandas.Series, optional
        Importance per feature, indexed by feature name; the report lists the 20 largest
        in absolute value.
    grades : array-like of shape (n,), optional
        Each test row's risk grade; requires ``grade_order``.
    grade_order : sequence, optional
        Every grade of the scale, best first (as :func:`~credit.models.metrics.calibration_by_grade`).
    """

    name: str
    y_test: object
    pd_test: object
    y_train: object | None = None
    pd_train: object | None = None
    feature_importance: pd.Series | None = None
    grades: object | None = None
    grade_order: Sequence | None = None


@dataclass(frozen=True)
class Oracle:
    """PDs known to be right, on the same test rows as the models: a ceiling for their AUC.

    With simulated data this is the simulator's true PD; no model can rank better on
    average, so the gap to it is the discrimination a model leaves on the table.
    """

    name: str
    pd_test: object


@dataclass(frozen=True)
class Report:
    """A rendered evaluation report.

    Attributes
    ----------
    html : str
        The whole report, one self-contained HTML document.
    summary : pandas.DataFrame
        The headline numbers, one row per model, columns :data:`SUMMARY_COLUMNS`.
    csi : pandas.DataFrame or None
        The characteristic stability index of each feature from the training window to the
        test window, columns :data:`CSI_COLUMNS`, largest first; None when the report was
        built without feature samples.
    """

    html: str
    summary: pd.DataFrame
    csi: pd.DataFrame | None = None

    def write(self, path: str | Path) -> Path:
        """Write the HTML to ``path`` (UTF-8) and return the path."""
        path = Path(path)
        path.write_text(self.html, encoding="utf-8")
        return path


def evaluation_report(
    models: Sequence[EvaluatedModel],
    *,
    oracle: Oracle | None = None,
    title: str,
    split_description: Mapping[str, str] | str,
    note: str | None = None,
    findings: Sequence[str] = (),
    grade_scale: str | None = None,
    bootstrap_rows: int = 500,
    random_state: int = 0,
    pd_bands: Sequence[float] = DEFAULT_PD_BANDS,
    features_train: pd.DataFrame | None = None,
    features_test: pd.DataFrame | None = None,
) -> Report:
    """Evaluate models on their test rows and render the report.

    Parameters
    ----------
    models : sequence of EvaluatedModel
        At least one; the first is the one the KS chart shows.
    oracle : Oracle, optional
        True PDs on the same test rows; adds its AUC, each model's gap to it, and its ROC
        curve.
    title : str
        Heading of the report.
    split_description : mapping of str to str, or str
        How the rows were split, e.g. ``{"train": "2019-01 to 2021-06", ..., "test":
        "2022-01 to 2022-12"}``; a string is shown as it is.
    note : str, optional
        A caveat shown under the split, e.g. "no time column: stratified 5-fold
        cross-validation".
    findings : sequence of str, optional
        What was found in the data and done about it, one sentence each (columns left out,
        missing-value markers, leakage warnings); listed under "Data checks".
    grade_scale : str, optional
        How the grades were cut, shown above the bad rate by grade.
    bootstrap_rows : int, default 500
        Number of bootstrap resamples behind each 95% interval (resamples of all the test
        rows, not a number of rows); 0 skips the intervals, leaving them NaN.
    random_state : int, default 0
        Seed of the resampling. Every metric and model is resampled with the same rows, so
        intervals of models on the same test rows are paired.
    pd_bands : sequence of float, default :data:`DEFAULT_PD_BANDS`
        PD band edges of the rank-ordering tables, covering [0, 1].
    features_train, features_test : pandas.DataFrame, optional
        The model features (one column each) on the rows of the training window and of the
        test window; given together, they add the CSI table: each column's PSI
        (:func:`~credit.monitoring.psi.csi`, deciles of the training values, categories and
        missing values as bins of their own) with the status of the monitoring's PSI levels
        (credit/monitoring/monitoring.toml: watch from 0.1, alarm from 0.25).

    Returns
    -------
    Report
        ``summary`` has one row per model with columns :data:`SUMMARY_COLUMNS`: ``rows``
        and ``defaults`` of the test set; ``auc``, ``gini``, ``ks`` (statistic),
        ``brier``, ``log_loss`` on the test rows, each with ``_low``/``_high`` bounds of
        its 95% bootstrap interval; ``oracle_auc`` and ``auc_gap_to_oracle`` (oracle AUC
        minus model AUC, > 0 when the model ranks worse) with the paired-bootstrap bounds
        ``auc_gap_low``/``auc_gap_high``, NaN without an oracle; ``auc_train`` (needs
        ``y_train`` and ``pd_train``) and ``psi_train_test`` (PSI of ``pd_test`` against
        ``pd_train``), NaN when not given. ``csi`` has one row per column of
        ``features_train`` with columns :data:`CSI_COLUMNS` (``status`` is ``ok``, ``watch``
        or ``alarm``), largest CSI first, ties by feature name; None without the features.

    Raises
    ------
    ValueError
        If ``models`` is empty or repeats a name, ``bootstrap_rows`` is not an integer >= 0,
        only one of ``features_train`` and ``features_test`` is given, or ``features_test``
        lacks a column of ``features_train``,
        the oracle's PDs do not match a model's test rows, or a model's inputs are invalid
        (for example test labels with one class only); the message names the model.
    """
    models = list(models)
    if not models:
        raise ValueError("`models` must hold at least one EvaluatedModel; got none.")
    names = [m.name for m in models]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"model names must be unique; repeated: {repeated}.")
    if isinstance(bootstrap_rows, bool) or not isinstance(bootstrap_rows, (int, np.integer)) or bootstrap_rows < 0:
        raise ValueError(f"`bootstrap_rows` must be an integer >= 0; got {bootstrap_rows}.")

    if (features_train is None) != (features_test is None):
        raise ValueError("`features_train` and `features_test` go together: give both for the CSI table, or neither.")
    stability = levels = None
    if features_train is not None:
        levels = load_monitoring_config().psi
        stability = _stability(features_train, features_test, levels)

    evaluations = [_evaluate(m, oracle, bootstrap_rows, random_state, pd_bands) for m in models]
    summary = pd.DataFrame([e.summary for e in evaluations], columns=list(SUMMARY_COLUMNS))
    oracle_pd = None if oracle is None else np.asarray(oracle.pd_test, dtype=float)
    charts = _charts(evaluations, oracle, oracle_pd)
    page = _page(title, split_description, note, summary, evaluations, oracle, charts, bootstrap_rows,
                 stability, levels, list(findings), grade_scale)
    return Report(html=page, summary=summary, csi=stability)


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Evaluation:
    model: EvaluatedModel
    y: np.ndarray
    p: np.ndarray
    summary: dict
    calibration: pd.DataFrame
    by_grade: pd.DataFrame | None
    rank_order: pd.DataFrame
    monotone: bool
    rank_verdict: str
    rank_sentence: str
    ks_threshold: float


def _evaluate(model: EvaluatedModel, oracle: Oracle | None, resamples: int, random_state: int,
              pd_bands: Sequence[float]) -> _Evaluation:
    try:
        return _evaluate_unnamed(model, oracle, resamples, random_state, pd_bands)
    except ValueError as error:
        # the metric functions name the argument; the reader also needs to know which model
        raise ValueError(f"model {model.name!r}: {error}") from error


def _evaluate_unnamed(model: EvaluatedModel, oracle: Oracle | None, resamples: int, random_state: int,
                      pd_bands: Sequence[float]) -> _Evaluation:
    y = np.asarray(model.y_test)
    p = np.asarray(model.pd_test)
    # brier validates y as 0/1 and p as probabilities of the same length, before auc below
    # can only say that y has one class
    brier(y, p)
    y, p = y.astype(float), p.astype(float)
    if y.min() == y.max():
        raise ValueError(f"`y_test` has one class only (all {y[0]:g}): AUC, Gini and KS are undefined.")

    if model.grades is not None and model.grade_order is None:
        raise ValueError("`grade_order` is required with `grades`: the report lists grades best first.")

    summary: dict = {"model": model.name, "rows": len(y), "defaults": int(y.sum())}
    summary |= _headline(y, p, resamples, random_state)

    if oracle is not None:
        truth = np.asarray(oracle.pd_test, dtype=float)
        if truth.shape != y.shape:
            raise ValueError(f"oracle {oracle.name!r} has {truth.size} PDs for {len(y)} test rows; "
                             "it must score the same test rows.")
        summary["oracle_auc"] = auc(y, truth)
        summary["auc_gap_to_oracle"], summary["auc_gap_low"], summary["auc_gap_high"] = (
            bootstrap_auc_difference(y, truth, p, n=resamples, level=0.95, random_state=random_state)[:3]
            if resamples else (summary["oracle_auc"] - summary["auc"], np.nan, np.nan))

    if model.pd_train is not None:
        summary["psi_train_test"] = psi(np.asarray(model.pd_train, dtype=float), p)
        if model.y_train is not None:
            summary["auc_train"] = auc(model.y_train, model.pd_train)

    by_grade = None
    if model.grades is not None:
        by_grade = calibration_by_grade(y, p, model.grades, model.grade_order)

    ordering = rank_ordering(y, p, pd_bands)
    verdict = rank_order_verdict(ordering.table)
    return _Evaluation(
        model=model, y=y, p=p, summary=summary,
        calibration=calibration_table(y, p, bins=10),
        by_grade=by_grade,
        rank_order=ordering.table,
        monotone=ordering.monotone,
        rank_verdict=verdict.verdict,
        rank_sentence=_rank_sentence(verdict.verdict, verdict.falls),
        ks_threshold=ks(y, p).threshold,
    )


def _rank_sentence(verdict: str, falls: list[tuple[str, str, float]]) -> str:
    def fall(safer: str, riskier: str, p: float) -> str:
        return f"{safer} to {riskier}, p = {p:.3f}"

    if verdict == "holds":
        return "Rank order holds."
    if verdict == "breaks":
        shown = "; ".join(fall(*f) for f in falls if f[2] < RANK_ORDER_LEVEL)
        return f"Rank order breaks: a riskier band defaults less than a safer one ({shown})."
    shown = "; ".join(fall(*f) for f in falls)
    return (f"Rank order: too few defaults to tell. The bad rate falls ({shown}), but no more than chance "
            f"would: every one-sided p >= {RANK_ORDER_LEVEL:g}.")


def _stability(features_train: pd.DataFrame, features_test: pd.DataFrame, levels: PsiConfig) -> pd.DataFrame:
    values = csi(features_train, features_test, list(features_train.columns))
    table = pd.DataFrame({"feature": values.index.astype(str), "csi": values.to_numpy()})
    table["status"] = [status_of(value, levels.watch, levels.alarm) for value in table["csi"]]
    table = table.sort_values(["csi", "feature"], ascending=[False, True], kind="stable")
    return table.reset_index(drop=True)[list(CSI_COLUMNS)]


def _headline(y: np.ndarray, p: np.ndarray, resamples: int, random_state: int) -> dict[str, float]:
    """Each headline metric, with ``_low`` and ``_high`` of its 95% interval (NaN without resamples)."""
    if resamples:
        intervals = bootstrap_intervals(list(_HEADLINE_METRICS.values()), y, p, n=resamples, level=0.95,
                                        random_state=random_state)
    else:
        values = [metric(y, p) for metric in _HEADLINE_METRICS.values()]
        intervals = [(float(getattr(value, "statistic", value)), np.nan, np.nan) for value in values]
    summary = {}
    for name, (point, low, high, *_) in zip(_HEADLINE_METRICS, intervals, strict=True):
        summary[name], summary[f"{name}_low"], summary[f"{name}_high"] = point, low, high
    return summary


# ---------------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------------

CURVE_POINTS = 250
"""Most points drawn per ROC or KS curve: a 720-px chart shows no more, and the file stays small."""

_SCORE_BINS = 30


def _charts(evaluations: list[_Evaluation], oracle: Oracle | None, oracle_pd: np.ndarray | None) -> dict:
    graded = [e for e in evaluations if e.by_grade is not None]
    return {
        "roc": _roc_chart(evaluations, oracle, oracle_pd),
        "ks": _ks_chart(evaluations[0]),
        "calibration": _calibration_chart(evaluations),
        "score_distribution": [_score_distribution_chart(e) for e in evaluations],
        "bad_rate_by_grade": [_grade_chart(e) for e in graded],
    }


def _evenly(count: int, at_most: int = CURVE_POINTS) -> np.ndarray:
    """Indices of at most ``at_most`` points spread evenly over ``count``, first and last included."""
    if count <= at_most:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, at_most).round().astype(int))


def _roc_chart(evaluations: list[_Evaluation], oracle: Oracle | None, oracle_pd: np.ndarray | None) -> str:
    def curve(name: str, y: np.ndarray, p: np.ndarray) -> svg.Series:
        false_positive, true_positive, _ = roc_curve(y, p)
        kept = _evenly(len(false_positive))
        return svg.Series(name, list(zip(false_positive[kept].tolist(), true_positive[kept].tolist(), strict=True)))

    series = [curve(f"{e.model.name} (AUC {e.summary['auc']:.3f})", e.y, e.p) for e in evaluations]
    if oracle is not None:
        first = evaluations[0]
        series.append(curve(f"{oracle.name} (AUC {first.summary['oracle_auc']:.3f})", first.y, oracle_pd))
    series.append(svg.Series("chance", [(0.0, 0.0), (1.0, 1.0)], reference=True))
    return svg.line_chart(series, title="ROC curves", x_format="percent", y_format="percent",
                          x_label="share of goods above the cut-off (false positive rate)",
                          y_label="share of bads above the cut-off (true positive rate)", height=420)


def _ks_chart(e: _Evaluation) -> str:
    thresholds = np.unique(e.p)
    # the KS threshold stays among the points drawn, so its gap is exact
    thresholds = np.union1d(thresholds[_evenly(len(thresholds))], [e.ks_threshold])
    goods, bads = np.sort(e.p[e.y == 0]), np.sort(e.p[e.y == 1])
    goods_below = np.searchsorted(goods, thresholds, side="right") / len(goods)
    bads_below = np.searchsorted(bads, thresholds, side="right") / len(bads)
    at = int(np.searchsorted(thresholds, e.ks_threshold))
    series = [
        svg.Series("goods", list(zip(thresholds.tolist(), goods_below.tolist(), strict=True)), step=True),
        svg.Series("bads", list(zip(thresholds.tolist(), bads_below.tolist(), strict=True)), step=True),
        svg.Series(f"KS {e.summary['ks']:.3f} at PD {e.ks_threshold:.3g}",
                   [(float(e.ks_threshold), float(bads_below[at])), (float(e.ks_threshold), float(goods_below[at]))]),
    ]
    return svg.line_chart(series, title=f"KS: cumulative PD of goods and bads, {e.model.name}", x_format="percent",
                          y_format="percent", x_label="predicted PD", y_label="cumulative share with PD <= x",
                          height=360)


def _calibration_chart(evaluations: list[_Evaluation]) -> str:
    series, top = [], 0.0
    for e in evaluations:
        table = e.calibration
        series.append(svg.Series(e.model.name, list(zip(table["predicted_mean"].tolist(),
                                                        table["observed_rate"].tolist(), strict=True))))
        top = max(top, table["predicted_mean"].max(), table["observed_rate"].max())
    top = min(1.0, top * 1.05) or 1.0
    series.append(svg.Series("perfect calibration", [(0.0, 0.0), (top, top)], reference=True))
    return svg.line_chart(series, title="Calibration by decile of predicted PD", x_format="percent",
                          y_format="percent", x_label="mean predicted PD in the decile",
                          y_label="observed default rate in the decile", height=360)


def _score_distribution_chart(e: _Evaluation) -> str:
    edges = np.histogram_bin_edges(e.p, bins=_SCORE_BINS)
    bins = [f"{low:.1%}–{high:.1%}" for low, high in zip(edges[:-1], edges[1:], strict=True)]
    # each outcome's share of its rows per PD bin: the two shapes compare whatever the bad rate
    goods = np.histogram(e.p[e.y == 0], bins=edges)[0] / (e.y == 0).sum()
    bads = np.histogram(e.p[e.y == 1], bins=edges)[0] / (e.y == 1).sum()
    return svg.bar_chart(bins, [svg.BarSeries("goods (y = 0)", goods.tolist()),
                                svg.BarSeries("bads (y = 1)", bads.tolist())],
                         title=f"Predicted PD by outcome, {e.model.name}", y_label="share of the outcome's rows",
                         y_format="percent", width=540, height=300)


def _grade_chart(e: _Evaluation) -> str:
    table = e.by_grade
    return svg.bar_chart([str(g) for g in table["grade"]],
                         [svg.BarSeries("observed default rate", table["observed_rate"].tolist()),
                          svg.BarSeries("mean predicted PD", table["predicted_mean"].tolist())],
                         title=f"Bad rate by grade, {e.model.name}", y_label="default rate (grades best first)",
                         y_format="percent", width=540, height=300)


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------

_TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("credit.models", "templates"), autoescape=True,
                                undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class _Table:
    columns: list[str]
    rows: list[list[str]]


def _page(title: str, split_description: Mapping[str, str] | str, note: str | None, summary: pd.DataFrame,
          evaluations: list[_Evaluation], oracle: Oracle | None, charts: dict, resamples: int,
          stability: pd.DataFrame | None, levels: PsiConfig | None, findings: list[str],
          grade_scale: str | None) -> str:
    split = (split_description if isinstance(split_description, str)
             else _Table(["window", "dates"], [[str(w), str(d)] for w, d in split_description.items()]))
    oracle_line = None
    if oracle is not None:
        oracle_line = {"name": oracle.name, "auc": f"{summary['oracle_auc'].iloc[0]:.3f}",
                       "gaps": [(row["model"], _gap(row)) for _, row in summary.iterrows()]}
    stability_section = None
    if stability is not None:
        stability_section = {"watch": f"{levels.watch:g}", "alarm": f"{levels.alarm:g}",
                             "moved": int((stability["status"] != "ok").sum()), "count": len(stability),
                             "table": _table(stability, {"csi": lambda v: f"{v:.3f}"})}
    rates = {"predicted_mean": _rate, "observed_rate": _rate}
    return _TEMPLATES.get_template("report.html").render(
        title=title, split=split, note=note, findings=findings, grade_scale=grade_scale, resamples=resamples,
        summary=_table(_summary_shown(summary), {}),
        oracle=oracle_line, psi_shown=bool(summary["psi_train_test"].notna().any()),
        charts=charts, chart_css=svg.CHART_CSS,
        calibration=[(e.model.name, _table(e.calibration, rates)) for e in evaluations],
        by_grade=[(e.model.name, _table(e.by_grade, rates)) for e in evaluations if e.by_grade is not None],
        rank_order_level=f"{RANK_ORDER_LEVEL:g}",
        rank_order=[(e.model.name, e.rank_verdict, e.rank_sentence,
                     _table(e.rank_order.drop(columns=["score_low", "score_high"]).rename(columns={"band": "PD band"}),
                            {"bad_rate": _rate}))
                    for e in evaluations],
        stability=stability_section,
        importance_top=FEATURE_IMPORTANCE_TOP,
        importance=[(e.model.name, _importance_table(e.model.feature_importance))
                    for e in evaluations if e.model.feature_importance is not None],
    )


def _table(frame: pd.DataFrame, formats: Mapping[str, Callable[[object], str]]) -> _Table:
    rows = [[formats.get(column, _cell)(value) for column, value in zip(frame.columns, values, strict=True)]
            for values in frame.itertuples(index=False)]
    return _Table([str(column) for column in frame.columns], rows)


def _cell(value: object) -> str:
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return "" if np.isnan(value) else f"{value:.6g}"
    return str(value)


def _rate(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.2%}"


def _summary_shown(summary: pd.DataFrame) -> pd.DataFrame:
    shown = pd.DataFrame({"model": summary["model"], "rows": summary["rows"], "defaults": summary["defaults"]})
    for name, label, digits in (("auc", "AUC", 3), ("gini", "Gini", 3), ("ks", "KS", 3),
                                ("brier", "Brier", 4), ("log_loss", "log loss", 4)):
        shown[label] = [_with_bounds(row[name], row[f"{name}_low"], row[f"{name}_high"], digits)
                        for _, row in summary.iterrows()]
    if summary["oracle_auc"].notna().any():
        shown["gap to oracle AUC"] = [_gap(row) for _, row in summary.iterrows()]
    if summary["auc_train"].notna().any():
        shown["train AUC"] = summary["auc_train"].map(lambda v: _number(v, 3))
    if summary["psi_train_test"].notna().any():
        shown["PSI train → test"] = summary["psi_train_test"].map(lambda v: _number(v, 3))
    return shown


def _importance_table(importance: pd.Series) -> _Table:
    top = importance.reindex(importance.abs().sort_values(ascending=False, kind="stable").index)
    top = top.head(FEATURE_IMPORTANCE_TOP)
    frame = pd.DataFrame({"feature": top.index.astype(str), "importance": top.to_numpy()})
    return _table(frame, {"importance": lambda v: f"{v:.4g}"})


def _with_bounds(point: float, low: float, high: float, digits: int) -> str:
    if pd.isna(point):
        return ""
    if pd.isna(low):
        return f"{point:.{digits}f}"
    return f"{point:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _gap(row: pd.Series) -> str:
    return _with_bounds(row["auc_gap_to_oracle"], row["auc_gap_low"], row["auc_gap_high"], 3)


def _number(value: float, digits: int) -> str:
    return "" if pd.isna(value) else f"{value:.{digits}f}"
