"""The console's words for numbers: each rule with the exact text a finance reader sees.

Expected strings are written out by hand from the stored value: 9381204 minor units are
EUR 93,812.04; 0.9732 is 97.3%; 142.385 hours are 5.93 days, shown to one place.
"""

from __future__ import annotations

import pytest

from api.console.display import _WINDOW, feature_label, feature_value, rule_detail, warning_details

# ---------------------------------------------------------------------------------------------
# policy rules' details
# ---------------------------------------------------------------------------------------------


def test_the_limit_terms_say_what_each_rule_allows_and_which_one_sets_the_limit() -> None:
    stored = "capacity 30680000; grade_cap 50000000; maximum 100000000; expected_loss 126020808"
    assert rule_detail(stored, "limit_by_capacity") == (
        "limit each rule allows: capacity (months of purchases) EUR 306,800.00 (the lowest: it sets the limit); "
        "grade cap EUR 500,000.00; policy maximum EUR 1,000,000.00; expected-loss budget EUR 1,260,208.08")
    assert rule_detail("capacity 90000000; grade_cap 50000000; maximum 100000000; expected_loss 4000000",
                       "limit_by_expected_loss") == (
        "limit each rule allows: capacity (months of purchases) EUR 900,000.00; grade cap EUR 500,000.00; "
        "policy maximum EUR 1,000,000.00; expected-loss budget EUR 40,000.00 (the lowest: it sets the limit)")


def test_grade_lists_read_as_english() -> None:
    assert rule_detail("grade G in ['F', 'G']", "refer_grey_zone") == \
        "grade G is one of the grades the finance team reviews: F, G"
    assert rule_detail("grade H (PD 0.16418217327664983) in ['H']", "grade_too_risky") == \
        "grade H (PD 16.42%) is one of the grades the policy declines: H"


def test_knock_outs_read_as_english_with_whole_days() -> None:
    assert rule_detail("tenure 70.13026976574074 days < 180", "too_new") == \
        "70 days on the platform, fewer than the 180 required"
    assert rule_detail("45 days past due > 30", "overdue_now") == "45 days past due, more than the 30 allowed"


def test_amounts_are_money_and_the_reviewers_words_are_left_alone() -> None:
    assert rule_detail("10000000 -> 25000000: seasonal peak 2024 > 10", "finance_changed_limit") == \
        "EUR 100,000.00 to EUR 250,000.00: seasonal peak 2024 > 10"
    assert rule_detail("limit 50000 < minimum 100000", "limit_below_minimum") == \
        "limit EUR 500.00 below minimum EUR 1,000.00"
    assert rule_detail("requested 2000000 > limit 1500000", "limit_below_requested") == \
        "requested EUR 20,000.00 above limit EUR 15,000.00"


def test_any_other_rule_loses_its_python_lists_and_long_decimals() -> None:
    assert rule_detail("grade C in ['A', 'B']: kept", "some_new_rule") == "grade C in A, B: kept"
    assert rule_detail("return rate 0.0123456", "dilution_reserve") == "return rate 0.0123"
    assert rule_detail("firm not verified", "unverified") == "firm not verified"


# ---------------------------------------------------------------------------------------------
# early warnings' numbers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("details", "shown"), [
    ({"invoices": 2, "unpaid_minor": 9381204, "max_days_past_due": 46},
     "invoices 2; unpaid EUR 93,812.04; most days past due 46 days"),
    ({"limit_minor": 10000000, "posted_minor": 9000000, "pending_minor": 732000, "utilisation": 0.9732},
     "limit EUR 100,000.00; posted EUR 90,000.00; held EUR 7,320.00; used 97.3%"),
    ({"grade_before": "E", "grade_now": "H", "notches": 3, "pd_before": 0.031468, "pd_now": 0.164985},
     "grade before E; grade now H; fell by 3 grades; PD before 3.15%; PD now 16.50%"),
    ({"invoices": 4, "unpaid_minor": 456494, "blocked_from": "2026-12-07", "dbt_mean_90d_days": 35.27,
      "block_after_days": 30},
     "invoices 4; unpaid EUR 4,564.94; blocked at checkout from 2026-12-07; "
     "mean days beyond terms (last 90 days) 35.3 days; block after 30 days past due"),
    ({"partner_id": 12, "share": 0.4512, "trade_minor": 123400, "event_at": "2026-10-01", "event_kind": "default",
      "partners": 5},
     "partner firm 12; partner's share of its trade 45.1%; trade with the partner (365 days) EUR 1,234.00; "
     "partner's credit event on 2026-10-01; event default; partners 5"),
    ({"dbt_rise_days": 7.5, "dbt_mean_90d_days": 12.0},
     "days beyond terms rose by 7.5 days; mean days beyond terms (last 90 days) 12 days"),
    ({"exposure_minor": 150, "ratio_of_something": 0.123456}, "exposure EUR 1.50; ratio of something 0.12"),
])
def test_warning_numbers_are_money_percentages_and_days(details: dict, shown: str) -> None:
    assert warning_details(details) == shown


# ---------------------------------------------------------------------------------------------
# features
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value", "label", "shown"), [
    ("tenure_days", 2320.4, "time on the platform", "2,320 days"),
    ("supplier_hours_to_ship_mean_365d", 142.385, "mean time to ship, as supplier (last 365 days)", "5.9 days"),
    ("debtor_days_late_mean_90d", 3.5, "mean days paid after the due date, invoices it owes (last 90 days)",
     "3.5 days"),
    ("debtor_days_past_due", 1.0, "days past due now, invoices it owes", "1 day"),
    ("buyer_order_mean_365d", 123456.7, "mean order value, as buyer (last 365 days)", "EUR 1,234.57"),
    ("deposit_minor", 500000, "trading deposit", "EUR 5,000.00"),
    ("debtor_on_time_rate_all", 0.8126, "share paid on time, invoices it owes (all history)", "81.3%"),
    ("buyer_gmv_growth_3m", -0.123, "trading volume change against the 3 months before, as buyer (last 3 months)",
     "-12.3%"),
    ("debtor_dbt_trend_90d", 3.25,
     "change in days beyond terms against the 90 days before, invoices it owes (last 90 days)", "+3.2 days"),
    ("buyer_active_months_12m", 7.0, "months with an order, as buyer (last 12 months)", "7 months"),
    ("supplier_partners_hhi_365d", 0.351, "partner concentration (HHI), as supplier (last 365 days)", "35.1%"),
    ("creditor_invoices_due_90d", 12.0, "invoices that fell due, invoices owed to it (last 90 days)", "12"),
    ("verified", 1.0, "verified", "yes"),
    ("industry", "food_processing", "industry", "food processing"),
    ("supplier_lead_time_mean_90d", None, "mean delivery time, as supplier (last 90 days)", "no data"),
])
def test_every_feature_says_what_it_is_and_its_value_carries_the_unit(name: str, value: object, label: str,
                                                                      shown: str) -> None:
    assert (feature_label(name), feature_value(name, value)) == (label, shown)


def test_every_panel_feature_has_words_of_its_own() -> None:
    # a feature without words would read as its column name with spaces ("debtor days late mean")
    from tests.models.test_reasons import panel_feature_columns

    plain = {"industry", "region", "size_band", "roles", "verified"}  # their names are their words
    fallbacks = [name for name in panel_feature_columns() if name not in plain
                 and feature_label(name).split(" (")[0] in (name, _WINDOW.sub("", name).replace("_", " "))]
    assert fallbacks == []
