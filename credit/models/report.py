"""A model evaluation report as one self-contained HTML file (SPEC 3.5).

:func:`evaluation_report` puts several models evaluated on the same test rows side by side:
discrimination and accuracy with bootstrap intervals, calibration by decile and by grade,
rank order by PD band, stability of the score and of each feature (CSI) from train to test,
and the charts a credit committee reads (ROC, KS, calibration, score distributions, bad rate
by grade). Every number comes from :mod:`credit.models.metrics`, the PSI and CSI and their
``ok`` / ``watch`` / ``alarm`` status from the monitoring's (:mod:`credit.monitoring.psi`);
this module only arranges them.

The file has no external assets and no JavaScript: charts are PNGs embedded as base64
``data:`` URIs, styles are inline, so the report can be mailed or archived as it is.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from credit.models.metrics import (
    auc,
    bootstrap_interval,
    brier,
    calibration_by_grade,
    calibration_table,
    gini,
    ks,
    log_loss,
    rank_ordering,
)
from credit.monitoring.config import PsiConfig, load_monitoring_config
from credit.monitoring.psi import csi, psi, status_of

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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

_HEADLINE_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "auc": auc,
    "gini": gini,
    "ks": lambda y, p: ks(y, p).statistic,
    "brier": brier,
    "log_loss": log_loss,
}


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
    stability = stability_section = None
    if features_train is not None:
        levels = load_monitoring_config().psi
        stability = _stability(features_train, features_test, levels)
        stability_section = _stability_html(stability, levels)

    evaluations = [_evaluate(m, oracle, bootstrap_rows, random_state, pd_bands) for m in models]
    summary = pd.DataFrame([e.summary for e in evaluations], columns=list(SUMMARY_COLUMNS))
    oracle_pd = None if oracle is None else np.asarray(oracle.pd_test, dtype=float)
    figures = _figures(evaluations, oracle, oracle_pd)
    page = _page(title, split_description, note, summary, evaluations, oracle, figures, bootstrap_rows,
                 stability_section)
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
    for name, metric in _HEADLINE_METRICS.items():
        summary[name], summary[f"{name}_low"], summary[f"{name}_high"] = _with_interval(
            metric, y, p, resamples, random_state)

    if oracle is not None:
        truth = np.asarray(oracle.pd_test, dtype=float)
        if truth.shape != y.shape:
            raise ValueError(f"oracle {oracle.name!r} has {truth.size} PDs for {len(y)} test rows; "
                             "it must score the same test rows.")
        summary["oracle_auc"] = auc(y, truth)

        def gap(y_resampled: np.ndarray, rows: np.ndarray) -> float:
            return auc(y_resampled, truth[rows]) - auc(y_resampled, p[rows])

        # resampling row numbers keeps model and oracle on the same rows: a paired interval
        summary["auc_gap_to_oracle"], summary["auc_gap_low"], summary["auc_gap_high"] = _with_interval(
            gap, y, np.arange(len(y)), resamples, random_state)

    if model.pd_train is not None:
        summary["psi_train_test"] = psi(np.asarray(model.pd_train, dtype=float), p)
        if model.y_train is not None:
            summary["auc_train"] = auc(model.y_train, model.pd_train)

    by_grade = None
    if model.grades is not None:
        by_grade = calibration_by_grade(y, p, model.grades, model.grade_order)

    ordering = rank_ordering(y, p, pd_bands)
    return _Evaluation(
        model=model, y=y, p=p, summary=summary,
        calibration=calibration_table(y, p, bins=10),
        by_grade=by_grade,
        rank_order=ordering.table,
        monotone=ordering.monotone,
        ks_threshold=ks(y, p).threshold,
    )


def _stability(features_train: pd.DataFrame, features_test: pd.DataFrame, levels: PsiConfig) -> pd.DataFrame:
    values = csi(features_train, features_test, list(features_train.columns))
    table = pd.DataFrame({"feature": values.index.astype(str), "csi": values.to_numpy()})
    table["status"] = [status_of(value, levels.watch, levels.alarm) for value in table["csi"]]
    table = table.sort_values(["csi", "feature"], ascending=[False, True], kind="stable")
    return table.reset_index(drop=True)[list(CSI_COLUMNS)]


def _with_interval(metric, y, p, resamples: int, random_state: int) -> tuple[float, float, float]:
    if resamples == 0:
        return float(metric(y, p)), np.nan, np.nan
    point, low, high, _ = bootstrap_interval(metric, y, p, n=resamples, level=0.95, random_state=random_state)
    return point, low, high


# ---------------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------------


def _figures(evaluations: list[_Evaluation], oracle: Oracle | None, oracle_pd: np.ndarray | None) -> dict[str, str]:
    # Figure + the Agg canvas directly, not pyplot: no global backend switch, no figure
    # registry to leak, and it works headless and in threads
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def new(width: float = 6.4, height: float = 4.4, columns: int = 1) -> Figure:
        figure = Figure(figsize=(width * columns, height), layout="constrained")
        FigureCanvasAgg(figure)
        return figure

    charts = {
        "roc": _roc_chart(new(), evaluations, oracle, oracle_pd),
        "ks": _ks_chart(new(), evaluations[0]),
        "calibration": _calibration_chart(new(), evaluations),
        "score_distribution": _score_distribution_chart(
            new(4.2, 3.6, columns=min(len(evaluations), 3)), evaluations),
    }
    graded = [e for e in evaluations if e.by_grade is not None]
    if graded:
        charts["bad_rate_by_grade"] = _grade_chart(new(4.8, 3.8, columns=min(len(graded), 3)), graded)
    return {name: _png_data_uri(figure) for name, figure in charts.items()}


def _roc_chart(figure: Figure, evaluations: list[_Evaluation], oracle: Oracle | None,
               oracle_pd: np.ndarray | None) -> Figure:
    from sklearn.metrics import roc_curve

    axes = figure.subplots()
    for e in evaluations:
        false_positive, true_positive, _ = roc_curve(e.y, e.p)
        axes.plot(false_positive, true_positive, label=f"{_label(e.model.name)} (AUC {e.summary['auc']:.3f})")
    if oracle is not None:
        first = evaluations[0]
        false_positive, true_positive, _ = roc_curve(first.y, oracle_pd)
        axes.plot(false_positive, true_positive, color="black", linestyle="--",
                  label=f"{_label(oracle.name)} (AUC {first.summary['oracle_auc']:.3f})")
    axes.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":")
    axes.set(xlabel="share of goods above the cut-off (false positive rate)",
             ylabel="share of bads above the cut-off (true positive rate)", title="ROC curves",
             xlim=(0, 1), ylim=(0, 1.01))
    axes.legend(loc="lower right", fontsize="small")
    return figure


def _ks_chart(figure: Figure, e: _Evaluation) -> Figure:
    axes = figure.subplots()
    thresholds = np.unique(e.p)
    goods, bads = np.sort(e.p[e.y == 0]), np.sort(e.p[e.y == 1])
    goods_below = np.searchsorted(goods, thresholds, side="right") / len(goods)
    bads_below = np.searchsorted(bads, thresholds, side="right") / len(bads)
    axes.step(thresholds, goods_below, where="post", label="goods")
    axes.step(thresholds, bads_below, where="post", label="bads")
    at = np.searchsorted(thresholds, e.ks_threshold)
    axes.vlines(e.ks_threshold, bads_below[at], goods_below[at], color="black", linewidth=1.5,
                label=f"KS {e.summary['ks']:.3f} at PD {e.ks_threshold:.3g}")
    axes.set(xlabel="predicted PD", ylabel="cumulative share with PD <= x", ylim=(0, 1.01),
             title=f"KS: cumulative PD of goods and bads, {_label(e.model.name)}")
    axes.legend(loc="lower right", fontsize="small")
    return figure


def _calibration_chart(figure: Figure, evaluations: list[_Evaluation]) -> Figure:
    axes = figure.subplots()
    top = 0.0
    for e in evaluations:
        table = e.calibration
        axes.plot(table["predicted_mean"], table["observed_rate"], marker="o", label=_label(e.model.name))
        top = max(top, table["predicted_mean"].max(), table["observed_rate"].max())
    top = min(1.0, top * 1.05) or 1.0
    axes.plot([0, top], [0, top], color="grey", linewidth=0.8, linestyle=":", label="perfect calibration")
    axes.set(xlabel="mean predicted PD in the decile", ylabel="observed default rate in the decile",
             title="Calibration by decile of predicted PD", xlim=(0, top), ylim=(0, top))
    axes.legend(loc="upper left", fontsize="small")
    return figure


def _score_distribution_chart(figure: Figure, evaluations: list[_Evaluation]) -> Figure:
    columns = min(len(evaluations), 3)
    rows = -(-len(evaluations) // columns)
    grid = np.atleast_1d(figure.subplots(rows, columns, squeeze=False).ravel())
    for axes, e in zip(grid, evaluations, strict=False):
        edges = np.histogram_bin_edges(e.p, bins=30)
        axes.hist(e.p[e.y == 0], bins=edges, density=True, alpha=0.6, label="goods (y = 0)")
        axes.hist(e.p[e.y == 1], bins=edges, density=True, alpha=0.6, label="bads (y = 1)")
        axes.set(xlabel="predicted PD", ylabel="density", title=_label(e.model.name))
        axes.legend(fontsize="small")
    for axes in grid[len(evaluations):]:
        axes.set_visible(False)
    figure.suptitle("Predicted PD by outcome")
    return figure


def _grade_chart(figure: Figure, graded: list[_Evaluation]) -> Figure:
    columns = min(len(graded), 3)
    rows = -(-len(graded) // columns)
    grid = figure.subplots(rows, columns, squeeze=False).ravel()
    for axes, e in zip(grid, graded, strict=False):
        table = e.by_grade
        positions = np.arange(len(table))
        axes.bar(positions, table["observed_rate"], label="observed default rate")
        axes.plot(positions, table["predicted_mean"], color="black", marker="o", linestyle="",
                  label="mean predicted PD")
        axes.set_xticks(positions, [str(g) for g in table["grade"]])
        axes.set(xlabel="grade (best first)", ylabel="default rate", title=_label(e.model.name))
        axes.legend(fontsize="small")
    for axes in grid[len(graded):]:
        axes.set_visible(False)
    figure.suptitle("Bad rate by grade")
    return figure


def _label(text: str) -> str:
    # matplotlib reads text between dollar signs as mathtext; a model name is plain text
    return text.replace("$", r"\$")


def _png_data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    # no "Software" text chunk: it holds matplotlib's URL, and without it the bytes depend
    # only on the data, so a report is reproducible
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.4; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; display: block; margin: 0.8em 0; }
.note { background: #fff7e0; border-left: 4px solid #e0a800; padding: 0.5em 1em; }
.oracle-gap { background: #eef5ff; border-left: 4px solid #3b7dd8; padding: 0.5em 1em; }
.warning { color: #b00020; }
"""

_PD_AND_RATE = ("predicted_mean", "observed_rate")


def _page(title: str, split_description: Mapping[str, str] | str, note: str | None, summary: pd.DataFrame,
          evaluations: list[_Evaluation], oracle: Oracle | None, figures: dict[str, str],
          resamples: int, stability_section: str | None) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        "<h2>Data split</h2>",
        _split_html(split_description),
    ]
    if note:
        parts.append(f'<p class="note">{e(note)}</p>')

    interval = (f"95% bootstrap intervals from {resamples} resamples of the test rows in brackets."
                if resamples else "Bootstrap intervals were not computed.")
    parts += [
        "<h2>Summary</h2>",
        (f"<p>Test rows, defaults and headline metrics per model; {interval} "
         "Higher AUC, Gini and KS are better; lower Brier and log loss are better.</p>"),
        _summary_html(summary),
    ]
    if oracle is not None:
        parts.append(_oracle_gap_html(summary, oracle))
    if summary["psi_train_test"].notna().any():
        parts.append("<p>PSI train &rarr; test compares the PD distribution of the training rows with "
                     "the test rows: below 0.1 stable, 0.1 to 0.25 some shift, above 0.25 a material "
                     "shift.</p>")

    parts += [
        "<h2>Discrimination</h2>",
        _img(figures["roc"], "ROC curves"),
        _img(figures["ks"], "KS chart"),
        _img(figures["score_distribution"], "Predicted PD by outcome"),
        "<h2>Calibration by decile of predicted PD</h2>",
        _img(figures["calibration"], "Calibration plot"),
    ]
    for ev in evaluations:
        parts += [f"<h3>{e(ev.model.name)}</h3>", _table_html(ev.calibration, rates=_PD_AND_RATE)]

    graded = [ev for ev in evaluations if ev.by_grade is not None]
    if graded:
        parts += ["<h2>Bad rate by grade</h2>", _img(figures["bad_rate_by_grade"], "Bad rate by grade")]
        for ev in graded:
            parts += [f"<h3>{e(ev.model.name)}</h3>", _table_html(ev.by_grade, rates=_PD_AND_RATE)]

    parts.append("<h2>Rank ordering by PD band</h2>"
                 "<p>The default rate should never fall as the predicted PD band rises.</p>")
    for ev in evaluations:
        verdict = ("holds" if ev.monotone
                   else '<span class="warning">breaks: a riskier band defaults less than a safer one</span>')
        table = ev.rank_order.drop(columns=["score_low", "score_high"]).rename(columns={"band": "PD band"})
        parts += [f"<h3>{e(ev.model.name)}</h3>", f"<p>Rank order {verdict}.</p>",
                  _table_html(table, rates=("bad_rate",))]

    if stability_section is not None:
        parts += ["<h2>Characteristic stability (CSI) by feature</h2>", stability_section]

    with_importance = [ev for ev in evaluations if ev.model.feature_importance is not None]
    if with_importance:
        parts.append(f"<h2>Feature importance (top {FEATURE_IMPORTANCE_TOP})</h2>")
        for ev in with_importance:
            parts += [f"<h3>{e(ev.model.name)}</h3>", _importance_html(ev.model.feature_importance)]

    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _split_html(split_description: Mapping[str, str] | str) -> str:
    if isinstance(split_description, str):
        return f"<p>{html.escape(split_description)}</p>"
    rows = "".join(f"<tr><td>{html.escape(str(window))}</td><td>{html.escape(str(dates))}</td></tr>"
                   for window, dates in split_description.items())
    return f"<table><tr><th>window</th><th>dates</th></tr>{rows}</table>"


def _summary_html(summary: pd.DataFrame) -> str:
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
    return shown.to_html(index=False, border=0, escape=True)


def _oracle_gap_html(summary: pd.DataFrame, oracle: Oracle) -> str:
    gaps = "; ".join(f"{html.escape(row['model'])} {_gap(row)}" for _, row in summary.iterrows())
    oracle_auc = summary["oracle_auc"].iloc[0]
    return (f'<p class="oracle-gap">Oracle {html.escape(oracle.name)}: AUC {oracle_auc:.3f} '
            f"on the same test rows. Gap to oracle AUC (oracle minus model, paired bootstrap): {gaps}.</p>")


def _table_html(table: pd.DataFrame, rates: Sequence[str]) -> str:
    shown = table.copy()
    for column in rates:
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.2%}")
    return shown.to_html(index=False, border=0, escape=True)


def _stability_html(stability: pd.DataFrame, levels: PsiConfig) -> str:
    moved = int((stability["status"] != "ok").sum())
    intro = (f"<p>The PSI of each feature from the training window to the test window: deciles of the "
             f"training values, categories and missing values as bins of their own. Status ok below "
             f"{levels.watch:g}, watch from {levels.watch:g}, alarm from {levels.alarm:g} (the levels of the "
             f"monitoring). {moved} of {len(stability)} features at watch or alarm; largest first.</p>")
    shown = stability.assign(csi=stability["csi"].map(lambda v: f"{v:.3f}"))
    return intro + shown.to_html(index=False, border=0, escape=True)


def _importance_html(importance: pd.Series) -> str:
    top = importance.reindex(importance.abs().sort_values(ascending=False, kind="stable").index)
    top = top.head(FEATURE_IMPORTANCE_TOP)
    table = pd.DataFrame({"feature": top.index.astype(str), "importance": top.to_numpy()})
    return table.to_html(index=False, border=0, escape=True, float_format=lambda v: f"{v:.4g}")


def _img(data_uri: str, alt: str) -> str:
    return f'<img src="{data_uri}" alt="{html.escape(alt)}">'


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
