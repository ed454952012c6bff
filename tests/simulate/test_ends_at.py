"""A history read at ``ends_at`` inside its last month holds nothing from after that instant."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from credit.simulate import SimulationConfig
from credit.store.tables import HISTORY_TABLES
from tests.simulate.runs import SimulatedRun

ENDS_AT = datetime(2024, 12, 5, 21, 46, 7)
SCHEDULED = {("invoices", "due_at")}  # agreed in advance, not an event


def _config(ends_at: datetime | None) -> SimulationConfig:
    return SimulationConfig(firms=300, years=2, seed=3, start=date(2023, 1, 1), ends_at=ends_at)


@pytest.fixture(scope="module")
def cut(simulated) -> SimulatedRun:  # noqa: ANN001
    return simulated(_config(ENDS_AT))


@pytest.fixture(scope="module")
def whole(simulated) -> SimulatedRun:  # noqa: ANN001
    return simulated(_config(None))


def _event_times(run: SimulatedRun) -> dict[tuple[str, str], pd.Series]:
    times = {}
    for name in HISTORY_TABLES:
        table = run.table(name)
        for column in table.columns:
            if pd.api.types.is_datetime64_any_dtype(table[column]) and (name, column) not in SCHEDULED:
                times[(name, column)] = table[column].dropna()
    return times


def test_no_event_is_at_or_after_the_moment_the_history_is_read(cut: SimulatedRun) -> None:
    late = {key: int((values >= pd.Timestamp(ENDS_AT)).sum()) for key, values in _event_times(cut).items()}
    assert late == dict.fromkeys(late, 0)


def test_the_history_runs_right_up_to_that_moment(cut: SimulatedRun) -> None:
    orders, payments = cut.table("orders"), cut.table("payments")
    # ~48 orders and ~46 payments a day on 300 firms: a quiet last day would mean a cut far too early
    assert pd.Timestamp(ENDS_AT) - orders.created_at.max() < pd.Timedelta(hours=2)
    assert pd.Timestamp(ENDS_AT) - payments.paid_at.max() < pd.Timedelta(hours=6)
    assert (orders.created_at >= pd.Timestamp(ENDS_AT.replace(day=1, hour=0, minute=0, second=0))).sum() > 100


def test_orders_still_in_progress_have_no_status_from_after_it(cut: SimulatedRun, whole: SimulatedRun) -> None:
    orders = cut.table("orders")
    recent = orders[orders.created_at >= pd.Timestamp(ENDS_AT - timedelta(days=2))]
    assert len(recent) > 0 and recent.delivered_at.isna().mean() > 0.5  # delivery takes 1-7 days after shipping
    # the months before the cut are the same market: monthly order counts within 15% of the whole run's
    before = pd.Timestamp("2024-12-01")
    ratio = (orders.created_at < before).sum() / (whole.table("orders").created_at < before).sum()
    assert 0.85 < ratio < 1.15


def test_the_cut_months_truth_is_not_written(cut: SimulatedRun, whole: SimulatedRun) -> None:
    cut_months = set(cut.truth("firm_month").month_end)
    assert max(cut_months) == pd.Timestamp("2024-12-01")
    assert set(whole.truth("firm_month").month_end) - cut_months == {pd.Timestamp("2025-01-01")}
    assert cut.summary.truth_rows["firm_month"] == len(cut.truth("firm_month"))


@pytest.mark.parametrize("ends_at", [datetime(2024, 11, 30, 23, 59), datetime(2025, 1, 1, 0, 0, 1),
                                     datetime(2024, 12, 5, tzinfo=None).date()])
def test_ends_at_outside_the_last_month_is_refused_with_the_allowed_range(ends_at) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=r"`ends_at` must be a naive UTC datetime inside the last simulated month, "
                                         r"from 2024-12-01 00:00 to 2025-01-01 00:00"):
        _config(ends_at)


def test_ends_at_may_be_either_edge_of_the_last_month() -> None:
    assert _config(datetime(2024, 12, 1)).ends_at == datetime(2024, 12, 1)
    assert _config(datetime(2025, 1, 1)).as_dict()["ends_at"] == "2025-01-01T00:00:00"
