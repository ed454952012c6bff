"""A panel starts when every feature window is complete; earlier as-of dates are built with a warning naming them."""

from __future__ import annotations

import re
import warnings
from datetime import date

import pytest

from credit.features.panel import IncompleteWindowWarning, build_panel, first_complete_as_of, longest_window
from tests.features.histories import firm, history, order


def test_the_longest_marketplace_window_is_a_year() -> None:
    # the 365-day counts, rates and partner concentration; nothing declares a longer finite window
    assert longest_window() == 365


@pytest.mark.parametrize(("start", "first"), [
    (date(2023, 1, 1), date(2024, 1, 1)),    # 2023-01-01 + 365 days is a month start
    (date(2023, 1, 15), date(2024, 2, 1)),   # + 365 days is 2024-01-15: the next month start
    (date(2023, 3, 1), date(2024, 3, 1)),    # + 365 days is 2024-02-29 (leap year): the next month start
    (date(2024, 3, 1), date(2025, 3, 1)),    # + 365 days over no 29 February
])
def test_the_first_as_of_date_is_the_start_plus_the_longest_window(start: date, first: date) -> None:
    assert first_complete_as_of(start) == first


def _year_of_trade():  # noqa: ANN202 - a History
    # first event 2023-01-01 08:00, last 2024-02-20
    return history([firm(1), firm(2)], orders=[order(1, 1, 2, "2023-01-01T08:00:00", 100_00),
                                                order(2, 2, 1, "2023-06-10T10:00:00", 200_00),
                                                order(3, 1, 2, "2024-02-20T09:00:00", 300_00)])


def test_a_panel_from_the_first_complete_date_builds_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", IncompleteWindowWarning)
        panel = build_panel(_year_of_trade(), [date(2024, 1, 1), date(2024, 2, 1)])
    assert sorted(panel.frame["as_of"].dt.date.unique()) == [date(2024, 1, 1), date(2024, 2, 1)]


def test_as_of_dates_whose_window_reaches_before_the_history_are_named() -> None:
    message = ("as-of 2023-11-01: its 365-day feature window starts 2022-11-01, before the history's first event "
               "(2023-01-01, test); 2 as-of date(s) up to 2023-12-01 get features over part of their windows only. "
               "The first as-of date with every window complete is 2024-01-01 (365 days after the first event).")
    with pytest.warns(IncompleteWindowWarning, match=f"^{re.escape(message)}$"):
        panel = build_panel(_year_of_trade(), [date(2023, 11, 1), date(2023, 12, 1), date(2024, 1, 1)])
    # still built, every date: a scoring date may need them
    assert len(panel.frame["as_of"].unique()) == 3
