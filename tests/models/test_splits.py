"""Out-of-time windows counted back from the latest labelled as-of date."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from credit.models.splits import latest_windows


def monthly_rows(first: str, months: int, firms: int = 2) -> pd.Series:
    return pd.Series(pd.date_range(first, periods=months, freq="MS").repeat(firms))


def test_the_latest_months_test_and_every_earlier_month_trains() -> None:
    as_of = monthly_rows("2024-01-01", 12)  # 2024-01 .. 2024-12, two rows each
    split = latest_windows(as_of, test_months=2, calibrate_months=3, valid_months=1, min_train_months=1)
    assert split.dates["test"] == [date(2024, 11, 1), date(2024, 12, 1)]
    assert split.dates["calibrate"] == [date(2024, 8, 1), date(2024, 9, 1), date(2024, 10, 1)]
    assert split.dates["valid"] == [date(2024, 7, 1)]
    assert split.dates["train"] == [date(2024, m, 1) for m in range(1, 7)]
    assert int(split.test.sum()) == 4 and int(split.train.sum()) == 12
    assert not (split.train & split.test).any()


def test_too_few_months_for_the_windows_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"the windows need 10 labelled as-of months \(3 train, 3 valid, 2 calibrate, "
                                         r"2 test\); the panel has 9 \(2024-01-01 to 2024-09-01\)"):
        latest_windows(monthly_rows("2024-01-01", 9), test_months=2, calibrate_months=2, valid_months=3,
                       min_train_months=3)
