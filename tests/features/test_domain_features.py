"""Each domain feature, and the labels, on a tiny history whose answers were worked out by hand.

Every test builds its own few firms and events, runs the panel, and checks the numbers the
feature definitions give. The comment above each assertion shows the arithmetic; none of
the expected values was copied from the code's output.

Conventions (credit/features/asof.py): an as-of date D is the instant D 00:00, a feature at D
sees only events strictly before D, and a window of w days is [D - w days, D). 2024 is a
leap year, so windows reaching back over February 2024 count 29 February.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from credit.features.history import History
from credit.features.panel import build_panel
from tests.features.histories import credit_event, dispute, firm, history, invoice, order, payment, returned

LABEL = "default_12m"

def panel(source: History, *as_of: date) -> pd.DataFrame:
    return build_panel(source, list(as_of)).frame


def value(frame: pd.DataFrame, firm_id: int, as_of: date, column: str) -> float:
    rows = frame[(frame["firm_id"] == firm_id) & (frame["as_of"] == pd.Timestamp(as_of))]
    assert len(rows) == 1, f"firm {firm_id} at {as_of}: {len(rows)} panel rows"
    return float(rows[column].iloc[0])


# ---------------------------------------------------------------------------------------------
# overdue_as_of
# ---------------------------------------------------------------------------------------------


def test_overdue_counts_each_invoice_as_its_state_was_known_at_the_as_of_date() -> None:
    # firm 1 owes firm 2; firms 3 and 4 trade once after the last payment, so the history
    # ends at 2024-03-01 and that as-of date is allowed.
    source = history(
        firms=[firm(1), firm(2), firm(3), firm(4)],
        orders=[order(90, buyer=3, supplier=4, created="2024-02-29 10:00", amount=100)],
        invoices=[
            invoice(11, 1, 2, issued="2023-12-11", due="2024-01-10 18:00", amount=1000),  # part paid before
            invoice(12, 1, 2, issued="2023-12-21", due="2024-01-20", amount=2000),        # paid in full later
            invoice(13, 1, 2, issued="2024-01-16", due="2024-02-15", amount=5000),        # not yet due at 02-01
            invoice(14, 1, 2, issued="2023-12-16", due="2024-01-15 09:00", amount=3000),  # paid on the due date
            invoice(15, 1, 2, issued="2024-01-02", due="2024-02-01", amount=700),         # due at the as-of instant
        ],
        payments=[
            payment(1, 11, paid="2024-01-20", amount=400),
            payment(2, 12, paid="2024-02-05", amount=2000),
            payment(3, 14, paid="2024-01-15 09:00", amount=3000),
        ],
    )
    feb, mar = date(2024, 2, 1), date(2024, 3, 1)
    frame = panel(source, feb, mar)

    # at 2024-02-01 00:00:
    #   invoice 11: 1000 due 2024-01-10 18:00, 400 paid 2024-01-20 -> 600 overdue;
    #               2024-01-10 18:00 -> 2024-02-01 00:00 is 21.25 days -> 21 whole days past due
    #   invoice 12: 2000 due 2024-01-20, nothing paid before 02-01 (the 2000 comes 02-05)
    #               -> 2000 overdue, 12 days (11 left in January + 1)
    #   invoice 13: due 2024-02-15, not yet due -> not overdue
    #   invoice 14: 3000 due 2024-01-15 09:00, 3000 paid at that instant -> not overdue
    #   invoice 15: due exactly 2024-02-01 00:00, not before the as-of instant -> not overdue
    #   -> 2 invoices, 600 + 2000 = 2600 overdue, largest days past due 21
    assert value(frame, 1, feb, "debtor_overdue_invoices") == 2
    assert value(frame, 1, feb, "debtor_overdue_value") == 2600
    assert value(frame, 1, feb, "debtor_days_past_due") == 21
    assert value(frame, 2, feb, "creditor_overdue_value") == 2600  # the same invoices, owed to firm 2
    assert value(frame, 2, feb, "debtor_overdue_value") == 0       # firm 2 owes nothing
    assert value(frame, 2, feb, "debtor_days_past_due") == 0
    assert value(frame, 1, feb, "creditor_overdue_value") == 0     # nobody owes firm 1

    # at 2024-03-01 00:00:
    #   invoice 11: still 600 unpaid; 2024-01-10 18:00 -> 2024-03-01 00:00 is
    #               21.25 (to 02-01) + 29 (February 2024) = 50.25 days -> 50
    #   invoice 12: paid in full 2024-02-05 -> no longer overdue
    #   invoice 13: 5000 due 2024-02-15 -> 15 days (14 left in February + 1)
    #   invoice 15: 700 due 2024-02-01 -> 29 days
    #   -> 3 invoices, 600 + 5000 + 700 = 6300 overdue, largest 50 days
    assert value(frame, 1, mar, "debtor_overdue_invoices") == 3
    assert value(frame, 1, mar, "debtor_overdue_value") == 6300
    assert value(frame, 1, mar, "debtor_days_past_due") == 50
    assert value(frame, 2, mar, "creditor_overdue_value") == 6300


# ---------------------------------------------------------------------------------------------
# Payment behaviour: on-time rate, partial payments, days-beyond-terms trend
# ---------------------------------------------------------------------------------------------


def test_on_time_rate_counts_invoices_paid_in_full_by_their_due_time_among_those_due_in_the_window() -> None:
    source = history(
        firms=[firm(1), firm(2)],
        invoices=[
            invoice(21, 1, 2, issued="2023-12-16", due="2024-01-15 10:00", amount=1000),  # A
            invoice(22, 1, 2, issued="2024-01-11", due="2024-02-10 10:00", amount=1000),  # B
            invoice(23, 1, 2, issued="2024-01-31", due="2024-03-01 10:00", amount=1000),  # C
            invoice(24, 1, 2, issued="2024-02-09", due="2024-03-10 10:00", amount=1000),  # D
            invoice(25, 1, 2, issued="2023-10-02", due="2023-11-01 10:00", amount=1000),  # E
            invoice(26, 1, 2, issued="2024-03-16", due="2024-04-15 10:00", amount=1000),  # F
            invoice(27, 1, 2, issued="2023-02-01", due="2023-03-01 10:00", amount=1000),  # G
        ],
        payments=[
            payment(1, 21, paid="2024-01-10", amount=1000),        # A: early -> on time
            payment(2, 22, paid="2024-02-10 10:00", amount=1000),  # B: at the due instant -> on time
            payment(3, 23, paid="2024-03-05", amount=1000),        # C: 4 days late
            payment(4, 24, paid="2024-03-01", amount=500),         # D: half by the due time ...
            payment(5, 24, paid="2024-03-20", amount=500),         # ... the rest late -> not on time
            payment(6, 25, paid="2023-10-30", amount=1000),        # E: on time
            payment(7, 26, paid="2024-04-20", amount=1000),        # F: falls due after the as-of date
            payment(8, 27, paid="2023-03-15", amount=1000),        # G: late
        ],
    )
    as_of = date(2024, 4, 1)
    frame = panel(source, as_of)

    # 90 days before 2024-04-01 is 2024-01-02 (31 March + 29 February + 30 of January's days):
    #   due in [2024-01-02, 2024-04-01): A, B, C, D; on time: A, B -> 2 / 4
    assert value(frame, 1, as_of, "debtor_on_time_rate_90d") == pytest.approx(0.5)
    # 365 days before 2024-04-01 is 2023-04-02 (the year holds 29 February 2024):
    #   due in [2023-04-02, 2024-04-01): A, B, C, D, E; on time: A, B, E -> 3 / 5
    assert value(frame, 1, as_of, "debtor_on_time_rate_365d") == pytest.approx(0.6)
    # all history: also G (due 2023-03-01, late); F is not due yet -> 3 / 6
    assert value(frame, 1, as_of, "debtor_on_time_rate_all") == pytest.approx(0.5)
    # the same invoices seen from the creditor: 2 / 4
    assert value(frame, 2, as_of, "creditor_on_time_rate_90d") == pytest.approx(0.5)


def test_partial_payment_rate_is_the_share_of_payments_in_the_window_that_left_a_balance() -> None:
    source = history(
        firms=[firm(1), firm(2)],
        invoices=[
            invoice(31, 1, 2, issued="2024-01-01", due="2024-01-31", amount=1000),
            invoice(32, 1, 2, issued="2024-02-01", due="2024-03-02", amount=500),
            invoice(33, 1, 2, issued="2023-05-01", due="2023-05-31", amount=800),
            invoice(34, 1, 2, issued="2024-06-01", due="2024-07-01", amount=1000),
        ],
        payments=[
            payment(301, 31, paid="2024-01-20", amount=300),  # balance 700 -> partial
            payment(302, 31, paid="2024-02-10", amount=300),  # balance 400 -> partial
            payment(303, 31, paid="2024-03-01", amount=400),  # balance 0 -> not partial
            payment(304, 32, paid="2024-03-01", amount=500),  # paid in one go -> not partial
            payment(305, 33, paid="2023-06-15", amount=200),  # partial, but before the window
            payment(306, 33, paid="2023-07-15", amount=600),  # settles invoice 33 -> not partial
            payment(307, 34, paid="2024-06-20", amount=100),  # balance 900 -> partial
            payment(308, 34, paid="2024-07-10", amount=900),  # after the as-of date -> not seen
        ],
    )
    as_of = date(2024, 7, 1)
    frame = panel(source, as_of)

    # window [2023-07-02, 2024-07-01) (365 days back over 29 February 2024):
    #   payments 301 P, 302 P, 303, 304, 306, 307 P -> 3 partial of 6 = 0.5
    #   (305 is before the window, 308 after the as-of date)
    assert value(frame, 1, as_of, "debtor_partial_payment_rate_365d") == pytest.approx(0.5)


def test_days_beyond_terms_trend_compares_invoices_settled_in_the_last_90_days_with_the_90_before() -> None:
    def paid_once(invoice_id: int, due: str, issued: str, paid: str) -> tuple[dict, dict]:
        return (invoice(invoice_id, 1, 2, issued=issued, due=due, amount=1000),
                payment(invoice_id, invoice_id, paid=paid, amount=1000))

    once = [
        paid_once(41, issued="2024-04-01", due="2024-05-01", paid="2024-05-21 12:00"),  # 20.5 days -> 20
        paid_once(42, issued="2024-04-10", due="2024-05-10", paid="2024-05-08"),        # early -> 0
        paid_once(44, issued="2024-01-02", due="2024-02-01", paid="2024-02-03"),        # 2
        paid_once(45, issued="2024-01-31", due="2024-03-01", paid="2024-03-05"),        # 4
        paid_once(46, issued="2023-11-01", due="2023-12-01", paid="2023-12-31"),        # 30, settled too early
        paid_once(47, issued="2024-02-19", due="2024-03-20", paid="2024-04-11"),        # 22 (11 + 11)
        paid_once(48, issued="2024-05-02", due="2024-06-01", paid="2024-07-15"),        # settled after as-of
    ]
    source = history(
        firms=[firm(1), firm(2)],
        invoices=[i for i, _ in once] + [invoice(43, 1, 2, issued="2024-05-02", due="2024-06-01", amount=1000)],
        payments=[p for _, p in once] + [
            payment(431, 43, paid="2024-06-05", amount=400),  # partial: not a settlement
            payment(432, 43, paid="2024-06-11", amount=600),  # settles invoice 43, 10 days beyond terms
        ],
    )
    as_of = date(2024, 7, 1)
    frame = panel(source, as_of)

    # windows by settlement time: last 90 days [2024-04-02, 2024-07-01),
    # the 90 before [2024-01-03, 2024-04-02) (180 days before 2024-07-01 is 2024-01-03)
    #   recent: 41 -> 20, 42 -> 0, 43 -> 10, 47 -> 22 (due in March, settled 04-11)
    #           mean (20 + 0 + 10 + 22) / 4 = 13
    #   earlier: 44 -> 2, 45 -> 4; mean 3
    #   46 settled 2023-12-31, before both windows; 48 not settled at the as-of date
    #   trend 13 - 3 = 10 (paying later)
    assert value(frame, 1, as_of, "debtor_dbt_trend_90d") == pytest.approx(10)


# ---------------------------------------------------------------------------------------------
# Returns, disputes and cancellations
# ---------------------------------------------------------------------------------------------


def test_return_dispute_and_cancellation_rates_count_events_by_their_own_time_in_the_window() -> None:
    source = history(
        firms=[firm(1), firm(2), firm(3)],
        orders=[
            order(51, buyer=1, supplier=2, created="2024-01-10", amount=10_000),
            order(52, buyer=1, supplier=2, created="2024-02-10", amount=5_000),
            order(53, buyer=3, supplier=2, created="2024-03-10", amount=5_000, cancelled="2024-03-11"),
            order(54, buyer=1, supplier=2, created="2024-06-20", amount=20_000, cancelled="2024-07-05"),
            order(55, buyer=1, supplier=2, created="2023-05-01", amount=8_000),  # before the window
        ],
        returns=[
            returned(501, order_id=51, at="2024-01-25", amount=2_000),
            returned(502, order_id=55, at="2023-06-01", amount=1_000),  # before the window
            returned(503, order_id=52, at="2024-07-10", amount=1_000),  # after the as-of date
        ],
        disputes=[
            dispute(601, order_id=52, opened="2024-02-20", amount=5_000),
            dispute(602, order_id=55, opened="2023-06-10", amount=8_000),  # before the window
            dispute(603, order_id=51, opened="2024-07-02", amount=1_000),  # after the as-of date
        ],
    )
    as_of = date(2024, 7, 1)
    frame = panel(source, as_of)

    # window [2023-07-02, 2024-07-01); firm 2 sold orders 51, 52, 53, 54 in it
    # (order 54 is cancelled only on 2024-07-05, so at the as-of date it is a live order)
    #   return value 2000 (return 501) / sales 10000 + 5000 + 5000 + 20000 = 40000 -> 0.05
    assert value(frame, 2, as_of, "supplier_return_rate_365d") == pytest.approx(0.05)
    #   cancellations in the window: order 53 only -> 1 / 4 orders
    assert value(frame, 2, as_of, "supplier_cancellation_rate_365d") == pytest.approx(0.25)
    #   disputes 1 (601) / 4 orders
    assert value(frame, 2, as_of, "supplier_dispute_rate_365d") == pytest.approx(0.25)
    # firm 1 bought orders 51, 52, 54 in the window and opened dispute 601 -> 1 / 3
    assert value(frame, 1, as_of, "buyer_dispute_rate_365d") == pytest.approx(1 / 3)
    # firm 3 bought order 53 and disputed nothing -> 0 / 1
    assert value(frame, 3, as_of, "buyer_dispute_rate_365d") == 0


# ---------------------------------------------------------------------------------------------
# Counterparty concentration
# ---------------------------------------------------------------------------------------------


def test_counterparty_concentration_weights_partners_by_order_value_in_the_last_365_days() -> None:
    source = history(
        firms=[firm(1), firm(2), firm(3), firm(4), firm(5)],
        orders=[
            order(61, buyer=1, supplier=2, created="2024-01-10", amount=2_000),
            order(62, buyer=1, supplier=2, created="2024-05-10", amount=4_000),
            order(63, buyer=1, supplier=3, created="2024-03-01", amount=3_000),
            order(64, buyer=1, supplier=4, created="2023-07-02 00:00", amount=1_000),  # first instant of window
            order(65, buyer=1, supplier=5, created="2023-07-01 23:00", amount=9_000),  # just before the window
            order(66, buyer=1, supplier=5, created="2024-07-01 00:00", amount=9_000),  # at the as-of instant
        ],
    )
    as_of = date(2024, 7, 1)
    frame = panel(source, as_of)

    # window [2023-07-02, 2024-07-01): firm 1 bought 2000 + 4000 = 6000 from firm 2,
    # 3000 from firm 3 and 1000 from firm 4 (orders 65 and 66 fall outside) -> total 10000,
    # shares 0.6, 0.3, 0.1
    assert value(frame, 1, as_of, "buyer_partners_top_share_365d") == pytest.approx(0.6)
    #   HHI 0.6^2 + 0.3^2 + 0.1^2 = 0.36 + 0.09 + 0.01 = 0.46
    assert value(frame, 1, as_of, "buyer_partners_hhi_365d") == pytest.approx(0.46)
    assert value(frame, 1, as_of, "buyer_suppliers_365d") == 3
    # last 90 days [2024-04-02, 2024-07-01): only order 62, from firm 2
    assert value(frame, 1, as_of, "buyer_suppliers_90d") == 1
    # firm 2 sold only to firm 1 -> one partner with the whole share
    assert value(frame, 2, as_of, "supplier_partners_top_share_365d") == pytest.approx(1.0)
    assert value(frame, 2, as_of, "supplier_partners_hhi_365d") == pytest.approx(1.0)
    # firm 5 sold nothing inside the window -> no shares at all
    assert math.isnan(value(frame, 5, as_of, "supplier_partners_top_share_365d"))
    assert math.isnan(value(frame, 5, as_of, "supplier_partners_hhi_365d"))


# ---------------------------------------------------------------------------------------------
# monthly_activity
# ---------------------------------------------------------------------------------------------


def test_monthly_gmv_trends_use_complete_calendar_months_before_the_as_of_month() -> None:
    monthly_purchases = {  # firm 1's orders from firm 2, by month; months not listed have none
        "2023-04-10": 1000, "2023-05-10": 1000, "2023-06-10": 2000,
        "2023-09-10": 3000, "2023-11-10": 3000,
        "2024-01-10": 2000, "2024-03-10": 4000,
        "2024-04-10": 3000, "2024-05-10": 3000,
        "2024-06-05": 1000, "2024-06-25": 2000,   # two orders: June's GMV is 3000
        "2024-07-14": 50_000,                     # July is still running at 2024-07-15: not counted
        "2024-07-20": 70_000,                     # after the as-of date
    }
    source = history(
        firms=[firm(1, registered="2023-01-15"), firm(2)],
        orders=[order(100 + n, buyer=1, supplier=2, created=day, amount=amount)
                for n, (day, amount) in enumerate(monthly_purchases.items())],
    )
    as_of = date(2024, 7, 15)
    frame = panel(source, as_of)

    # complete months at 2024-07-15 end with June 2024. Last 12: Jul 2023 .. Jun 2024 =
    #   Jul 0, Aug 0, Sep 3000, Oct 0, Nov 3000, Dec 0, Jan 2000, Feb 0, Mar 4000, Apr 3000, May 3000, Jun 3000
    # active months: Sep, Nov, Jan, Mar, Apr, May, Jun -> 7
    assert value(frame, 1, as_of, "buyer_active_months_12m") == 7
    # growth: last 3 (Apr-Jun 2024) 9000 over the 3 before (Jan-Mar 2024) 2000 + 0 + 4000 = 6000 -> 1.5 - 1
    assert value(frame, 1, as_of, "buyer_gmv_growth_3m") == pytest.approx(0.5)
    # year on year: 9000 over Apr-Jun 2023 1000 + 1000 + 2000 = 4000 -> 2.25 - 1
    assert value(frame, 1, as_of, "buyer_gmv_yoy_3m") == pytest.approx(1.25)
    # volatility: the 12 months sum to 21000, mean 1750; squared deviations:
    #   5 empty months (1750^2 = 3,062,500 each) 15,312,500; 5 months of 3000 (1250^2 = 1,562,500)
    #   7,812,500; 2000 (250^2) 62,500; 4000 (2250^2) 5,062,500 -> 28,250,000
    #   sample std sqrt(28,250,000 / 11) = 1602.55..., over the mean 1750 -> 0.91574...
    assert value(frame, 1, as_of, "buyer_gmv_volatility_12m") == pytest.approx(math.sqrt(28_250_000 / 11) / 1750)


def test_monthly_gmv_of_a_young_firm_uses_only_months_from_its_registration_month_on() -> None:
    source = history(
        firms=[firm(1, registered="2024-04-10"), firm(2), firm(3, registered="2024-05-03")],
        orders=[
            order(1, buyer=1, supplier=2, created="2024-04-20", amount=2000),
            order(2, buyer=1, supplier=2, created="2024-06-05", amount=4000),
            order(3, buyer=3, supplier=2, created="2024-05-20", amount=1000),
            order(4, buyer=3, supplier=2, created="2024-06-20", amount=1000),
            order(5, buyer=2, supplier=3, created="2024-07-14", amount=1000),  # keeps the history open to 07-15
        ],
    )
    as_of = date(2024, 7, 15)
    frame = panel(source, as_of)

    # firm 1 registered in April 2024: its months are Apr 2000, May 0, Jun 4000 (the nine
    # months before April are not its months, so they are not empty months of its own)
    #   active: Apr, Jun -> 2
    #   mean 2000; squared deviations 0 + 2000^2 + 2000^2 = 8,000,000; / (3 - 1) = 4,000,000;
    #   std 2000 -> volatility 2000 / 2000 = 1.0
    assert value(frame, 1, as_of, "buyer_active_months_12m") == 2
    assert value(frame, 1, as_of, "buyer_gmv_volatility_12m") == pytest.approx(1.0)
    # no 3 months before Apr-Jun and no year-ago months of its own -> no growth, no yoy
    assert math.isnan(value(frame, 1, as_of, "buyer_gmv_growth_3m"))
    assert math.isnan(value(frame, 1, as_of, "buyer_gmv_yoy_3m"))
    # firm 3 registered in May 2024: only May and June are complete -> fewer than 3 months, no volatility
    assert value(frame, 3, as_of, "buyer_active_months_12m") == 2
    assert math.isnan(value(frame, 3, as_of, "buyer_gmv_volatility_12m"))


# ---------------------------------------------------------------------------------------------
# Tenure and recency
# ---------------------------------------------------------------------------------------------


def test_tenure_is_days_from_registration_to_the_as_of_date() -> None:
    source = history(
        firms=[firm(1, registered="2024-01-01"), firm(2, registered="2023-03-01")],
        orders=[order(1, buyer=1, supplier=2, created="2024-01-10", amount=100),
                order(2, buyer=1, supplier=2, created="2024-03-05", amount=100)],
    )
    feb, mar = date(2024, 2, 1), date(2024, 3, 1)
    frame = panel(source, feb, mar)

    # firm 1: 2024-01-01 -> 02-01 is 31 days; -> 03-01 another 29 (leap February) = 60
    assert value(frame, 1, feb, "tenure_days") == 31
    assert value(frame, 1, mar, "tenure_days") == 60
    # firm 2: 2023-03-01 -> 2024-03-01 is a year holding 29 February 2024 = 366 days; a month earlier 366 - 29 = 337
    assert value(frame, 2, mar, "tenure_days") == 366
    assert value(frame, 2, feb, "tenure_days") == 337


def test_days_since_last_order_sees_only_orders_before_the_as_of_date() -> None:
    source = history(
        firms=[firm(1), firm(2), firm(3)],
        orders=[
            order(1, buyer=1, supplier=2, created="2024-01-05", amount=100),
            order(2, buyer=1, supplier=2, created="2024-02-20", amount=100),
            order(3, buyer=1, supplier=2, created="2024-03-05", amount=100),
            order(4, buyer=3, supplier=2, created="2024-04-10", amount=100),  # keeps the history open past 04-01
        ],
    )
    mar, apr = date(2024, 3, 1), date(2024, 4, 1)
    frame = panel(source, mar, apr)

    # at 2024-03-01 the latest order is 2024-02-20 (03-05 is still to come): 9 days to 02-29 + 1 = 10
    assert value(frame, 1, mar, "buyer_days_since_order_all") == 10
    # at 2024-04-01 the latest is 2024-03-05: 26 days to 03-31 + 1 = 27
    assert value(frame, 1, apr, "buyer_days_since_order_all") == 27
    # firm 2 never bought anything -> no recency
    assert math.isnan(value(frame, 2, apr, "buyer_days_since_order_all"))


# ---------------------------------------------------------------------------------------------
# Network risk
# ---------------------------------------------------------------------------------------------


def test_partners_overdue_share_weights_suppliers_30_or_more_days_past_due_by_trade() -> None:
    # firm 1 buys from firms 2, 3 and 4; those three owe firm 9
    source = history(
        firms=[firm(1), firm(2), firm(3), firm(4), firm(9)],
        orders=[
            order(1, buyer=1, supplier=2, created="2024-03-05", amount=6000),
            order(2, buyer=1, supplier=3, created="2024-03-06", amount=3000),
            order(3, buyer=1, supplier=4, created="2024-03-07", amount=1000),
            order(4, buyer=9, supplier=2, created="2024-07-05", amount=100),  # keeps the history open past 07-01
        ],
        invoices=[
            invoice(71, 2, 9, issued="2024-05-03", due="2024-06-02", amount=500),  # unpaid
            invoice(72, 2, 9, issued="2024-03-02", due="2024-04-01", amount=500),  # 75 days late, paid 06-15
            invoice(73, 3, 9, issued="2024-05-02", due="2024-06-01", amount=500),  # unpaid
            invoice(74, 4, 9, issued="2024-04-17", due="2024-05-17", amount=500),  # part paid
        ],
        payments=[payment(1, 72, paid="2024-06-15", amount=500),
                  payment(2, 74, paid="2024-06-01", amount=200)],
    )
    as_of = date(2024, 7, 1)
    frame = panel(source, as_of)

    # at 2024-07-01:
    #   firm 2: invoice 72 paid before the as-of date; invoice 71 due 06-02 -> 29 days -> not 30+
    #   firm 3: invoice 73 due 06-01 -> 30 days (June has 30) -> overdue partner
    #   firm 4: invoice 74 due 05-17, 300 still unpaid -> 15 (to 06-01) + 30 = 45 days -> overdue partner
    assert value(frame, 2, as_of, "debtor_days_past_due") == 29
    assert value(frame, 3, as_of, "debtor_days_past_due") == 30
    assert value(frame, 4, as_of, "debtor_days_past_due") == 45
    # firm 1's trade: 6000 + 3000 + 1000 = 10000; overdue partners 3 (0.3) and 4 (0.1) -> 0.4
    assert value(frame, 1, as_of, "buyer_partners_overdue_share_365d") == pytest.approx(0.4)


def test_partners_defaulted_counts_buyers_with_a_credit_event_before_the_as_of_date() -> None:
    source = history(
        firms=[firm(1), firm(2), firm(6), firm(7), firm(8)],
        orders=[
            order(1, buyer=1, supplier=2, created="2024-02-01", amount=6000),
            order(2, buyer=6, supplier=2, created="2024-02-02", amount=2000),
            order(3, buyer=7, supplier=2, created="2024-02-03", amount=2000),
            order(4, buyer=8, supplier=2, created="2023-06-01", amount=5000),  # before the window
        ],
        credit_events=[
            credit_event(1, 6, occurred="2024-05-01"),        # before the as-of date
            credit_event(2, 7, occurred="2024-07-01 00:00"),  # at the as-of instant: not before it
            credit_event(3, 8, occurred="2024-01-01"),        # defaulted, but no trade in the window
        ],
    )
    as_of = date(2024, 7, 1)
    frame = panel(source, as_of)

    # firm 2 sold 6000 + 2000 + 2000 = 10000 in [2023-07-02, 2024-07-01); defaulted before
    # 2024-07-01 among those buyers: firm 6 only -> share 2000 / 10000 = 0.2, one partner
    assert value(frame, 2, as_of, "supplier_partners_defaulted_share_365d") == pytest.approx(0.2)
    assert value(frame, 2, as_of, "supplier_partners_defaulted_365d") == 1
    # firm 1 bought only from firm 2, which never defaulted
    assert value(frame, 1, as_of, "buyer_partners_defaulted_share_365d") == 0
    assert value(frame, 1, as_of, "buyer_partners_defaulted_365d") == 0


# ---------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------


def test_default_labels_and_panel_membership_over_a_12_month_horizon() -> None:
    source = history(
        firms=[firm(1), firm(2), firm(3), firm(4, registered="2023-10-01"), firm(5), firm(6),
               firm(7, registered="2024-01-01 00:00")],
        orders=[order(1, buyer=1, supplier=2, created="2023-02-01", amount=100),
                order(2, buyer=1, supplier=4, created="2024-08-31 10:00", amount=100)],  # history ends 2024-09-01
        credit_events=[
            credit_event(1, 2, occurred="2024-03-15"),
            credit_event(2, 3, occurred="2023-05-01"),
            credit_event(3, 5, occurred="2024-07-01 00:00"),
            credit_event(4, 6, occurred="2024-01-01 00:00"),
        ],
    )
    jul, sep, jan = date(2023, 7, 1), date(2023, 9, 1), date(2024, 1, 1)
    frame = panel(source, jul, sep, jan)

    # history end: midnight after the last event (2024-08-31 10:00) = 2024-09-01
    # horizons: 2023-07-01 -> [2023-07-01, 2024-07-01), fully observed
    #           2023-09-01 -> [2023-09-01, 2024-09-01), ends exactly at the history end: observed
    #           2024-01-01 -> [2024-01-01, 2025-01-01), ends after the history: unknown unless a default is seen
    # firm 1: never defaults                          -> 0, 0, null
    # firm 2: default 2024-03-15, inside every horizon -> 1, 1, 1
    # firm 3: default 2023-05-01, before every as-of date -> in no panel
    # firm 4: registered 2023-10-01                    -> only at 2024-01-01, no event, unobserved -> null
    # firm 5: default 2024-07-01 00:00: the first horizon ends at that instant (excluded) -> 0;
    #         inside the other two                     -> 0, 1, 1
    # firm 6: default 2024-01-01 00:00, at the last as-of instant, which is not before it:
    #         still scored there, and inside every horizon -> 1, 1, 1
    # firm 7: registered 2024-01-01 00:00, not before any as-of date -> in no panel
    expected = {
        (1, jul): 0.0, (1, sep): 0.0, (1, jan): None,
        (2, jul): 1.0, (2, sep): 1.0, (2, jan): 1.0,
        (4, jan): None,
        (5, jul): 0.0, (5, sep): 1.0, (5, jan): 1.0,
        (6, jul): 1.0, (6, sep): 1.0, (6, jan): 1.0,
    }
    got = {(int(row.firm_id), row.as_of.date()): (None if pd.isna(row[LABEL]) else float(row[LABEL]))
           for _, row in frame.iterrows()}
    assert got == expected


# ---------------------------------------------------------------------------------------------
# fulfilment speed and payment recency (issue 4: what the latent credit state leaves behind)
# ---------------------------------------------------------------------------------------------


def shipped_order(order_id: int, buyer: int, supplier: int, created: str, confirmed: str | None,
                  shipped: str) -> dict:
    return {**order(order_id, buyer, supplier, created, 1000), "confirmed_at": confirmed, "shipped_at": shipped}


def test_hours_to_ship_runs_from_confirmation_to_shipment_of_orders_shipped_before_the_as_of_date() -> None:
    source = history(
        firms=[firm(1), firm(2)],
        orders=[
            shipped_order(1, 1, 2, "2024-02-10 08:00", "2024-02-10 20:00", "2024-02-12 20:00"),  # 48 h
            shipped_order(2, 1, 2, "2024-02-20 08:00", "2024-02-21 08:00", "2024-02-22 14:30"),  # 30.5 h -> 30
            shipped_order(3, 1, 2, "2023-12-01 00:00", "2023-12-01 06:00", "2023-12-02 00:00"),  # 18 h, 2023
            shipped_order(4, 1, 2, "2024-02-28 00:00", "2024-02-28 01:00", "2024-03-01 00:00"),  # at the as-of instant
            shipped_order(5, 1, 2, "2024-02-25 00:00", None, "2024-02-26 00:00"),  # never confirmed: no duration
            order(6, 1, 2, "2024-03-02", 1000),  # so that the history reaches past the as-of date
        ],
    )
    as_of = date(2024, 3, 1)
    frame = panel(source, as_of)

    # 30 days before 2024-03-01 is 2024-01-31: shipped in the window and timed: orders 1 and 2
    #   (order 4 ships at the as-of instant, not before it) -> (48 + 30) / 2 = 39
    assert value(frame, 2, as_of, "supplier_hours_to_ship_mean_30d") == 39
    # all history adds order 3 -> (48 + 30 + 18) / 3 = 32
    assert value(frame, 2, as_of, "supplier_hours_to_ship_mean_all") == 32
    # the buyer's own column is about its role as supplier: it shipped nothing
    assert math.isnan(value(frame, 1, as_of, "supplier_hours_to_ship_mean_30d"))


def test_late_payment_rate_and_days_since_payment_see_the_payments_before_the_as_of_date() -> None:
    source = history(
        firms=[firm(1), firm(2)],
        invoices=[
            invoice(41, 1, 2, issued="2024-01-01", due="2024-02-01", amount=1000),
            invoice(42, 1, 2, issued="2024-01-15", due="2024-02-15", amount=1000),
            invoice(43, 1, 2, issued="2024-01-20", due="2024-02-20", amount=1000),
            invoice(44, 1, 2, issued="2023-11-01", due="2023-12-01", amount=1000),
        ],
        payments=[
            payment(401, 41, paid="2024-02-05", amount=1000),        # 4 days late
            payment(402, 42, paid="2024-02-15 00:00", amount=1000),  # on the due day: not late
            payment(403, 43, paid="2024-02-23 12:00", amount=1000),  # 3 days late
            payment(404, 44, paid="2023-12-11", amount=1000),        # 10 days late, before the 30-day window
            payment(405, 42, paid="2024-03-01", amount=1),           # at the as-of instant: not seen
        ],
    )
    as_of = date(2024, 3, 1)
    frame = panel(source, as_of)

    # window [2024-01-31, 2024-03-01): payments 401 (late), 402 (on time), 403 (late) -> 2 / 3
    assert value(frame, 1, as_of, "debtor_late_payment_rate_30d") == pytest.approx(2 / 3)
    # all history adds 404 (late) -> 3 / 4
    assert value(frame, 1, as_of, "debtor_late_payment_rate_all") == pytest.approx(0.75)
    # mean days after the due date in the window: (4 + 0 + 3) / 3
    assert value(frame, 1, as_of, "debtor_days_late_mean_30d") == pytest.approx(7 / 3)
    # latest payment seen: 2024-02-23 12:00, 6.5 days before the as-of instant
    assert value(frame, 1, as_of, "debtor_days_since_payment_all") == pytest.approx(6.5)
    # seen from the creditor: the same payments, owed to firm 2
    assert value(frame, 2, as_of, "creditor_days_since_payment_all") == pytest.approx(6.5)
