"""``credit train --table``: what reading the table found is printed before training, and bad options are named.

Every table here is refused before or at the start of training (too few defaults for the
folds, one date for the windows), so the checks are seen without training a model.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import mlflow_left_as_found
from tests.cli.invoke import assert_refused, credit

pytestmark = [
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated:DeprecationWarning:mlflow"),
]


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    monkeypatch.setenv("CREDIT_ARTIFACT_LOCATION", (tmp_path / "mlruns").as_uri())
    with mlflow_left_as_found():
        yield "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"


def lines_of(output: str) -> list[str]:
    return [line.rstrip() for line in output.splitlines()]


def test_the_checks_are_printed_before_training_starts(tmp_path: Path, tracking: tuple[str, str]) -> None:
    path = tmp_path / "applicants.csv"
    rows = [("applicant", "income", "region", "status")] + [
        (str(i + 1), "?" if i in (2, 5, 9) else str(1000 + 10 * i), "north" if i % 2 else "south",
         "Y" if i in (1, 7) else "N") for i in range(12)]
    path.write_text("".join(";".join(row) + "\n" for row in rows))
    outcome = credit("train", "--table", path, "--target", "status", "--bad", "Y", *tracking)
    assert_refused(outcome, "the table has 2 bad row(s), fewer than the 5 folds")
    lines = lines_of(outcome.output)
    start = lines.index(f"Data checks on {path}:")
    assert lines[start + 1:start + 5] == [
        "  left out 'applicant': id-like: a different whole number in every row, running densely",
        "  separator ';', sniffed from the first lines (--sep to force one)",
        "  missing values in 'income': '?' (3 rows); read as numbers",
        "  leakage not checked: 2 default(s) and 10 other row(s); the check needs 10 of each, below that a column "
        "separates them by chance too often",
    ]


def test_a_leaking_column_is_warned_about_first(tmp_path: Path, tracking: tuple[str, str]) -> None:
    path = tmp_path / "loans.csv"
    bad = [1, 0] * 10
    path.write_text("opened,recovered,tenure,bad\n" + "".join(
        f"2024-03-01,{50 + i if b else 0},{i % 3},{b}\n" for i, b in enumerate(bad)))
    # one date cannot be cut into windows: refused once the checks are out
    outcome = credit("train", "--table", path, "--target", "bad", "--time-col", "opened", *tracking)
    assert_refused(outcome, "cannot be cut into a train window and a test window of about 20% of the rows")
    lines = lines_of(outcome.output)
    assert lines[lines.index(f"Data checks on {path}:") + 1] == (
        "  warning: possible leakage: 'recovered' alone separates defaults from the rest (single-column AUC 1.000 "
        ">= 0.99); check that it is known before the outcome, or leave it out of the table")
    assert "  left out 'opened': time column" in lines


def test_a_target_coded_y_n_is_refused_saying_how_to_name_the_bad_class(tmp_path: Path,
                                                                        tracking: tuple[str, str]) -> None:
    path = tmp_path / "loans.csv"
    path.write_text("amount,status\n" + "".join(f"{i % 4},{'Y' if i % 3 == 0 else 'N'}\n" for i in range(9)))
    outcome = credit("train", "--table", path, "--target", "status", *tracking)
    assert_refused(outcome, f"error: {path}: target 'status' is not coded 0/1, true/false or yes/no: it holds "
                            "'N' (6 rows) and 'Y' (3 rows); name the value that marks a default with --bad, "
                            "e.g. --bad Y")


def test_a_line_that_does_not_fit_is_named_with_the_file_and_line(tmp_path: Path, tracking: tuple[str, str]) -> None:
    path = tmp_path / "loans.csv"
    path.write_text("amount;region;bad\n1;north;0\n2;south;1\n3;north;0;9\n")
    outcome = credit("train", "--table", path, "--target", "bad", *tracking)
    assert_refused(outcome, f"error: {path}: line 4 has 4 fields where the header has 3 (separator ';'); fix that "
                            "line, or pass --sep if the separator is another")
    assert "Error tokenizing" not in outcome.output


@pytest.mark.parametrize(("arguments", "message"), [
    (["--sep", ":"], "--sep ':': give one of , ; | or tab"),
    (["--scale", "0.1,0.05"], "--scale '0.1,0.05': the PD upper bounds must increase and lie between 0 and 1, "
                              "e.g. --scale 0.02,0.05,0.1"),
    (["--scale", "low,high"], "--scale 'low,high': give PD upper bounds as numbers separated by commas, "
                              "e.g. --scale 0.02,0.05,0.1"),
])
def test_a_separator_or_scale_it_cannot_use_is_refused_by_name(arguments: list[str], message: str, tmp_path: Path,
                                                               tracking: tuple[str, str]) -> None:
    path = tmp_path / "loans.csv"
    path.write_text("amount,bad\n1,0\n2,1\n")
    assert_refused(credit("train", "--table", path, "--target", "bad", *arguments, *tracking), message)


@pytest.mark.parametrize("option", [["--bad", "Y"], ["--sep", ";"], ["--scale", "0.1"]])
def test_table_options_are_refused_with_a_panel(option: list[str], tmp_path: Path) -> None:
    assert_refused(credit("train", "--panel", tmp_path, *option),
                   "--target, --time-col, --id-col, --bad, --sep and --scale go with --table, not with --panel")


def test_dask_workers_are_refused_with_a_table(tmp_path: Path) -> None:
    path = tmp_path / "loans.csv"
    path.write_text("amount,bad\n1,0\n2,1\n")
    assert_refused(credit("train", "--table", path, "--target", "bad", "--workers", "2"),
                   "--workers trains a panel's PD model on Dask; a --table trains here")
