"""The Berka loan table: the README's loans, point-in-time features, hand-checked values."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from credit.models.tables import read_labelled_table
from credit.realdata.berka import (
    FEATURE_COLUMNS,
    TRUNCATED_TRANSACTIONS,
    build_loan_table,
    read_loans,
    training_table,
    transaction_features,
)

# In CI the repository is cloned with ../shared beside it, as here.
BERKA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "berka"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return build_loan_table(BERKA).set_index("loan_id")


def _raw_history(file: str, account_id: int, granted_at: str) -> pd.DataFrame:
    """An account's rows of a transaction file before a grant date, read with bare pandas."""
    rows = pd.read_csv(BERKA / file, sep=";")
    rows = rows[rows["account_id"] == account_id]
    rows = rows.assign(day=pd.to_datetime(rows["date"].astype(str), format="%y%m%d"))
    return rows[rows["day"] < pd.Timestamp(granted_at)]


def test_the_table_holds_the_392_readme_loans_of_which_35_are_bad(table):
    by_file = table.groupby("history_file")["bad"].agg(["size", "sum"])

    assert (len(table), table["bad"].sum()) == (392, 35)
    assert by_file.loc["preloan_1995_1998/trans_test.csv"].tolist() == [354, 30]
    assert by_file.loc[TRUNCATED_TRANSACTIONS].tolist() == [38, 5]
    assert table.index.is_unique
    assert not table[list(FEATURE_COLUMNS)].isna().any().any()


def test_bad_means_loan_status_b_or_d_in_loan_asc(table):
    status = pd.read_csv(BERKA / "loan.asc", sep=";").set_index("loan_id")["status"]

    assert (table["bad"] == status[table.index].isin(["B", "D"]).astype(int)).all()


def test_an_early_loan_ignores_the_account_transactions_from_its_grant_date_on(table):
    # Loan 5316 (account 1801, granted 1993-07-11): the truncated file goes on to 1994-03-31
    # and holds 84 of the account's transactions on or after the grant, its first repayment
    # (UVER, 4,610 on 1993-07-12) among them.
    loan = table.loc[5316]
    before = _raw_history(TRUNCATED_TRANSACTIONS, 1801, "1993-07-11")
    last_3_months = before[before["day"] >= pd.Timestamp("1993-04-11")]

    assert loan["transaction_count"] == len(before) == 37
    assert loan["credit_total_3m"] == pytest.approx(
        last_3_months.loc[last_3_months["type"] == "PRIJEM", "amount"].sum())
    assert loan["credit_total_3m"] == pytest.approx(140_847.9)
    assert loan["balance_last"] == before.sort_values("day")["balance"].iloc[-1] == 52_208.9


def test_a_1997_loan_sees_its_arrears_up_to_the_day_before_grant(table):
    # Loan 5363 (account 2051, granted 1997-04-22, status D): overdrawn in March 1997, one
    # sanction interest on 1997-03-31, still -204.8 at its last transaction on 1997-04-01.
    loan = table.loc[5363]
    before = _raw_history("preloan_1995_1998/trans_test.csv", 2051, "1997-04-22")

    assert loan["transaction_count"] == len(before) == 90
    assert loan["sanction_interest_count"] == 1
    assert loan["balance_min"] == before["balance"].min() == -2_804.8
    assert loan["balance_last"] == -204.8
    assert loan["credit_total_3m"] == pytest.approx(16_700.7)
    assert loan["bad"] == 1


def test_the_1995_1998_cut_holds_only_transactions_before_each_loan():
    loans = read_loans(BERKA)
    rows = pd.read_csv(BERKA / "preloan_1995_1998" / "trans_test.csv", sep=";")
    rows = rows.merge(loans[["account_id", "granted_at"]], on="account_id")

    assert len(rows) == 30_200
    assert (pd.to_datetime(rows["date"].astype(str), format="%y%m%d") < rows["granted_at"]).all()


def _transaction(trans_id, booked_at, amount, balance, *, credit=False, cash=False,
                 sanction=False, account_id=1):
    return {"trans_id": trans_id, "account_id": account_id, "booked_at": pd.Timestamp(booked_at),
            "is_credit": credit, "amount": float(amount), "balance": float(balance),
            "is_cash_withdrawal": cash, "is_sanction_interest": sanction}


def test_features_of_a_small_hand_computed_account():
    loans = pd.DataFrame({"loan_id": [10], "account_id": [1],
                          "granted_at": [pd.Timestamp("2020-07-15")]})
    transactions = pd.DataFrame([
        _transaction(1, "2020-01-20", 1000, 1000, credit=True),      # month 6 before grant
        _transaction(2, "2020-03-01", 400, 600, cash=True),          # month 5
        _transaction(3, "2020-05-10", 500, 1100, credit=True),       # month 3
        # Same day, booked credit first although its trans_id is higher: closes at -100.
        _transaction(6, "2020-06-20", 100, 1200, credit=True),       # month 1
        _transaction(5, "2020-06-20", 1300, -100),
        _transaction(7, "2020-06-30", 10, -110, sanction=True),
        _transaction(8, "2020-07-15", 5000, 4890, credit=True),      # on the grant date
        _transaction(9, "2020-08-01", 50, 4840),                     # after it
        _transaction(4, "2020-02-01", 99_999, 99_999, credit=True, account_id=2),
    ])

    features = transaction_features(loans, transactions).loc[10]

    assert features["history_months"] == 6
    assert features["transaction_count"] == 6
    assert features["credit_total_3m"] == 600
    assert features["credit_trend_3m"] == pytest.approx(math.log(601 / 1001))
    assert features["cash_withdrawal_share"] == pytest.approx(400 / 1710)
    assert features["balance_last"] == -110
    assert features["balance_min"] == -110
    # Closing balances hold from 2020-01-20 to the grant (177 days), negative from 06-20 (25).
    assert features["negative_balance_day_share"] == pytest.approx(25 / 177)
    assert features["sanction_interest_count"] == 1


def test_a_file_without_the_expected_columns_is_refused_by_name(tmp_path):
    data = tmp_path / "berka"
    shutil.copytree(BERKA, data)
    loans = data / "preloan_1995_1998" / "loan_test.csv"
    loans.chmod(0o644)
    pd.read_csv(loans, sep=";").drop(columns="payments").to_csv(loans, sep=";", index=False)

    with pytest.raises(ValueError, match="loan_test.csv: expected columns"):
        build_loan_table(data)


def test_the_training_table_brings_exactly_the_features_to_the_labelled_table_reader(table, tmp_path):
    path = tmp_path / "loans_training.parquet"
    training_table(table.reset_index()).to_parquet(path, index=False)

    labelled = read_labelled_table(path, target="bad", id_column="loan_id")

    assert list(labelled.features.columns) == list(FEATURE_COLUMNS)
    assert labelled.left_out == {"loan_id": "id column"}
    assert (len(labelled.target), int(labelled.target.sum())) == (392, 35)
