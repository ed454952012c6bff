"""Where a history ends: midnight after its last event, or now when that midnight is still to come."""

from __future__ import annotations

from datetime import datetime

from credit import clock
from tests.features.histories import firm, history, order


def _history():  # noqa: ANN202
    return history([firm(1), firm(2)], orders=[order(1, 1, 2, "2026-03-02T08:00:00", 100_00),
                                                order(2, 2, 1, "2026-03-05T10:15:00", 200_00)])


def test_a_history_read_the_same_day_ends_now_not_at_midnight() -> None:
    with clock.frozen(datetime(2026, 3, 5, 21, 0)):
        assert _history().span() == (datetime(2026, 3, 2, 8, 0), datetime(2026, 3, 5, 21, 0))


def test_a_history_read_later_ends_at_midnight_after_its_last_event() -> None:
    with clock.frozen(datetime(2026, 3, 9, 12, 0)):
        assert _history().span() == (datetime(2026, 3, 2, 8, 0), datetime(2026, 3, 6, 0, 0))
