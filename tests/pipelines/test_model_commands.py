"""``credit train / promote / evaluate`` as a user runs them, and their errors as one clear line."""

from __future__ import annotations

import re
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import app
from credit.models import REGISTERED_MODEL

pytestmark = [
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated:DeprecationWarning:mlflow"),
]
runner = CliRunner()


@pytest.fixture
def tracked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("CREDIT_ARTIFACT_LOCATION", (tmp_path / "mlruns").as_uri())
    yield ["--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"]
    mlflow.set_tracking_uri(None)


def run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes is not None else "")


def test_train_then_promote_then_evaluate_a_panel(marketplace, tracked, tmp_path: Path) -> None:  # noqa: ANN001
    quick = marketplace["root"] / "quick.toml"
    code, out = run("train", "--panel", marketplace["panel"], "--config", quick, "--truth", marketplace["truth"],
                    "--report", tmp_path / "train.html", *tracked)
    assert code == 0, out
    assert f"Registered {REGISTERED_MODEL} version 1 as challenger" in out
    assert "Oracle (the simulator's true PD) on the same rows: AUC" in out
    assert (tmp_path / "train.html").read_text().startswith("<!DOCTYPE html>")

    code, out = run("promote", "--panel", marketplace["panel"], "--config", quick, *tracked)
    assert code == 0, out
    assert "against no champion yet" in out and "PROMOTED: version 1 is the champion" in out

    stump = marketplace["root"] / "stump.toml"
    assert run("train", "--panel", marketplace["panel"], "--config", stump, "--report", tmp_path / "s.html",
               *tracked)[0] == 0
    code, out = run("promote", "--panel", marketplace["panel"], "--config", quick, *tracked)
    assert code == 1, out
    assert "FAIL  auc_gain" in out and "NOT PROMOTED: the champion stays" in out

    code, out = run("evaluate", "--panel", marketplace["panel"], "--config", quick, "--report",
                    tmp_path / "evaluate.html", *tracked)
    assert code == 0, out
    assert "champion (v1)" in out and "challenger (v2)" in out


def test_train_on_a_table_without_a_time_column_cross_validates(tracked, tmp_path: Path) -> None:  # noqa: ANN001
    rng = np.random.default_rng(4)
    risk = rng.normal(size=600)
    table = pd.DataFrame({"applicant": np.arange(600), "risk": risk, "noise": rng.normal(size=600),
                          "sector": rng.choice(["food", "steel"], 600),
                          "bad": (rng.random(600) < 1 / (1 + np.exp(-(-2.5 + 1.5 * risk)))).astype(int)})
    path = tmp_path / "applicants.csv"
    table.to_csv(path, index=False)
    config = tmp_path / "small.toml"
    config.write_text("[lightgbm]\nlearning_rate = 0.1\nnum_threads = 1\nmin_child_samples = 10\n"
                      "[training]\nnum_boost_round = 100\nscorecard = false\n")
    code, out = run("train", "--table", path, "--target", "bad", "--id-col", "applicant", "--config", config,
                    "--report", tmp_path / "table.html", *tracked)
    assert code == 0, out
    assert "stratified 5-fold cross-validation: no time column was given" in out
    assert "Out-of-fold PDs of every row: 600 rows" in out
    # the champion is whichever the inner folds chose (scorecard = false here): registered under its name
    assert re.search(r"Registered applicants_pd version 1 \((logistic|lightgbm|blend)\) as challenger",
                     " ".join(out.split())), out
    assert f"Data checks on {path}:\n  left out 'applicant': id column\n" in out
    page = (tmp_path / "table.html").read_text()
    assert "cross-validation" in page
    assert "<li>left out &#39;applicant&#39;: id column</li>" in page
    # grades from the table's own PDs: seven of them, A to G, never the master scale's H
    assert "<p>Grades: 7 grades at the quantiles of the evaluated PDs of every candidate, pooled: A [0" in page
    assert "<td>G</td>" in page and "<td>H</td>" not in page


@pytest.mark.parametrize(("args", "message"), [
    ([], "give either --panel FOLDER (a feature panel) or --table FILE --target COLUMN"),
    (["--panel", "p", "--table", "t"], "give either --panel FOLDER"),
    (["--panel", "{tmp}", "--target", "bad"], "--target, --time-col, --id-col, --bad, --sep and --scale go with --table"),
    (["--table", "{tmp}/t.csv"], "--table needs --target COLUMN"),
    (["--panel", "{tmp}"], "holds no feature panel: panel.parquet is missing"),
    (["--panel", "{tmp}", "--config", "{tmp}/none.toml"], "cannot read the model configuration"),
])
def test_train_refuses_what_it_cannot_do_in_one_line(args: list[str], message: str, tracked, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "t.csv").write_text("bad,x\n0,1\n1,2\n")
    code, out = run("train", *[a.format(tmp=tmp_path) for a in args], *tracked)
    assert code == 2
    assert message in " ".join(out.split())
    assert "Traceback" not in out


def test_a_table_with_one_class_is_refused_with_the_column(tracked, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "one.csv"
    pd.DataFrame({"bad": [0] * 20, "x": range(20)}).to_csv(path, index=False)
    code, out = run("train", "--table", path, "--target", "bad", *tracked)
    assert code == 2 and "target 'bad' has one class only" in " ".join(out.split())


def test_promote_without_a_challenger_says_so(marketplace, tracked) -> None:  # noqa: ANN001
    code, out = run("promote", "--panel", marketplace["panel"], *tracked)
    assert code == 2 and f"no registered model '{REGISTERED_MODEL}'" in " ".join(out.split())
