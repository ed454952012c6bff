"""Bring your own table: a labelled CSV or Parquet file is checked before any training."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from credit.models.tables import TableError, read_labelled_table


def write(tmp_path: Path, frame: pd.DataFrame, name: str = "loans.csv") -> Path:
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def loans(**overrides: list) -> pd.DataFrame:
    columns = {
        "loan_id": [1, 2, 3, 4, 5, 6],
        "granted": ["2024-01-05", "2024-02-10", "2024-03-01", "2024-03-20", "2024-04-02", "2024-05-30"],
        "bad": [0, 1, 0, 0, 1, 0],
        "balance": [120.5, -30.0, 80.0, None, -5.5, 60.0],
        "sector": ["retail", "farm", "retail", "mining", "farm", "retail"],
        "verified": [True, False, True, True, False, True],
        "country": ["CZ"] * 6,
    }
    return pd.DataFrame({**columns, **overrides})


def test_a_good_table_gives_numeric_and_categorical_features_and_names_what_it_left_out(tmp_path: Path) -> None:
    table = read_labelled_table(write(tmp_path, loans()), target="bad", id_column="loan_id", time_column="granted")
    assert table.target.tolist() == [0, 1, 0, 0, 1, 0]
    assert list(table.features.columns) == ["balance", "sector", "verified"]
    assert str(table.features["sector"].dtype) == "category"
    assert table.features["verified"].tolist() == [1.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    assert table.features["balance"].isna().sum() == 1  # missing stays missing, the model handles it
    assert table.left_out == {"loan_id": "id column", "granted": "time column", "country": "constant"}
    assert table.times.iloc[2] == pd.Timestamp("2024-03-01")


def test_a_parquet_table_with_a_yes_no_target_reads_the_same_way(tmp_path: Path) -> None:
    frame = loans(bad=["no", "YES", "no", "no", "yes", "No"])
    table = read_labelled_table(write(tmp_path, frame, "loans.parquet"), target="bad")
    assert table.target.tolist() == [0, 1, 0, 0, 1, 0]
    assert table.ids is None and table.times is None


@pytest.mark.parametrize(("frame", "arguments", "message"), [
    (loans(bad=[0, 1, 2, 0, 1, 0]), {}, "target 'bad' must be binary (0/1); it also holds [2]"),
    (loans(bad=["no", "yes", "maybe", "no", "no", "yes"]), {},
     "target 'bad' must be binary (0/1, true/false or yes/no); it also holds ['maybe']"),
    (loans(bad=[0, 0, 0, 0, 0, 0]), {}, "target 'bad' has one class only (every row is 0)"),
    (loans(bad=[0, 1, None, 0, 1, 0]), {}, "target 'bad' is empty in 1 row(s)"),
    (loans(loan_id=[1, 2, 3, 2, 5, 2]), {"id_column": "loan_id"},
     "id column 'loan_id' repeats 1 value(s), e.g. 2 in rows 2, 4, 6"),
    (loans(granted=["2024-01-05", "2024-02-10", "31/31/2024", "2024-03-20", "2024-04-02", "2024-05-30"]),
     {"time_column": "granted"}, "time column 'granted' does not parse as a date in row 3: '31/31/2024'"),
    (loans(), {"time_column": "issued"}, "no time column 'issued'; the columns are loan_id, granted, bad"),
])
def test_a_table_that_cannot_be_trained_on_is_refused_naming_the_column(tmp_path: Path, frame: pd.DataFrame,
                                                                        arguments: dict, message: str) -> None:
    path = write(tmp_path, frame)
    with pytest.raises(TableError) as error:
        read_labelled_table(path, target="bad", **arguments)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_a_table_with_no_usable_feature_is_refused_with_what_was_left_out(tmp_path: Path) -> None:
    frame = pd.DataFrame({"loan_id": [1, 2, 3], "bad": [0, 1, 0], "country": ["CZ"] * 3, "note": [None] * 3})
    with pytest.raises(TableError, match=r"no usable feature column besides the target; left out: "
                                         r"loan_id \(id column\), country \(constant\), note \(all missing\)"):
        read_labelled_table(write(tmp_path, frame), target="bad", id_column="loan_id")


def test_a_missing_or_unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TableError, match="no such file"):
        read_labelled_table(tmp_path / "absent.csv", target="bad")
    (tmp_path / "loans.xlsx").write_text("not a table")
    with pytest.raises(TableError, match=r"a labelled table is a \.csv, \.csv\.gz or \.parquet file"):
        read_labelled_table(tmp_path / "loans.xlsx", target="bad")
    (tmp_path / "empty.csv").write_text("bad,balance\n")
    with pytest.raises(TableError, match="the table has no rows"):
        read_labelled_table(tmp_path / "empty.csv", target="bad")
