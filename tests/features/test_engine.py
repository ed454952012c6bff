"""The declarative engine: each aggregation at the window edges, worked out by hand, and bad definitions.

Buyer 1's orders (as-of 2024-04-01 00:00; 30 days back is 2024-03-02, 90 days back 2024-01-02):

    o1 2023-12-15 10:00    100  supplier 2  net30   all history only
    o2 2024-01-02 00:00    300  supplier 3  net30   first instant of the 90-day window: in
    o3 2024-03-01 23:59:59 200  supplier 2  net30   last second before the 30-day window
    o4 2024-03-02 00:00    600  supplier 3  prepaid first instant of the 30-day window: in
    o5 2024-03-31 12:00    500  supplier 2  net30
    o6 2024-04-01 00:00  10000  supplier 3  net30   at the as-of instant: never seen
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from credit.features.asof import AsOfError, AsOfGrid, monthly
from credit.features.definitions import Aggregate, Feature, FeatureDefinitionError, Ratio, check_definitions
from credit.features.engine import compute_features
from credit.features.panel import build_panel
from tests.features.histories import firm, history, order

AS_OF = date(2024, 4, 1)
EARLIER = date(2024, 3, 2)


def orders_of_buyer_1():  # noqa: ANN201
    rows = [order(1, 1, 2, "2023-12-15 10:00", 100), order(2, 1, 3, "2024-01-02 00:00", 300),
            order(3, 1, 2, "2024-03-01 23:59:59", 200), order(4, 1, 3, "2024-03-02 00:00", 600),
            order(5, 1, 2, "2024-03-31 12:00", 500), order(6, 1, 3, "2024-04-01 00:00", 10_000)]
    rows[3]["payment_terms"] = "prepaid"
    return history(firms=[firm(1), firm(2), firm(3)], orders=rows)


def buyer(name: str, of: Aggregate | Ratio, *windows: int | str) -> Feature:
    return Feature(name, "test", "orders", "buyer", of, windows)


FEATURES = [
    buyer("n", Aggregate("count"), 30, 90, "all"),
    buyer("gmv", Aggregate("sum", "amount_minor"), 30, 90, "all"),
    buyer("mean", Aggregate("mean", "amount_minor"), 90),
    buyer("low", Aggregate("min", "amount_minor"), 90),
    buyer("high", Aggregate("max", "amount_minor"), 90),
    buyer("spread", Aggregate("std", "amount_minor"), 90),
    buyer("latest", Aggregate("last", "amount_minor"), "all"),
    buyer("idle", Aggregate("days_since"), "all"),
    buyer("suppliers", Aggregate("distinct_count", "supplier_id"), 30, "all"),
    buyer("big", Aggregate("count", filter="amount_minor >= 500"), 90),
    buyer("prepaid_share", Ratio(Aggregate("count", filter="payment_terms = 'prepaid'"), Aggregate("count")), 30, 90),
]


@pytest.fixture(scope="module")
def computed():  # noqa: ANN201
    block = compute_features(orders_of_buyer_1(), AsOfGrid([EARLIER, AS_OF], {30, 90}), FEATURES,
                             np.array([1, 2, 3]))
    return block.frame().set_index(["firm_id", "as_of"])


def at(computed, firm_id: int, day: date, column: str) -> float:  # noqa: ANN001
    return float(computed.loc[(firm_id, np.datetime64(day, "us")), column])


@pytest.mark.parametrize(("column", "expected"), [
    ("n_30d", 2), ("n_90d", 4), ("n_all", 5),                 # o4 o5 | o2..o5 | o1..o5
    ("gmv_30d", 1100), ("gmv_90d", 1600), ("gmv_all", 1700),  # 600+500 | 300+200+600+500 | +100
    ("mean_90d", 400), ("low_90d", 200), ("high_90d", 600),
    ("spread_90d", math.sqrt(100_000 / 3)),                   # deviations -100 -200 200 100 from 400
    ("latest_all", 500),                                      # o5; o6 is at the as-of instant
    ("idle_all", 0.5),                                        # 2024-03-31 12:00 -> 2024-04-01 00:00
    ("suppliers_30d", 2), ("suppliers_all", 2),               # {3, 2} | {2, 3}
    ("big_90d", 2),                                           # 600 and 500
    ("prepaid_share_30d", 0.5), ("prepaid_share_90d", 0.25),  # o4 of (o4, o5) | of four
])
def test_each_aggregation_at_the_window_edges(computed, column: str, expected: float) -> None:  # noqa: ANN001
    assert at(computed, 1, AS_OF, column) == pytest.approx(expected, rel=1e-12)


def test_an_earlier_as_of_date_in_the_same_batch_sees_only_what_came_before_it(computed) -> None:  # noqa: ANN001
    # as-of 2024-03-02: the 30-day window is [2024-01-31, 2024-03-02) and holds only o3;
    # o4 sits exactly at the as-of instant and is not seen
    assert at(computed, 1, EARLIER, "n_30d") == 1
    assert at(computed, 1, EARLIER, "gmv_30d") == 200
    assert at(computed, 1, EARLIER, "n_all") == 3
    assert at(computed, 1, EARLIER, "latest_all") == 200


def test_a_firm_without_events_gets_zero_counts_and_no_value_for_the_rest(computed) -> None:  # noqa: ANN001
    assert at(computed, 3, AS_OF, "n_all") == 0 and at(computed, 3, AS_OF, "gmv_all") == 0
    assert at(computed, 3, AS_OF, "suppliers_all") == 0
    for column in ("mean_90d", "low_90d", "spread_90d", "latest_all", "idle_all", "prepaid_share_90d"):
        assert math.isnan(at(computed, 3, AS_OF, column)), column


def test_one_order_has_a_mean_but_no_spread() -> None:
    source = history(firms=[firm(1), firm(2)], orders=[order(1, 1, 2, "2024-03-10", 700)])
    block = compute_features(source, AsOfGrid([AS_OF], {90}), [buyer("mean", Aggregate("mean", "amount_minor"), 90),
                                                               buyer("spread", Aggregate("std", "amount_minor"), 90)],
                             np.array([1, 2]))
    assert block.columns["mean_90d"][0, 0] == 700
    assert math.isnan(block.columns["spread_90d"][0, 0])


@pytest.mark.parametrize(("feature", "message"), [
    (Feature("x", "", "shipments", "buyer", Aggregate("count")), "feature 'x': unknown source 'shipments'"),
    (Feature("x", "", "orders", "debtor", Aggregate("count")), "feature 'x': source 'orders' has no entity 'debtor'"),
    (Feature("x", "", "orders", "buyer", Aggregate("sum", "price")), "feature 'x': source 'orders' has no column 'price'"),
    (Feature("x", "", "orders", "buyer", Aggregate("sum", "category")), "sum needs an integer column; orders.category"),
    (Feature("x", "", "orders", "buyer", Aggregate("median", "amount_minor")), "unknown aggregation 'median'"),
    (Feature("x", "", "orders", "buyer", Aggregate("mean")), "feature 'x': mean needs a column"),
    (Feature("x", "", "orders", "buyer", Aggregate("count"), (0,)), "window must be a positive whole number"),
    (Feature("x", "", "orders", "buyer", Aggregate("count"), (-30,)), "got -30"),
    (Feature("x", "", "orders", "buyer", Aggregate("count"), ("90d",)), "got '90d'"),
    (Feature("x", "", "orders", "buyer", Aggregate("count"), ()), "feature 'x': no window given"),
    (Feature("x", "", "orders", "buyer", Aggregate("count", filter="cancelled_at IS NULL")),
     "feature 'x': filter 'cancelled_at IS NULL' on source 'orders'"),
    (Feature("x", "", "orders", "buyer", Aggregate("count", filter="amount_minor + 1")), "not a true/false condition"),
])
def test_a_definition_that_cannot_be_computed_is_refused_naming_it(feature: Feature, message: str) -> None:
    with pytest.raises(FeatureDefinitionError, match=_escaped(message)):
        check_definitions([feature])


def test_two_definitions_writing_the_same_column_are_refused() -> None:
    twice = [buyer("n", Aggregate("count"), 30), buyer("n", Aggregate("count", filter="amount_minor > 5"), 30)]
    with pytest.raises(FeatureDefinitionError, match="column 'n_30d' is also produced by 'n'"):
        check_definitions(twice)


def test_a_column_known_only_later_cannot_filter_an_order_when_it_is_placed() -> None:
    # an order's cancellation is not known when the order is placed: it is its own stream
    with pytest.raises(FeatureDefinitionError, match="cancelled_at"):
        check_definitions([buyer("live", Aggregate("count", filter="cancelled_at IS NULL"), 30)])
    check_definitions([Feature("cancelled", "", "order_cancellations", "buyer", Aggregate("count"), (30,))])


@pytest.mark.parametrize(("as_of", "message"), [
    (date(2022, 6, 1), "as-of 2022-06-01 is not after the first event of the history (2023-12-15 10:00"),
    (date(2024, 4, 3), "as-of 2024-04-03 is after the end of the history (2024-04-02"),
])
def test_an_as_of_date_outside_the_history_is_refused(as_of: date, message: str) -> None:
    with pytest.raises(AsOfError, match=_escaped(message)):
        build_panel(orders_of_buyer_1(), [as_of])


def test_the_last_day_of_the_history_is_a_valid_as_of_date() -> None:
    # the last event is on 2024-04-01, so the history ends at 2024-04-02 00:00
    assert len(build_panel(orders_of_buyer_1(), [date(2024, 4, 2)]).frame) == 3


def test_monthly_dates_are_month_starts_inclusive() -> None:
    assert monthly(date(2023, 11, 15), date(2024, 2, 1)) == [date(2023, 11, 1), date(2023, 12, 1), date(2024, 1, 1),
                                                             date(2024, 2, 1)]
    with pytest.raises(AsOfError, match="ends"):
        monthly(date(2024, 2, 1), date(2024, 1, 1))


def _escaped(text: str) -> str:
    import re

    return re.escape(text)


def test_distinct_partners_of_both_roles_from_one_set_of_pairs_equal_each_role_counted_alone() -> None:
    # for every firm the supplier role's distinct buyers reuse the buyer role's (buyer, supplier)
    # masks; buyer 4 adds o7 2024-03-10 with supplier 2. At AS_OF (30 days back: 2024-03-02):
    # supplier 2 sold to buyers 1 (o1 o3 o5) and 4 (o7), in the 30 days to 1 (o5) and 4;
    # supplier 3 to buyer 1 only (o2 o4); at EARLIER supplier 2 had buyer 1 only (o1 o3).
    source = orders_of_buyer_1()
    rows = source.connection.execute("SELECT * FROM orders").df()
    rows.loc[len(rows)] = {**rows.iloc[0].to_dict(), "order_id": 7, "buyer_id": 4, "supplier_id": 2,
                           "created_at": np.datetime64("2024-03-10T00:00", "us"), "amount_minor": 50}
    source = history(firms=[firm(1), firm(2), firm(3), firm(4)], orders=rows.to_dict("records"))
    features = [buyer("suppliers", Aggregate("distinct_count", "supplier_id"), 30, "all"),
                Feature("buyers", "test", "orders", "supplier", Aggregate("distinct_count", "buyer_id"), (30, "all"))]
    grid = AsOfGrid([EARLIER, AS_OF], {30})
    every = compute_features(source, grid, features, np.array([1, 2, 3, 4]))
    expected = {  # firm: (suppliers_30d, suppliers_all, buyers_30d, buyers_all) at EARLIER, then AS_OF
        1: [(1, 2, 0, 0), (2, 2, 0, 0)], 2: [(0, 0, 1, 1), (0, 0, 2, 2)],
        3: [(0, 0, 0, 1), (0, 0, 1, 1)], 4: [(0, 0, 0, 0), (1, 1, 0, 0)]}
    for row, firm_id in enumerate([1, 2, 3, 4]):
        for k, values in enumerate(expected[firm_id]):
            got = tuple(every.columns[name][row, k] for name in ("suppliers_30d", "suppliers_all", "buyers_30d", "buyers_all"))
            assert got == values, (firm_id, k)
    alone = compute_features(source, grid, features, np.array([2]))
    for name in ("suppliers_30d", "suppliers_all", "buyers_30d", "buyers_all"):
        np.testing.assert_array_equal(alone.columns[name][0], every.columns[name][1], err_msg=name)
