"""Loans of the Berka (PKDD'99) Czech bank data as a labelled, point-in-time feature table.

Only the loans whose whole pre-loan account history is in the files are used (see the data
README): the 354 loans of ``preloan_1995_1998/loan_test.csv`` (transactions in
``trans_test.csv``, outcomes in ``loan_test_labels_from_berka.csv``) and the loans of
``loan.asc`` granted on or before 1994-03-31, whose transactions are in
``trans_TRUNCATED_to_1994-03-31.asc``.

An account plays the part of a firm and a loan the part of a financing decision at its grant
date. Every feature of a loan is computed from the account's transactions strictly before
``granted_at`` and from what was known at grant (loan terms, account statement frequency,
cards issued before the grant, district statistics). The label ``bad`` is 1 for loan status
B (finished, not paid) or D (running, in debt).

Money is kept as the files give it (Czech crowns, floats): these are model features, not
ledger amounts, and only the labels must be exact.

Month windows are calendar months counted back from the grant date: month 1 before a loan
granted on 1997-03-15 is [1997-02-15, 1997-03-15), month 2 is [1997-01-15, 1997-02-15),
and so on (a day past the month's end becomes the month's last day). "Last 3 months" is
months 1-3; ``history_months`` is the month holding the account's first transaction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

PRELOAN_DIR = "preloan_1995_1998"
TRUNCATED_TRANSACTIONS = "trans_TRUNCATED_to_1994-03-31.asc"
TRUNCATED_AT = pd.Timestamp("1994-03-31")
BAD_STATUSES = ("B", "D")
BALANCE_TOLERANCE = 0.15  # crowns; see _end_of_day_balances

ID_COLUMNS = ("loan_id", "account_id", "granted_at")
LABEL_COLUMN = "bad"
TRAINING_ID_COLUMN = "loan_id"
WINDOWS_MONTHS = (3, 6, 12)

_TRANSACTION_COLUMNS = ["trans_id", "account_id", "date", "type", "operation", "amount",
                        "balance", "k_symbol", "bank", "account"]
_LOAN_COLUMNS = ["loan_id", "account_id", "date", "amount", "duration", "payments", "status"]
_EXPECTED_COLUMNS = {
    "loan.asc": _LOAN_COLUMNS,
    "account.asc": ["account_id", "district_id", "frequency", "date"],
    "disp.asc": ["disp_id", "client_id", "account_id", "type"],
    "card.asc": ["card_id", "disp_id", "type", "issued"],
    "district.asc": [f"A{i}" for i in range(1, 17)],
    TRUNCATED_TRANSACTIONS: _TRANSACTION_COLUMNS,
    f"{PRELOAN_DIR}/loan_test.csv": _LOAN_COLUMNS,
    f"{PRELOAN_DIR}/loan_test_labels_from_berka.csv": ["loan_id", "account_id", "date", "status",
                                                        "bad"],
    f"{PRELOAN_DIR}/trans_test.csv": _TRANSACTION_COLUMNS,
}

# The raw files are in Czech, the 1995-1998 cut in English; both map to credit/debit.
_CREDIT_TYPES = {"PRIJEM", "credit"}
_DEBIT_TYPES = {"VYDAJ", "VYBER", "withdrawal", "withdrawal in cash"}
_CASH_WITHDRAWAL_OPERATIONS = {"VYBER", "withdrawal in cash"}
_SANCTION_INTEREST = {"SANKC. UROK", "sanction interest if negative balance"}
_STATEMENT_FREQUENCIES = {"POPLATEK MESICNE": "monthly", "POPLATEK TYDNE": "weekly",
                          "POPLATEK PO OBRATU": "after_transaction"}


def _window_features(prefix: str) -> list[str]:
    return [f"{prefix}_{w}m" for w in WINDOWS_MONTHS] + [f"{prefix}_all"]


FEATURE_COLUMNS = tuple(
    ["history_months", "transaction_count", "transactions_per_month"]
    + _window_features("credit_total") + _window_features("credit_per_month")
    + _window_features("debit_total") + _window_features("debit_per_month")
    + ["credit_mean_amount", "debit_mean_amount", "cash_withdrawal_share",
       "cash_withdrawal_count", "balance_last", "balance_min", "balance_mean", "balance_std",
       "balance_daily_mean", "negative_balance_day_share", "negative_balance_transaction_share",
       "sanction_interest_count", "credit_trend_3m", "net_flow_monthly_std",
       "net_flow_volatility",
       "loan_amount", "duration_months", "monthly_payment", "payment_to_monthly_credit",
       "statement_weekly", "statement_after_transaction", "card_before_grant",
       "district_unemployment_rate", "district_crimes_per_1000", "district_average_salary",
       "district_urban_share"]
)


# ---------------------------------------------------------------------------------------------
# Reading


def _read(data_dir: Path, name: str) -> pd.DataFrame:
    """One file of the data set, its columns checked against what the code relies on."""
    path = Path(data_dir) / name
    sep = "," if name.endswith("_labels_from_berka.csv") else ";"
    table = pd.read_csv(path, sep=sep)
    expected = _EXPECTED_COLUMNS[name]
    if list(table.columns) != expected:
        raise ValueError(f"{path}: expected columns {expected}; got {list(table.columns)}.")
    return table


def _parse_yymmdd(values: pd.Series) -> pd.Series:
    # card.asc writes "931107 00:00:00"; every other file a bare 931107.
    return pd.to_datetime(values.astype(str).str[:6], format="%y%m%d")


def read_loans(data_dir: Path) -> pd.DataFrame:
    """The loans with their whole pre-loan history in the files, with their outcome.

    Parameters
    ----------
    data_dir
        The Berka folder (holding ``loan.asc`` and ``preloan_1995_1998/``).

    Returns
    -------
    DataFrame
        One row per loan: ``loan_id``, ``account_id``, ``granted_at``, ``loan_amount``,
        ``duration_months``, ``monthly_payment``, ``status``, ``bad`` and ``history_file``
        (the transaction file holding the account's history).

    Raises
    ------
    ValueError
        When a file lacks the expected columns, or the outcome file does not describe the same
        loans as ``loan_test.csv`` and ``loan.asc``.
    """
    raw = _read(data_dir, "loan.asc")
    raw["granted_at"] = _parse_yymmdd(raw["date"])
    early = raw[raw["granted_at"] <= TRUNCATED_AT].assign(history_file=TRUNCATED_TRANSACTIONS)

    labels_name = f"{PRELOAN_DIR}/loan_test_labels_from_berka.csv"
    preloan = _read(data_dir, f"{PRELOAN_DIR}/loan_test.csv").drop(columns="status")
    labels = _read(data_dir, labels_name)
    preloan = preloan.merge(labels, on="loan_id", how="left", suffixes=("", "_label"),
                            validate="one_to_one")
    known = raw.set_index("loan_id")["status"]
    mismatch = (
        preloan["status"].isna()
        | (preloan["account_id"] != preloan["account_id_label"])
        | (preloan["date"] != preloan["date_label"])
        | (preloan["bad"] != preloan["status"].isin(BAD_STATUSES).astype(int))
        | (preloan["status"] != preloan["loan_id"].map(known))
    )
    if mismatch.any():
        raise ValueError(f"{Path(data_dir) / labels_name}: the outcomes of loans "
                         f"{preloan.loc[mismatch, 'loan_id'].tolist()[:10]} are missing or "
                         "disagree with loan_test.csv or loan.asc.")
    preloan["granted_at"] = _parse_yymmdd(preloan["date"])
    preloan["history_file"] = f"{PRELOAN_DIR}/trans_test.csv"

    columns = ["loan_id", "account_id", "granted_at", "amount", "duration", "payments", "status",
               "history_file"]
    loans = pd.concat([early[columns], preloan[columns]], ignore_index=True)
    loans = loans.rename(columns={"amount": "loan_amount", "duration": "duration_months",
                                  "payments": "monthly_payment"})
    loans["monthly_payment"] = loans["monthly_payment"].astype(float)
    loans["bad"] = loans["status"].isin(BAD_STATUSES).astype(int)
    return loans.sort_values("loan_id", ignore_index=True)


def read_transactions(data_dir: Path, loans: pd.DataFrame) -> pd.DataFrame:
    """The transactions of the loans' accounts, Czech and English codes mapped to one form.

    Parameters
    ----------
    data_dir
        The Berka folder.
    loans
        Output of :func:`read_loans`; its ``history_file`` says where each account's history is.

    Returns
    -------
    DataFrame
        ``trans_id``, ``account_id``, ``booked_at``, ``is_credit``, ``amount`` (positive),
        ``balance`` (after the transaction), ``is_cash_withdrawal``,
        ``is_sanction_interest``. All of the files' rows for those accounts, including any on
        or after a grant date: cutting them is the feature functions' job.

    Raises
    ------
    ValueError
        When a file lacks the expected columns or holds a transaction type not known here.
    """
    parts = []
    for name, accounts in loans.groupby("history_file")["account_id"]:
        table = _read(data_dir, name)
        table = table[table["account_id"].isin(accounts)]
        unknown = set(table["type"].dropna()) - _CREDIT_TYPES - _DEBIT_TYPES
        if unknown or table["type"].isna().any():
            raise ValueError(f"{Path(data_dir) / name}: unknown transaction types "
                             f"{sorted(unknown) or ['<empty>']}.")
        parts.append(pd.DataFrame({
            "trans_id": table["trans_id"],
            "account_id": table["account_id"],
            "booked_at": _parse_yymmdd(table["date"]),
            "is_credit": table["type"].isin(_CREDIT_TYPES),
            "amount": table["amount"].astype(float),
            "balance": table["balance"].astype(float),
            "is_cash_withdrawal": table["operation"].isin(_CASH_WITHDRAWAL_OPERATIONS),
            "is_sanction_interest": table["k_symbol"].isin(_SANCTION_INTEREST),
        }))
    return pd.concat(parts, ignore_index=True)


def read_account_context(data_dir: Path) -> dict[str, pd.DataFrame]:
    """``account.asc``, ``district.asc``, ``disp.asc`` and ``card.asc`` as read, columns checked."""
    return {name.removesuffix(".asc"): _read(data_dir, name)
            for name in ("account.asc", "district.asc", "disp.asc", "card.asc")}


# ---------------------------------------------------------------------------------------------
# Features


def _months_before(booked_at: pd.Series, granted_at: pd.Series) -> np.ndarray:
    """Calendar month (1 = the month just before) of each date counted back from its grant date."""
    months = ((granted_at.dt.year - booked_at.dt.year) * 12
              + (granted_at.dt.month - booked_at.dt.month)).to_numpy()
    index = granted_at.dt.year.to_numpy() * 12 + granted_at.dt.month.to_numpy() - 1 - months
    year, month = np.divmod(index, 12)
    first_of_month = pd.to_datetime(pd.DataFrame({"year": year, "month": month + 1, "day": 1}))
    day = np.minimum(granted_at.dt.day.to_numpy(), first_of_month.dt.days_in_month.to_numpy())
    boundary = first_of_month + pd.to_timedelta(day - 1, unit="D")
    return np.where(booked_at.to_numpy() >= boundary.to_numpy(), months, months + 1)


def _end_of_day_balances(history: pd.DataFrame) -> pd.DataFrame:
    """Each loan's account balance at the end of every day with transactions.

    The files do not order a day's transactions (``trans_id`` does not follow them), so the
    day's closing balance is the one that is no other same-day transaction's opening balance
    (balance minus signed amount). The 1995-1998 cut's balances drift by 0.1 crown, hence the
    tolerance; with it every day of these loans has exactly one closing candidate, and if one
    ever had none or several, the highest ``trans_id`` among them would win.
    """
    day = history[["loan_id", "booked_at", "trans_id", "balance"]].copy()
    day["row"] = np.arange(len(day))
    day["opening"] = day["balance"] - np.where(history["is_credit"], history["amount"],
                                               -history["amount"])
    busy = day[day.groupby(["loan_id", "booked_at"])["trans_id"].transform("size") > 1]
    pairs = busy.merge(busy[["loan_id", "booked_at", "row", "opening"]],
                       on=["loan_id", "booked_at"], suffixes=("", "_other"))
    continued = pairs[(pairs["row"] != pairs["row_other"])
                      & ((pairs["opening_other"] - pairs["balance"]).abs() <= BALANCE_TOLERANCE)]
    day["is_candidate"] = ~day["row"].isin(continued["row"])
    day = day.sort_values(["loan_id", "booked_at", "is_candidate", "trans_id"])
    closing = day.groupby(["loan_id", "booked_at"], as_index=False).last()
    return closing[["loan_id", "booked_at", "balance"]]


def transaction_features(loans: pd.DataFrame, transactions: pd.DataFrame) -> pd.DataFrame:
    """Features of each loan from its account's transactions strictly before the grant date.

    Parameters
    ----------
    loans
        ``loan_id``, ``account_id``, ``granted_at`` (one loan per account, as in Berka).
    transactions
        As returned by :func:`read_transactions`; rows on or after a loan's grant date are
        ignored for that loan.

    Returns
    -------
    DataFrame
        Indexed by ``loan_id`` (every loan of ``loans``), one column per transaction feature:
        history length and activity, credit and debit totals and per-month means over the last
        3, 6, 12 months and all history, mean amounts, cash withdrawal share and count, balance
        statistics (last, min, mean, std over transactions, time-weighted daily mean, share of
        days and of transactions with a negative balance), sanction interest count, the trend
        of credits (log of months 1-3 over months 4-6, each plus 1) and the volatility of
        monthly net flow (its standard deviation, and that over the mean monthly credit).
        Totals, counts, mean amounts and shares are 0 when there is no transaction of the kind;
        every column but those is NaN for a loan with no earlier transaction at all.
    """
    history = transactions.merge(loans[["loan_id", "account_id", "granted_at"]], on="account_id")
    history = history[history["booked_at"] < history["granted_at"]].copy()
    history["month"] = _months_before(history["booked_at"], history["granted_at"])
    history["credit"] = np.where(history["is_credit"], history["amount"], 0.0)
    history["debit"] = np.where(history["is_credit"], 0.0, history["amount"])
    by_loan = history.groupby("loan_id")

    features = pd.DataFrame(index=pd.Index(loans["loan_id"], name="loan_id"))
    features["history_months"] = by_loan["month"].max()
    features["transaction_count"] = by_loan.size()
    features["transactions_per_month"] = features["transaction_count"] / features["history_months"]
    for flow in ("credit", "debit"):
        for window in WINDOWS_MONTHS:
            total = history[history["month"] <= window].groupby("loan_id")[flow].sum()
            features[f"{flow}_total_{window}m"] = total
            features[f"{flow}_per_month_{window}m"] = total / np.minimum(
                features["history_months"], window)
        features[f"{flow}_total_all"] = by_loan[flow].sum()
        features[f"{flow}_per_month_all"] = (features[f"{flow}_total_all"]
                                             / features["history_months"])
    credits, debits = history[history["is_credit"]], history[~history["is_credit"]]
    features["credit_mean_amount"] = credits.groupby("loan_id")["amount"].mean()
    features["debit_mean_amount"] = debits.groupby("loan_id")["amount"].mean()
    cash = debits[debits["is_cash_withdrawal"]].groupby("loan_id")["amount"]
    features["cash_withdrawal_share"] = cash.sum() / features["debit_total_all"]
    features["cash_withdrawal_count"] = cash.size()

    features["balance_min"] = by_loan["balance"].min()
    features["balance_mean"] = by_loan["balance"].mean()
    features["balance_std"] = by_loan["balance"].std(ddof=0)
    features["negative_balance_transaction_share"] = (history["balance"] < 0).groupby(
        history["loan_id"]).mean()
    closing = _end_of_day_balances(history).merge(loans[["loan_id", "granted_at"]], on="loan_id")
    # A day's closing balance holds until the next day with transactions, or the grant date.
    next_day = closing.groupby("loan_id")["booked_at"].shift(-1).fillna(closing["granted_at"])
    closing["days"] = (next_day - closing["booked_at"]).dt.days
    closing["weighted"] = closing["balance"] * closing["days"]
    closing["negative_days"] = closing["days"].where(closing["balance"] < 0, 0)
    by_day = closing.groupby("loan_id")
    features["balance_last"] = by_day["balance"].last()
    features["balance_daily_mean"] = by_day["weighted"].sum() / by_day["days"].sum()
    features["negative_balance_day_share"] = by_day["negative_days"].sum() / by_day["days"].sum()
    features["sanction_interest_count"] = by_loan["is_sanction_interest"].sum()

    monthly = _monthly_flows(history, features["history_months"])
    recent = monthly[monthly["month"] <= 3].groupby("loan_id")["credit"].sum()
    before = monthly[monthly["month"].between(4, 6)].groupby("loan_id")["credit"].sum()
    features["credit_trend_3m"] = np.log((recent + 1) / (before + 1))
    net = monthly["credit"] - monthly["debit"]
    features["net_flow_monthly_std"] = net.groupby(monthly["loan_id"]).std(ddof=0)
    features["net_flow_volatility"] = (features["net_flow_monthly_std"]
                                       / features["credit_per_month_all"].clip(lower=1.0))

    # No transaction of a kind means nothing of it: 0, not unknown (two accounts made no
    # payment before their loan). Balances stay NaN when there is no transaction at all.
    nothing_yet = [c for c in features.columns
                   if c.endswith(("_count", "_total_3m", "_total_6m", "_total_12m", "_total_all",
                                  "_mean_amount", "_share"))
                   and not c.startswith("negative_balance")]
    features[nothing_yet] = features[nothing_yet].fillna(0.0)
    return features


def _monthly_flows(history: pd.DataFrame, history_months: pd.Series) -> pd.DataFrame:
    """Credits and debits per loan and month before grant, months without transactions as 0."""
    covered = history_months.dropna().astype(int)
    grid = pd.DataFrame({"loan_id": np.repeat(covered.index.to_numpy(), covered.to_numpy()),
                         "month": np.concatenate([np.arange(1, n + 1) for n in covered] or [[]])})
    sums = history.groupby(["loan_id", "month"], as_index=False)[["credit", "debit"]].sum()
    grid = grid.astype({"month": sums["month"].dtype})
    return grid.merge(sums, on=["loan_id", "month"], how="left").fillna({"credit": 0.0,
                                                                          "debit": 0.0})


def grant_time_features(loans: pd.DataFrame, context: dict[str, pd.DataFrame],
                        credit_per_month_12m: pd.Series) -> pd.DataFrame:
    """Features known when the loan was granted: its terms, the account and its district.

    Parameters
    ----------
    loans
        As returned by :func:`read_loans`.
    context
        As returned by :func:`read_account_context`.
    credit_per_month_12m
        Mean monthly credits over the 12 months before grant, by ``loan_id`` (for the
        payment burden).

    Returns
    -------
    DataFrame
        Indexed by ``loan_id``: ``loan_amount``, ``duration_months``, ``monthly_payment``,
        ``payment_to_monthly_credit``, the account's statement frequency (``statement_weekly``,
        ``statement_after_transaction``; monthly is the base), ``card_before_grant`` (a card on
        any of the account's dispositions issued strictly before the grant), and the district's
        unemployment rate and crimes per 1,000 inhabitants (1995; 1996 where 1995 is missing),
        average salary and urban share.

    Notes
    -----
    The district figures are 1995 census-style statistics: for loans granted in 1993-1994
    they are slightly later than the grant. They describe the region, not the account, and
    change slowly, so they are kept; drop the ``district_`` columns for a strict cut.
    Standing orders (``order.asc``) are left out: they carry no date, so they may postdate
    the loan (loan repayment orders do). Client age and sex are left out on purpose.
    """
    features = loans.set_index("loan_id")[["loan_amount", "duration_months",
                                           "monthly_payment"]].astype(float)
    features["payment_to_monthly_credit"] = (features["monthly_payment"]
                                             / credit_per_month_12m.clip(lower=1.0))
    account = context["account"].set_index("account_id")
    account_of = loans.set_index("loan_id")["account_id"]
    frequency = account_of.map(account["frequency"]).map(_STATEMENT_FREQUENCIES)
    if frequency.isna().any():
        raise ValueError("account.asc: accounts without a known statement frequency: "
                         f"{account_of[frequency.isna()].tolist()[:10]}.")
    features["statement_weekly"] = (frequency == "weekly").astype(float)
    features["statement_after_transaction"] = (frequency == "after_transaction").astype(float)

    cards = context["card"].merge(context["disp"][["disp_id", "account_id"]], on="disp_id")
    cards = cards.assign(issued_at=_parse_yymmdd(cards["issued"]))
    first_card = cards.groupby("account_id")["issued_at"].min()
    granted_at = loans.set_index("loan_id")["granted_at"]
    features["card_before_grant"] = (account_of.map(first_card) < granted_at).astype(float)

    district = context["district"].set_index("A1")
    unemployment = pd.to_numeric(district["A12"], errors="coerce").fillna(district["A13"])
    crimes = pd.to_numeric(district["A15"], errors="coerce").fillna(district["A16"])
    district_of = account_of.map(account["district_id"])
    features["district_unemployment_rate"] = district_of.map(unemployment)
    features["district_crimes_per_1000"] = district_of.map(crimes / district["A4"] * 1000)
    features["district_average_salary"] = district_of.map(district["A11"]).astype(float)
    features["district_urban_share"] = district_of.map(district["A10"] / 100)
    return features


# ---------------------------------------------------------------------------------------------
# The table


def build_loan_table(data_dir: Path) -> pd.DataFrame:
    """The labelled, point-in-time feature table of the Berka loans with full pre-loan history.

    Parameters
    ----------
    data_dir
        The Berka folder (holding ``loan.asc`` and ``preloan_1995_1998/``).

    Returns
    -------
    DataFrame
        One row per loan, ordered by ``loan_id``: ``loan_id``, ``account_id``, ``granted_at``,
        ``history_file``, the :data:`FEATURE_COLUMNS` and the label ``bad``.

    Raises
    ------
    ValueError
        When a file does not have the expected columns or the outcomes disagree.
    """
    data_dir = Path(data_dir)
    loans = read_loans(data_dir)
    activity = transaction_features(loans, read_transactions(data_dir, loans))
    at_grant = grant_time_features(loans, read_account_context(data_dir),
                                   activity["credit_per_month_12m"])
    features = activity.join(at_grant)[list(FEATURE_COLUMNS)]
    table = loans[["loan_id", "account_id", "granted_at", "history_file"]].join(
        features, on="loan_id")
    table[LABEL_COLUMN] = loans[LABEL_COLUMN].to_numpy()
    return table


def training_table(table: pd.DataFrame) -> pd.DataFrame:
    """The loan table as a labelled table to bring to training: ``loan_id``, the features and ``bad``.

    A labelled-table reader (:func:`credit.models.tables.read_labelled_table`) takes every
    column but the target and the id as a feature, so the other columns of
    :func:`build_loan_table` are left out: ``account_id`` is a second key, not a
    characteristic of the borrower; ``history_file`` says which cut of the data a loan came
    from, which is its period; ``granted_at`` is a date, which the reader only takes as the
    time column.
    """
    return table[[TRAINING_ID_COLUMN, *FEATURE_COLUMNS, LABEL_COLUMN]]


def cross_validated_auc(table: pd.DataFrame, n_splits: int = 5, n_repeats: int = 1,
                        random_state: int = 0) -> np.ndarray:
    """Out-of-fold ROC AUC of a standardised logistic regression on the feature table.

    A signal check, not a model: ``StandardScaler`` then scikit-learn's default
    ``LogisticRegression`` (L2, C=1, no class weights) on all :data:`FEATURE_COLUMNS`.

    Parameters
    ----------
    table
        As returned by :func:`build_loan_table`.
    n_splits
        Number of stratified folds.
    n_repeats
        Number of times the folds are drawn anew; with 35 bad loans one split's AUC moves
        by several points with the seed, so repeats give a steadier mean.
    random_state
        Seed of the fold shuffle.

    Returns
    -------
    ndarray
        The AUC of each fold, ``n_splits * n_repeats`` values, repeat by repeat.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    folds = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats,
                                    random_state=random_state)
    return cross_val_score(model, table[list(FEATURE_COLUMNS)], table[LABEL_COLUMN],
                           cv=folds, scoring="roc_auc")
