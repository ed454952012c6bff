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
    (loans(bad=[0, 1, 2, 0, 1, 0]), {},
     "target 'bad' must hold two values, one for a default and one for not; "
     "it holds '0' (3 rows), '1' (2 rows) and '2' (1 row)"),
    (loans(bad=["no", "yes", "maybe", "no", "no", "yes"]), {},
     "target 'bad' must hold two values, one for a default and one for not; "
     "it holds 'no' (3 rows), 'yes' (2 rows) and 'maybe' (1 row)"),
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


# ---------------------------------------------------------------------------------------------
# Hygiene said out loud: markers, numbers, ids, leakage, the bad class, the separator
# ---------------------------------------------------------------------------------------------


def write_text(tmp_path: Path, text: str, name: str = "loans.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_missing_value_markers_are_named_per_column_and_the_column_reads_as_numbers(tmp_path: Path) -> None:
    path = write_text(tmp_path, "income,region,bad\n"
                                "100,north,0\n"
                                "?,south,1\n"
                                " NA ,north,0\n"
                                "?,?,0\n"
                                ",north,1\n"
                                "n/a,south,0\n"
                                "null,south,1\n"
                                "120,north,0\n"
                                "-,?,0\n")
    table = read_labelled_table(path, target="bad")
    assert table.features["income"].dtype == float
    assert table.features["income"].isna().sum() == 7 and table.features["income"].sum() == 220
    assert str(table.features["region"].dtype) == "category"
    assert table.features["region"].isna().sum() == 2
    assert table.findings == [
        "missing values in 'income': '?' (2 rows), 'NA' (1 row), empty (1 row), 'n/a' (1 row), 'null' (1 row), "
        "'-' (1 row); read as numbers",
        "missing values in 'region': '?' (2 rows); read as categories",
        "leakage not checked: 3 default(s) and 6 other row(s); the check needs 10 of each, below that a column "
        "separates them by chance too often",
    ]


def test_a_mostly_numeric_column_with_other_text_stays_categorical_and_says_which_text(tmp_path: Path) -> None:
    path = write_text(tmp_path, "limit,grade,bad\n100,1,0\n200,2,1\nn.a.,3+,0\n300,2,0\nunknown,1,1\nn.a.,A,0\n")
    table = read_labelled_table(path, target="bad")
    assert str(table.features["limit"].dtype) == "category"
    # 'grade' holds numbers in 4 of 6 rows: at least half, so it is said too
    assert table.findings[:2] == [
        "'limit' is read as categories, not numbers: 3 rows hold numbers but 3 rows hold text ('n.a.' (2 rows), "
        "'unknown' (1 row)); a column is numeric only when every value is a number or a missing-value marker",
        "'grade' is read as categories, not numbers: 4 rows hold numbers but 2 rows hold text ('3+' (1 row), "
        "'A' (1 row)); a column is numeric only when every value is a number or a missing-value marker",
    ]


def test_a_text_column_with_few_numbers_is_categorical_without_a_word(tmp_path: Path) -> None:
    path = write_text(tmp_path, "purpose,bad\ncar,0\ncar,1\nhouse,0\n2,0\nhouse,1\n")
    table = read_labelled_table(path, target="bad")
    assert str(table.features["purpose"].dtype) == "category"
    assert not any("purpose" in finding for finding in table.findings)


def test_id_like_columns_are_left_out_naming_why_and_measurements_stay(tmp_path: Path) -> None:
    frame = pd.DataFrame({
        "row": [1, 2, 3, 4, 5, 6],                      # dense whole numbers: a running number
        "loan_no": [9, 310, 77, 1200, 45, 5000],        # sparse, but under an id's name
        "customerId": [11, 52, 93, 140, 8, 600],        # camelCase id
        "name": ["Ann", "Bo", "Cy", "Di", "Ed", "Flo"],  # a different text in every row
        "amount": [10.5, 3.25, 8.0, 1.75, 99.9, 4.4],    # a measurement: floats stay
        "salary": [1500, 32000, 870, 4100, 15000, 2200],  # sparse whole numbers under another name stay
        "bad": [0, 1, 0, 0, 1, 0],
    })
    table = read_labelled_table(write(tmp_path, frame), target="bad")
    assert list(table.features.columns) == ["amount", "salary"]
    assert table.left_out == {
        "row": "id-like: a different whole number in every row, running densely",
        "loan_no": "id-like: a different whole number in every row, under an id's name",
        "customerId": "id-like: a different whole number in every row, under an id's name",
        "name": "id-like: a different text in every row",
    }
    assert table.checks()[:1] == ["left out 'row': id-like: a different whole number in every row, running densely"]


def test_a_column_that_separates_the_classes_alone_is_kept_with_a_leakage_warning(tmp_path: Path) -> None:
    bad = [1, 0] * 10
    frame = pd.DataFrame({
        "recovered": [float(50 + i) if b else 0.0 for i, b in enumerate(bad)],
        "collected_days": [float(i) if b else None for i, b in enumerate(bad)],  # known only for defaults
        "status": ["written off" if b else ("open" if i % 4 else "closed") for i, b in enumerate(bad)],
        "tenure": [3, 3, 5, 1, 4, 2, 5, 4, 1, 3, 2, 2, 4, 5, 1, 1, 3, 4, 2, 5],  # no separation
        "bad": bad,
    })
    table = read_labelled_table(write(tmp_path, frame), target="bad")
    assert list(table.features.columns) == ["recovered", "collected_days", "status", "tenure"]
    assert table.warnings == [
        f"possible leakage: {column!r} alone separates defaults from the rest (single-column AUC 1.000 >= 0.99); "
        "check that it is known before the outcome, or leave it out of the table"
        for column in ("recovered", "collected_days", "status")
    ]
    assert table.checks()[0].startswith("warning: possible leakage: 'recovered'")


@pytest.mark.parametrize(("values", "bad", "expected"), [
    (["N", "Y", "N", "N", "y", "N"], "Y", [0, 1, 0, 0, 1, 0]),
    ([1, 2, 1, 1, 2, 1], "2", [0, 1, 0, 0, 1, 0]),
    ([1, 2, 1, 1, 2, 1], "2.0", [0, 1, 0, 0, 1, 0]),
    (["good", "bad", "good", "good", "bad", "good"], " GOOD ", [1, 0, 1, 1, 0, 1]),
])
def test_bad_names_the_default_class_whatever_the_coding(tmp_path: Path, values: list, bad: str,
                                                         expected: list[int]) -> None:
    table = read_labelled_table(write(tmp_path, loans(bad=values)), target="bad", bad_value=bad)
    assert table.target.tolist() == expected


@pytest.mark.parametrize(("values", "bad", "message"), [
    (["N", "Y", "N", "N", "Y", "N"], None,
     "target 'bad' is not coded 0/1, true/false or yes/no: it holds 'N' (4 rows) and 'Y' (2 rows); "
     "name the value that marks a default with --bad, e.g. --bad Y"),
    ([1, 2, 1, 1, 2, 1], None,
     "target 'bad' is not coded 0/1, true/false or yes/no: it holds '1' (4 rows) and '2' (2 rows); "
     "name the value that marks a default with --bad, e.g. --bad 2"),
    (["N", "Y", "N", "N", "Y", "N"], "D",
     "--bad 'D': target 'bad' has no such value; it holds 'N' (4 rows) and 'Y' (2 rows)"),
    (["N", "Y", "N", "M", "Y", "N"], "Y",
     "target 'bad' must hold two values, one for a default and one for not; "
     "it holds 'N' (3 rows), 'Y' (2 rows) and 'M' (1 row)"),
])
def test_a_target_that_is_not_recognised_says_what_it_holds_and_how_to_name_the_bad_class(
        tmp_path: Path, values: list, bad: str | None, message: str) -> None:
    path = write(tmp_path, loans(bad=values))
    with pytest.raises(TableError) as error:
        read_labelled_table(path, target="bad", bad_value=bad)
    assert str(error.value) == f"{path}: {message}"


@pytest.mark.parametrize(("separator", "shown"), [(";", "';'"), ("\t", "tab"), ("|", "'|'")])
def test_the_separator_is_sniffed_and_said_when_it_is_not_a_comma(tmp_path: Path, separator: str, shown: str) -> None:
    path = write_text(tmp_path, "\n".join(separator.join(row) for row in
                                          [["amount", "region", "bad"], ["1.5", "north", "0"], ["2.5", "south", "1"],
                                           ["3.5", "north", "0"], ["0.5", "south", "1"]]) + "\n")
    table = read_labelled_table(path, target="bad")
    assert list(table.features.columns) == ["amount", "region"]
    assert table.features["amount"].tolist() == [1.5, 2.5, 3.5, 0.5]
    assert table.findings[0] == f"separator {shown}, sniffed from the first lines (--sep to force one)"


def test_a_forced_separator_is_used_and_not_said(tmp_path: Path) -> None:
    path = write_text(tmp_path, "amount;region;bad\n1,5;north;0\n2,5;south;1\n1,5;north;0\n")
    table = read_labelled_table(path, target="bad", separator=";")
    assert list(table.features.columns) == ["amount", "region"]
    assert not any("separator" in finding for finding in table.findings)
    with pytest.raises(TableError, match="no target 'bad'; the columns are amount;region;bad"):
        read_labelled_table(path, target="bad", separator=",")


def test_a_line_that_does_not_fit_the_header_is_named_not_a_tokenizer_error(tmp_path: Path) -> None:
    path = write_text(tmp_path, "amount;region;bad\n1.5;north;0\n2.5;south;1\n3.5;north;0;extra\n0.5;south;1\n")
    with pytest.raises(TableError) as error:
        read_labelled_table(path, target="bad")
    assert str(error.value) == (f"{path}: line 4 has 4 fields where the header has 3 (separator ';'); fix that line, "
                                "or pass --sep if the separator is another")
