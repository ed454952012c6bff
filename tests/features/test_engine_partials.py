"""The engine's per-cell partials, read in many small batches, against exact Python arithmetic.

Random orders of three buyers (amounts up to 10**10, so squares pass 64 bits and some
amounts pass 2**31; whole-minute times, so several orders of a buyer share a time and the
latest value is decided by the larger amount) are aggregated by the engine with a batch of
7 events, and the same values are worked out here row by row with Python integers: counts,
sums, extremes, the latest amount at the latest time, days since it, and the spread from the
exact sum of squares of each time segment rounded to a double once (as a grouped DuckDB query
rounds its HUGEINT), then added up segment by segment.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from credit.features import engine
from credit.features.asof import AsOfGrid
from credit.features.definitions import Aggregate, Feature
from credit.features.engine import compute_features
from tests.features.histories import firm, history, order

DATES = [date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1)]
WINDOW = 30


def orders() -> list[dict]:
    rng = random.Random(19)
    rows = []
    for k in range(400):
        created = datetime(2023, 12, 1) + timedelta(minutes=rng.randrange(0, 60 * 24 * 130, 60 * 24 * 3))
        amount = rng.choice([rng.randrange(1, 1000), rng.randrange(2**31 - 5, 2**31 + 5), rng.randrange(1, 10**10)])
        rows.append(order(k + 1, rng.choice([1, 2, 3]), 9, created.isoformat(sep=" "), amount))
        rows[-1]["payment_terms"] = rng.choice(["prepaid", "net30"])
    return rows


def buyer(name: str, of: Aggregate, window: int | str) -> Feature:
    return Feature(name, "test", "orders", "buyer", of, (window,))


FEATURES = [
    buyer("n", Aggregate("count", filter="payment_terms = 'net30'"), WINDOW),
    buyer("total", Aggregate("sum", "amount_minor"), "all"),
    buyer("low", Aggregate("min", "amount_minor"), WINDOW),
    buyer("high", Aggregate("max", "amount_minor", filter="payment_terms = 'prepaid'"), WINDOW),
    buyer("latest", Aggregate("last", "amount_minor"), "all"),
    buyer("idle", Aggregate("days_since"), "all"),
    buyer("spread", Aggregate("std", "amount_minor"), "all"),
]


def expected(rows: list[dict], buyer_id: int, as_of: date, name: str) -> float:
    end = datetime(as_of.year, as_of.month, as_of.day)
    seen = [r for r in rows if r["buyer_id"] == buyer_id and datetime.fromisoformat(r["created_at"]) < end]
    recent = [r for r in seen if datetime.fromisoformat(r["created_at"]) >= end - timedelta(days=WINDOW)]
    amounts = [r["amount_minor"] for r in seen]
    match name:
        case "n_30d":
            return float(sum(r["payment_terms"] == "net30" for r in recent))
        case "total_all":
            return float(sum(amounts))
        case "low_30d":
            return float(min(r["amount_minor"] for r in recent)) if recent else math.nan
        case "high_30d":
            prepaid = [r["amount_minor"] for r in recent if r["payment_terms"] == "prepaid"]
            return float(max(prepaid)) if prepaid else math.nan
        case "latest_all":
            return float(max((r["created_at"], r["amount_minor"]) for r in seen)[1])
        case "idle_all":
            return (end - datetime.fromisoformat(max(r["created_at"] for r in seen))) / timedelta(days=1)
        case "spread_all":
            n, s = len(amounts), sum(amounts)
            edges = np.array(AsOfGrid(DATES, {WINDOW}).boundaries, dtype="datetime64[D]")
            by_segment: dict[int, int] = {}
            for r in seen:
                day = np.datetime64(r["created_at"][:10], "D")
                segment = int(np.searchsorted(edges, day, side="right"))
                by_segment[segment] = by_segment.get(segment, 0) + r["amount_minor"] ** 2
            squares = 0.0
            for segment in sorted(by_segment):
                q = by_segment[segment]
                squares += float(q & (2**64 - 1)) + float(q >> 64) * float(2**64 - 1)
            return math.sqrt(max((squares - float(s) * float(s) / n) / (n - 1), 0.0))
    raise AssertionError(name)


def test_partials_over_many_batches_equal_exact_arithmetic(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = orders()
    assert any(r["amount_minor"] >= 2**31 for r in rows) and sum(r["amount_minor"] ** 2 for r in rows) > 2**64
    monkeypatch.setattr(engine, "BATCH_ROWS", 7)
    block = compute_features(history([firm(1), firm(2), firm(3), firm(9)], orders=rows),
                             AsOfGrid(DATES, {WINDOW}), FEATURES, np.array([1, 2, 3, 9]))
    for name, values in block.columns.items():
        for row, buyer_id in enumerate([1, 2, 3]):
            for column, as_of in enumerate(DATES):
                want = expected(rows, buyer_id, as_of, name)
                got = values[row, column]
                assert got == want or (math.isnan(want) and math.isnan(got)), (name, buyer_id, as_of, got, want)


@pytest.mark.parametrize("amounts", [(2**62, 2**62), (1, -(2**62))])
def test_a_sum_that_may_pass_64_bits_is_refused(amounts: tuple[int, int]) -> None:
    # the second case: the largest magnitude is the smallest value
    rows = [order(k, 1, 9, f"2024-01-0{k} 10:00", amount) for k, amount in zip((1, 2), amounts, strict=True)]
    with pytest.raises(OverflowError, match="sum of amount_minor may pass the 64-bit range"):
        compute_features(history([firm(1), firm(9)], orders=rows), AsOfGrid([date(2024, 2, 1)], set()),
                         [buyer("total", Aggregate("sum", "amount_minor"), "all")], np.array([1, 9]))


DISTINCT = [
    buyer("n", Aggregate("count"), WINDOW),
    buyer("kinds", Aggregate("distinct_count", "category"), WINDOW),
    buyer("kinds_net30", Aggregate("distinct_count", "category", filter="payment_terms = 'net30'"), "all"),
]


@pytest.mark.parametrize("few_values", [64, 2])
def test_distinct_categories_in_the_pass_or_by_query_equal_a_python_count(
        monkeypatch: pytest.MonkeyPatch, few_values: int) -> None:
    # five categories: counted in the pass over the orders, or (at most 2 allowed) by the grouped query
    rows = orders()
    rng = random.Random(7)
    for r in rows:  # net30 orders of two categories only, so the filter changes the count
        r["category"] = rng.choice(["tools", "food"] if r["payment_terms"] == "net30"
                                   else ["tools", "food", "paper", "glass", "steel"])
    monkeypatch.setattr(engine, "BATCH_ROWS", 7)
    monkeypatch.setattr(engine, "FEW_VALUES", few_values)
    in_pass = []
    counted = engine._FewValues.rows_and_masks
    monkeypatch.setattr(engine._FewValues, "rows_and_masks", lambda self: in_pass.append(1) or counted(self))
    firms = np.array([1, 2, 9])  # not buyer 3: its orders must not count for anyone
    block = compute_features(history([firm(1), firm(2), firm(3), firm(9)], orders=rows),
                             AsOfGrid(DATES, {WINDOW}), DISTINCT, firms)
    assert bool(in_pass) == (few_values == 64)
    for row, buyer_id in enumerate(firms):  # firm 9 places no orders: 0
        for column, as_of in enumerate(DATES):
            end = datetime(as_of.year, as_of.month, as_of.day)
            seen = [r for r in rows if r["buyer_id"] == buyer_id and datetime.fromisoformat(r["created_at"]) < end]
            recent = {r["category"] for r in seen if datetime.fromisoformat(r["created_at"]) >= end - timedelta(days=WINDOW)}
            net30 = {r["category"] for r in seen if r["payment_terms"] == "net30"}
            assert block.columns["kinds_30d"][row, column] == len(recent)
            assert block.columns["kinds_net30_all"][row, column] == len(net30)
    assert block.columns["kinds_net30_all"][:2, -1].tolist() == [2, 2]


def test_an_event_gets_the_segment_of_its_calendar_day_and_days_before_the_grid_segment_0() -> None:
    grid = AsOfGrid(DATES, {WINDOW})
    days = grid.day_segments()
    segment_of = engine._SegmentOf(grid)
    first_us = int(np.datetime64(days["day"].iloc[0], "us").astype(np.int64))
    day_us = 86_400_000_000
    # each listed day at its first and last microsecond, and three times before the first listed day
    starts = days["day"].to_numpy().astype("datetime64[us]").astype(np.int64)
    times = np.concatenate([starts, starts + day_us - 1, [first_us - 1, first_us - day_us, first_us - 400 * day_us]])
    expected = [*days["segment"], *days["segment"], 0, 0, 0]
    assert segment_of(times).tolist() == expected
    assert days["segment"].iloc[0] == 1 and days["segment"].iloc[-1] == grid.segments - 1


@pytest.mark.parametrize("with_event_count", [True, False])
def test_counts_of_a_column_with_nulls_in_some_batches_leave_out_its_nulls(
        monkeypatch: pytest.MonkeyPatch, with_event_count: bool) -> None:
    # hours to ship are null for orders never confirmed, here orders 20-29 only: with batches of 7
    # some batches have nulls and most have none. The mean's count must skip the nulls, while the
    # count of shipments (or, without it, the count of amounts) counts every shipment.
    rows = []
    for k in range(80):
        created = datetime(2024, 1, 1, 8) + timedelta(days=k)
        row = order(k + 1, 1, 9, created.isoformat(sep=" "), 1000 + k)
        row["confirmed_at"] = None if 20 <= k < 30 else (created + timedelta(hours=1)).isoformat(sep=" ")
        row["shipped_at"] = (created + timedelta(hours=k % 5 + 2)).isoformat(sep=" ")
        rows.append(row)
    features = [Feature("hours", "test", "order_shipments", "supplier", Aggregate("mean", "hours_to_ship"), ("all",)),
                Feature("value", "test", "order_shipments", "supplier", Aggregate("mean", "amount_minor"), ("all",))]
    if with_event_count:
        features.append(Feature("shipped", "test", "order_shipments", "supplier", Aggregate("count"), ("all",)))
    monkeypatch.setattr(engine, "BATCH_ROWS", 7)
    block = compute_features(history([firm(1), firm(9)], orders=rows), AsOfGrid(DATES, set()), features,
                             np.array([1, 9]))
    for column, as_of in enumerate(DATES):
        end = datetime(as_of.year, as_of.month, as_of.day)
        shipped = [r for r in rows if datetime.fromisoformat(r["shipped_at"]) < end]
        hours = [k % 5 + 1 for k, r in enumerate(rows) if r in shipped and r["confirmed_at"] is not None]
        assert block.columns["hours_all"][1, column] == sum(hours) / len(hours)
        assert block.columns["value_all"][1, column] == sum(r["amount_minor"] for r in shipped) / len(shipped)
        if with_event_count:
            assert block.columns["shipped_all"][1, column] == len(shipped)
    assert len(hours) < len(shipped)  # the last date sees the nulls
