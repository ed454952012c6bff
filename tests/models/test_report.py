"""The model evaluation report: its numbers are the metric functions', its HTML stands alone.

Conventions as in credit/models/metrics.py: y = 1 is a default (a "bad"), a PD is a risk
score (higher = riskier).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from credit.models.metrics import (
    auc,
    bootstrap_interval,
    brier,
    calibration_table,
    gini,
    ks,
    log_loss,
)
from credit.models.report import (
    CSI_COLUMNS,
    SUMMARY_COLUMNS,
    EvaluatedModel,
    Oracle,
    Report,
    evaluation_report,
)
from credit.monitoring.psi import psi

RESAMPLES = 50
SPLIT = {"train": "2019-01-01 to 2020-12-31", "valid": "2021-01-01 to 2021-03-31",
         "calibrate": "2021-04-01 to 2021-06-30", "test": "2021-10-01 to 2022-03-31"}
SVG = "{http://www.w3.org/2000/svg}"
INLINE_SVG = re.compile(r"<svg .*?</svg>", re.DOTALL)


def simulated_firms(rows: int = 80, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Labels drawn from a true PD, and two models' noisy PDs of it: (y, true, sharp, blunt)."""
    rng = np.random.default_rng(seed)
    true_pd = 1 / (1 + np.exp(-(rng.normal(size=rows) * 1.5 - 1.5)))
    y = (rng.random(rows) < true_pd).astype(int)
    sharp = np.clip(true_pd * np.exp(rng.normal(0, 0.3, rows)), 0, 1)
    blunt = np.clip(true_pd * np.exp(rng.normal(0, 1.0, rows)), 0, 1)
    return y, true_pd, sharp, blunt


def make_report(models: list[EvaluatedModel], **overrides) -> Report:
    arguments = {"title": "PD models, simulated marketplace", "split_description": SPLIT,
                 "bootstrap_rows": RESAMPLES} | overrides
    return evaluation_report(models, **arguments)


@pytest.fixture(scope="module")
def two_models() -> tuple[list[EvaluatedModel], Oracle]:
    y, true_pd, sharp, blunt = simulated_firms()
    y_train, _, sharp_train, _ = simulated_firms(rows=120, seed=4)
    models = [
        EvaluatedModel("lightgbm", y, sharp, y_train=y_train, pd_train=sharp_train),
        EvaluatedModel("scorecard", y, blunt),
    ]
    return models, Oracle("true PD", true_pd)


@pytest.fixture(scope="module")
def with_oracle(two_models) -> Report:
    models, oracle = two_models
    return make_report(models, oracle=oracle)


@pytest.fixture(scope="module")
def without_oracle(two_models) -> Report:
    models, _ = two_models
    return make_report(models)


def charts_of(page: str) -> dict[str, ET.Element]:
    """The page's inline SVG charts by title."""
    charts = [ET.fromstring(svg) for svg in INLINE_SVG.findall(page)]
    return {chart.find(f"{SVG}title").text: chart for chart in charts}


def tooltips(chart: ET.Element, series: str) -> list[str]:
    """What the tooltips of one series' points or bars say after the series name."""
    tips = [title.text for title in chart.iter(f"{SVG}title")]
    return [tip.removeprefix(f"{series}, ") for tip in tips if tip.startswith(f"{series}, ")]


def charts_removed(page: str) -> str:
    return INLINE_SVG.sub("<svg></svg>", page)


# ---------------------------------------------------------------------------------------------
# The numbers
# ---------------------------------------------------------------------------------------------


def test_summary_columns_are_as_documented(with_oracle: Report) -> None:
    assert list(with_oracle.summary.columns) == [
        "model", "rows", "defaults",
        "auc", "auc_low", "auc_high",
        "gini", "gini_low", "gini_high",
        "ks", "ks_low", "ks_high",
        "brier", "brier_low", "brier_high",
        "log_loss", "log_loss_low", "log_loss_high",
        "oracle_auc", "auc_gap_to_oracle", "auc_gap_low", "auc_gap_high",
        "auc_train", "psi_train_test",
    ]
    assert list(with_oracle.summary.columns) == list(SUMMARY_COLUMNS)
    assert list(with_oracle.summary["model"]) == ["lightgbm", "scorecard"]


def test_summary_numbers_are_the_metric_functions_values(two_models, with_oracle: Report) -> None:
    models, oracle = two_models
    metrics = {"auc": auc, "gini": gini, "ks": ks, "brier": brier, "log_loss": log_loss}
    for model, (_, row) in zip(models, with_oracle.summary.iterrows(), strict=True):
        y, p = np.asarray(model.y_test), np.asarray(model.pd_test)
        assert row["rows"] == len(y)
        assert row["defaults"] == y.sum()
        for name, metric in metrics.items():
            point, low, high, _ = bootstrap_interval(metric, y, p, n=RESAMPLES, random_state=0)
            value = metric(y, p)
            assert row[name] == pytest.approx(value.statistic if metric is ks else value, abs=1e-12), name
            assert (row[f"{name}_low"], row[f"{name}_high"]) == pytest.approx((low, high), abs=1e-12), name
            assert low <= point <= high
        assert row["oracle_auc"] == pytest.approx(auc(y, oracle.pd_test), abs=1e-12)
        assert row["auc_gap_to_oracle"] == pytest.approx(auc(y, oracle.pd_test) - auc(y, p), abs=1e-12)
        assert row["auc_gap_low"] <= row["auc_gap_to_oracle"] <= row["auc_gap_high"]

    lightgbm, scorecard = with_oracle.summary.to_dict("records")
    assert lightgbm["psi_train_test"] == pytest.approx(psi(models[0].pd_train, models[0].pd_test), abs=1e-12)
    assert lightgbm["auc_train"] == pytest.approx(auc(models[0].y_train, models[0].pd_train), abs=1e-12)
    # no training rows given for the scorecard: nothing to compare
    assert np.isnan(scorecard["psi_train_test"]) and np.isnan(scorecard["auc_train"])


def test_headline_numbers_of_six_rows_worked_by_hand() -> None:
    y = [0, 0, 1, 0, 1, 1]
    pd_test = [0.10, 0.40, 0.35, 0.80, 0.70, 0.90]
    report = make_report([EvaluatedModel("six firms", y, pd_test)], bootstrap_rows=0)
    row = report.summary.iloc[0]
    # bads score 0.35, 0.70, 0.90; goods 0.10, 0.40, 0.80. Pairs where the bad is riskier:
    # 0.35 > {0.10} = 1, 0.70 > {0.10, 0.40} = 2, 0.90 > all three = 3; 6 of 9 pairs
    assert row["auc"] == pytest.approx(2 / 3)
    assert row["gini"] == pytest.approx(2 * 2 / 3 - 1)
    # sorted: G .10, B .35, G .40, B .70, G .80, B .90; goods' CDF 1/3 1/3 2/3 2/3 1 1,
    # bads' 0 1/3 1/3 2/3 2/3 1; the largest gap is 1/3
    assert row["ks"] == pytest.approx(1 / 3)
    # (0.1² + 0.4² + 0.65² + 0.8² + 0.3² + 0.1²) / 6 = (0.01 + 0.16 + 0.4225 + 0.64 + 0.09 + 0.01) / 6
    assert row["brier"] == pytest.approx(1.3325 / 6)
    # bootstrap_rows=0 leaves the intervals out
    assert row[["auc_low", "auc_high", "brier_low", "brier_high"]].isna().all()


# ---------------------------------------------------------------------------------------------
# The HTML
# ---------------------------------------------------------------------------------------------


def test_html_names_every_model_and_the_split(with_oracle: Report) -> None:
    for name in ("lightgbm", "scorecard", "PD models, simulated marketplace", *SPLIT.values()):
        assert name in with_oracle.html


def test_oracle_gap_line_appears_only_with_an_oracle(with_oracle: Report, without_oracle: Report) -> None:
    gap_line = re.search(r'<p class="oracle-gap">(.*?)</p>', with_oracle.html)
    assert gap_line is not None
    lightgbm = with_oracle.summary.iloc[0]
    assert "Oracle true PD: AUC " + f"{lightgbm['oracle_auc']:.3f}" in gap_line.group(1)
    assert f"lightgbm {lightgbm['auc_gap_to_oracle']:.3f}" in gap_line.group(1)
    assert 'class="oracle-gap"' not in without_oracle.html
    assert "Oracle" not in without_oracle.html and "gap to oracle" not in without_oracle.html
    assert without_oracle.summary[["oracle_auc", "auc_gap_to_oracle"]].isna().all().all()


def test_every_chart_is_an_inline_svg(with_oracle: Report) -> None:
    # ROC, KS, a score distribution per model, calibration; no grades, so no bad-rate-by-grade chart
    assert list(charts_of(with_oracle.html)) == [
        "ROC curves", "KS: cumulative PD of goods and bads, lightgbm", "Predicted PD by outcome, lightgbm",
        "Predicted PD by outcome, scorecard", "Calibration by decile of predicted PD"]
    assert "<img" not in with_oracle.html
    # the charts' stylesheet travels inside the page
    assert ".chart .series-0 { color: #0072B2; }" in with_oracle.html


def test_html_loads_nothing_from_outside(with_oracle: Report) -> None:
    page = with_oracle.html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http" not in page
    assert "<script" not in page and "<link" not in page and "url(" not in page and "src=" not in page


def test_charts_of_six_rows_worked_by_hand() -> None:
    y = [0, 0, 1, 0, 1, 1]
    pd_test = [0.10, 0.40, 0.35, 0.80, 0.70, 0.90]
    charts = charts_of(make_report([EvaluatedModel("six firms", y, pd_test)], bootstrap_rows=0).html)
    # riskiest first: B .90, G .80, B .70, G .40, B .35, G .10; each cut-off adds a third of
    # the bads (up) or of the goods (right): the ROC staircase, as (FPR: TPR)
    assert tooltips(charts["ROC curves"], "six firms (AUC 0.667)") == [
        "0%: 0%", "0%: 33.33%", "33.33%: 33.33%", "33.33%: 66.67%", "66.67%: 66.67%", "66.67%: 100%", "100%: 100%"]
    ks_chart = charts["KS: cumulative PD of goods and bads, six firms"]
    # share with PD <= x: goods .10 .40 .80, bads .35 .70 .90
    assert tooltips(ks_chart, "goods") == ["10%: 33.33%", "35%: 33.33%", "40%: 66.67%", "70%: 66.67%",
                                           "80%: 100%", "90%: 100%"]
    assert tooltips(ks_chart, "bads") == ["10%: 0%", "35%: 33.33%", "40%: 33.33%", "70%: 66.67%",
                                          "80%: 66.67%", "90%: 100%"]
    # the KS gap of 1/3 is first reached at PD 0.10: goods 1/3 below, bads none
    assert tooltips(ks_chart, "KS 0.333 at PD 0.1") == ["10%: 0%", "10%: 33.33%"]
    # 30 bins of 0.8 / 30 from 0.10 to 0.90: PD 0.80 is in bin 26 (0.10 + 26 x 0.02667 = 0.7933 to
    # 0.82), 0.90 in the last bin, which includes its right edge; a third of each outcome per bin
    histogram = charts["Predicted PD by outcome, six firms"]
    goods = [tip for tip in tooltips(histogram, "goods (y = 0)") if not tip.endswith(": 0%")]
    bads = [tip for tip in tooltips(histogram, "bads (y = 1)") if not tip.endswith(": 0%")]
    assert goods == ["10.0%–12.7%: 33.33%", "39.3%–42.0%: 33.33%", "79.3%–82.0%: 33.33%"]
    assert bads == ["34.0%–36.7%: 33.33%", "68.7%–71.3%: 33.33%", "87.3%–90.0%: 33.33%"]


def test_calibration_chart_plots_each_decile_of_the_table(two_models, with_oracle: Report) -> None:
    models, _ = two_models
    chart = charts_of(with_oracle.html)["Calibration by decile of predicted PD"]
    for model in models:
        table = calibration_table(model.y_test, model.pd_test, bins=10)
        plotted = [[float(v.rstrip("%")) / 100 for v in tip.split(": ")] for tip in tooltips(chart, model.name)]
        # tooltips show hundredths of a percent
        assert [x for x, _ in plotted] == pytest.approx(list(table["predicted_mean"]), abs=0.00005)
        assert [y for _, y in plotted] == pytest.approx(list(table["observed_rate"]), abs=0.00005)
    assert tooltips(chart, "perfect calibration") == []  # a guide: no points to hover


def test_grades_add_a_bad_rate_by_grade_table_and_chart(two_models) -> None:
    models, _ = two_models
    lightgbm = models[0]
    grades = np.where(np.asarray(lightgbm.pd_test) < 0.1, "A", np.where(np.asarray(lightgbm.pd_test) < 0.3, "B", "C"))
    graded = EvaluatedModel("lightgbm", lightgbm.y_test, lightgbm.pd_test, grades=grades, grade_order=["A", "B", "C"])
    report = make_report([graded])
    assert "<h2>Bad rate by grade</h2>" in report.html
    chart = charts_of(report.html)["Bad rate by grade, lightgbm"]
    y = np.asarray(lightgbm.y_test)
    # the grade table shows grade C's default count as the rows say
    grade_c_defaults = int(y[grades == "C"].sum())
    section = report.html.split("<h2>Bad rate by grade</h2>")[1].split("<h2>")[0]
    assert re.search(rf"<td>C</td>\s*<td>{(grades == 'C').sum()}</td>\s*<td>[\d.]+%</td>\s*<td>[\d.]+%</td>\s*"
                     rf"<td>{grade_c_defaults}</td>", section)
    # and the chart's bar for C is that share, exactly
    (observed_c,) = [tip for tip in tooltips(chart, "observed default rate") if tip.startswith("C: ")]
    assert observed_c == f"C: {100 * grade_c_defaults / (grades == 'C').sum():.2f}".rstrip("0").rstrip(".") + "%"


def test_rank_order_on_few_defaults_says_too_few_to_tell_not_breaks() -> None:
    # 107 rows, 4 defaults: 3 of 50 in PD band [0, 1%], 1 of 57 in (1%, 2%]; the fall has a
    # one-sided Fisher p of 0.261 (tests/models/test_metrics.py works it out)
    y = np.array([1] * 3 + [0] * 47 + [1] + [0] * 56)
    p = np.array([0.005] * 50 + [0.015] * 57)
    page = make_report([EvaluatedModel("few", y, p)], bootstrap_rows=0).html
    assert ("Rank order: too few defaults to tell. The bad rate falls ([0, 0.01] to (0.01, 0.02], p = 0.261), "
            "but no more than chance would: every one-sided p &gt;= 0.05.") in page
    assert "Rank order breaks" not in page


def test_rank_order_that_falls_beyond_chance_is_a_warning() -> None:
    y = np.array([1] * 10 + [0] * 10 + [1] + [0] * 19)
    p = np.array([0.005] * 20 + [0.015] * 20)
    page = make_report([EvaluatedModel("broken", y, p)], bootstrap_rows=0).html
    assert ('<span class="warning">Rank order breaks: a riskier band defaults less than a safer one '
            "([0, 0.01] to (0.01, 0.02], p = 0.002).</span>") in page


def test_data_checks_and_the_grade_scale_are_shown_when_given(two_models) -> None:
    models, _ = two_models
    graded = [replace(m, grades=np.where(np.asarray(m.pd_test) <= 0.1, "A", "B"), grade_order=["A", "B"])
              for m in models]
    page = make_report(graded, findings=["left out 'loan_id': id column", "missing values in 'income': '?' (2 rows)"],
                       grade_scale="2 grades on the analyst's scale (--scale 0.1): A [0%, 10%]; B (10%, 100%]").html
    assert "<h2>Data checks</h2>" in page
    assert "<li>left out &#39;loan_id&#39;: id column</li>" in page
    assert "<li>missing values in &#39;income&#39;: &#39;?&#39; (2 rows)</li>" in page
    assert "<p>Grades: 2 grades on the analyst&#39;s scale (--scale 0.1): A [0%, 10%]; B (10%, 100%].</p>" in page
    assert "Data checks" not in make_report(models).html


def test_feature_importance_lists_the_20_largest_by_size(two_models) -> None:
    models, _ = two_models
    # feature_k has importance k, except feature_0 which is the largest in size but negative
    importance = pd.Series([-100.0, *range(1, 30)], index=[f"feature_{k}" for k in range(30)])
    model = EvaluatedModel("lightgbm", models[0].y_test, models[0].pd_test, feature_importance=importance)
    section = make_report([model], bootstrap_rows=0).html.split("Feature importance (top 20)")[1]
    listed = re.findall(r"<td>(feature_\d+)</td>", section)
    assert listed == ["feature_0", *[f"feature_{k}" for k in range(29, 10, -1)]]


def test_model_names_are_escaped_in_the_html(two_models) -> None:
    models, _ = two_models
    report = make_report([EvaluatedModel("<b>glm</b> $v2", models[0].y_test, models[0].pd_test)], bootstrap_rows=0)
    assert "&lt;b&gt;glm&lt;/b&gt; $v2" in report.html
    assert "<b>glm" not in report.html


def test_hostile_feature_names_and_texts_are_escaped_everywhere(two_models) -> None:
    models, _ = two_models
    hostile = '<script>alert("x")</script>'
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
    importance = pd.Series([1.0, 2.0], index=[hostile, "gmv_90d"])
    model = EvaluatedModel(hostile, models[0].y_test, models[0].pd_test, feature_importance=importance)
    train = pd.DataFrame({hostile: np.arange(100.0)})
    report = make_report([model], bootstrap_rows=0, title=hostile, split_description={hostile: hostile},
                         note=hostile, features_train=train, features_test=train + 5)
    assert "<script" not in report.html
    # title, heading, split window and dates, note, model headings, importance and CSI rows
    assert report.html.count(escaped) >= 9
    # in the charts' SVG (their own escaping) the name is text, not markup
    assert hostile in [t.text.split(" (AUC")[0] for t in charts_of(report.html)["ROC curves"].iter(f"{SVG}title")]


def test_write_saves_the_html_as_utf8(with_oracle: Report, tmp_path) -> None:
    path = with_oracle.write(tmp_path / "report.html")
    assert path.read_text(encoding="utf-8") == with_oracle.html


# ---------------------------------------------------------------------------------------------
# Characteristic stability (CSI) per feature, training window against test window
# ---------------------------------------------------------------------------------------------

SHIFT_DAYS = 20
CSI_SECTION = "<h2>Characteristic stability (CSI) by feature</h2>"


def feature_windows() -> tuple[pd.DataFrame, pd.DataFrame]:
    """1,000 rows per window: days past due moved 20 days later, the north's share 50% -> 70%, GMV unmoved."""
    days = np.arange(1000) / 10  # 0.0, 0.1, ..., 99.9
    rng = np.random.default_rng(7)
    train = pd.DataFrame({"days_past_due": days, "gmv_90d": rng.uniform(0, 100, 1000),
                          "region": np.repeat(["north", "south"], [500, 500])})
    test = pd.DataFrame({"days_past_due": days + SHIFT_DAYS, "gmv_90d": rng.uniform(0, 100, 1000),
                         "region": np.repeat(["north", "south"], [700, 300])})
    return train, test


@pytest.fixture(scope="module")
def with_features(two_models) -> Report:
    models, _ = two_models
    train, test = feature_windows()
    return make_report(models, bootstrap_rows=0, features_train=train, features_test=test)


def psi_of_shares(expected: list[float], actual: list[float]) -> float:
    """sum (A - E) ln(A / E) with an empty bin's share raised to 1e-4: the formula, written out."""
    terms = []
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, 1e-4), max(a, 1e-4)
        terms.append((a - e) * np.log(a / e))
    return float(sum(terms))


def test_csi_of_a_feature_shifted_by_20_days_is_worked_by_hand(with_features: Report) -> None:
    table = with_features.csi.set_index("feature")
    # training deciles of 0.0..99.9 are 9.99, 19.98, ..., 89.91: ten bins of 100 rows, 10% each.
    # Shifted 20 days, the test rows are 20.0..119.9: the two lowest bins are empty, the next
    # seven keep 100 rows each, and the top bin (> 89.91) holds 90.0..119.9, 300 rows
    expected = psi_of_shares([0.1] * 10, [0.0, 0.0, *[0.1] * 7, 0.3])
    assert expected == pytest.approx(2 * (1e-4 - 0.1) * np.log(1e-3) + 0.2 * np.log(3))
    assert table.loc["days_past_due", "csi"] == pytest.approx(expected, rel=1e-12)
    assert table.loc["days_past_due", "status"] == "alarm"
    # a category is a bin: north 50% -> 70%, south 50% -> 30%
    assert table.loc["region", "csi"] == pytest.approx(psi_of_shares([0.5, 0.5], [0.7, 0.3]), rel=1e-12)
    assert table.loc["region", "status"] == "watch"
    # a fresh draw from the same distribution: only sampling noise, about 9 x (1/1000 + 1/1000)
    assert table.loc["gmv_90d", "csi"] < 0.05
    assert table.loc["gmv_90d", "status"] == "ok"


def test_csi_table_is_largest_first_with_the_documented_columns(with_features: Report) -> None:
    assert list(with_features.csi.columns) == list(CSI_COLUMNS) == ["feature", "csi", "status"]
    assert list(with_features.csi["feature"]) == ["days_past_due", "region", "gmv_90d"]
    assert with_features.csi["csi"].is_monotonic_decreasing


def test_html_csi_section_lists_the_shifted_feature_first(with_features: Report) -> None:
    assert with_features.html.count(CSI_SECTION) == 1
    section = with_features.html.split(CSI_SECTION)[1].split("<h2>")[0]
    assert "Status ok below 0.1, watch from 0.1, alarm from 0.25" in section
    assert "2 of 3 features at watch or alarm; largest first." in section
    rows = re.findall(r"<tr>\s*<td>(\w+)</td>\s*<td>([\d.]+)</td>\s*<td>(\w+)</td>\s*</tr>", section)
    assert rows == [("days_past_due", "1.600", "alarm"), ("region", "0.169", "watch"), ("gmv_90d", "0.012", "ok")]


def test_without_features_there_is_no_csi_section(without_oracle: Report) -> None:
    assert without_oracle.csi is None
    assert "CSI" not in without_oracle.html


# ---------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------


def test_test_labels_of_one_class_are_refused_naming_the_model(two_models) -> None:
    models, _ = two_models
    all_good = EvaluatedModel("challenger", np.zeros(10, dtype=int), np.linspace(0.01, 0.2, 10))
    with pytest.raises(ValueError, match=r"model 'challenger': `y_test` has one class only \(all 0\)"):
        make_report([models[0], all_good])


def test_oracle_on_other_rows_is_refused(two_models) -> None:
    models, oracle = two_models
    with pytest.raises(ValueError, match=r"model 'lightgbm': oracle 'true PD' has 79 PDs for 80 test rows"):
        make_report(models, oracle=Oracle(oracle.name, oracle.pd_test[:-1]))


def test_repeated_model_names_are_refused(two_models) -> None:
    models, _ = two_models
    with pytest.raises(ValueError, match=r"model names must be unique; repeated: \['lightgbm'\]"):
        make_report([models[0], models[0]])


def test_features_of_one_window_only_are_refused(two_models) -> None:
    models, _ = two_models
    train, _ = feature_windows()
    with pytest.raises(ValueError, match=r"`features_train` and `features_test` go together"):
        make_report(models, features_train=train)
