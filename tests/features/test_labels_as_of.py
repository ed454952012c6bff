"""A history read as of an earlier date (``credit retrain --as-of``) does not know the defaults after it."""

from __future__ import annotations

import math
from datetime import date, datetime

from credit import clock
from credit.features.panel import build_panel
from tests.features.histories import credit_event, firm, history, order


def _labels(read_at: datetime) -> dict[int, float]:
    # two trading firms from 2023 to the end of 2024; firm 1 defaults on 2024-09-15
    tables = history(
        firms=[firm(1), firm(2), firm(3)],
        orders=[order(i, buyer=1 + i % 2, supplier=3, created=f"{2023 + i // 12}-{i % 12 + 1:02d}-10T12:00:00",
                      amount=10_000) for i in range(24)],
        credit_events=[credit_event(1, 1, "2024-09-15T08:00:00")])
    with clock.running_on(clock.FixedClock(read_at)):
        frame = build_panel(tables, [date(2024, 3, 1)], horizon_months=12).frame
    return dict(zip(frame["firm_id"].tolist(), frame["default_12m"].tolist(), strict=True))


def test_a_default_after_the_history_is_read_is_not_a_label() -> None:
    # read at the end of 2024: firm 1's default falls in [2024-03-01, 2025-03-01), a 1; firm 2's
    # horizon runs past the history's end with no default so far: unknown
    later = _labels(datetime(2024, 12, 31))
    assert later[1] == 1.0 and math.isnan(later[2])
    # read as of 2024-06-01, before the default: neither outcome is known yet
    earlier = _labels(datetime(2024, 6, 1))
    assert math.isnan(earlier[1]) and math.isnan(earlier[2])
